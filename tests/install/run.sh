#!/usr/bin/env bash
# ctest entry `install`: installs the build into a scratch prefix, then builds the C examples as an
# app developer would — C99 with -pedantic, through pkg-config, against the shared library and
# against the static one — runs them on a real model, and checks that libtern.so exports only
# tern_* symbols and carries its SONAME. Usage: run.sh BUILD_DIR
set -euo pipefail
build="$1"
src="$(cd "$(dirname "$0")/../.." && pwd)"
cc="${CC:-cc}"
prefix="$(mktemp -d)"
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir="$(dirname "$(find "$prefix" -name tern.pc | head -1)")/.."
export PKG_CONFIG_PATH="$libdir/pkgconfig"
test -f "$prefix/include/tern.h" && test -f "$libdir/libtern.a" && test -L "$libdir/libtern.so"
echo "installed: $(cd "$prefix" && find . -type f -o -type l | sort | tr '\n' ' ')"

# The shared library: only the C API is exported, and the SONAME carries the ABI version.
bad=$(nm -D --defined-only "$libdir/libtern.so" | awk '$2 != "A" && $3 !~ /^tern_/ {print $3}')
if [[ -n $bad ]]; then echo "libtern.so exports non-API symbols: $bad"; exit 1; fi
n_api=$(nm -D --defined-only "$libdir/libtern.so" | awk '$3 ~ /^tern_/' | wc -l)
abi=$(sed -n 's/^#define TERN_ABI_VERSION \([0-9]*\)/\1/p' "$prefix/include/tern.h")
# (grep reads a here-string, not a pipe: with pipefail, grep -q quitting early can make the
# writer fail with SIGPIPE and the check fail at random)
grep -q "SONAME.*libtern.so.$abi" <<<"$(readelf -d "$libdir/libtern.so")" || { echo "SONAME is not libtern.so.$abi"; exit 1; }
echo "libtern.so: $n_api tern_* symbols exported, nothing else; SONAME libtern.so.$abi"

flags="-std=c99 -Wall -Wextra -pedantic -Werror"
# shellcheck disable=SC2046
$cc $flags "$src/examples/simple.c" $(pkg-config --cflags --libs tern) -Wl,-rpath,"$libdir" -o "$prefix/simple"
# shellcheck disable=SC2046
$cc $flags "$src/examples/chat.c" $(pkg-config --cflags --libs tern) -Wl,-rpath,"$libdir" -o "$prefix/chat"
# shellcheck disable=SC2046
$cc $flags "$src/examples/simple.c" $(pkg-config --cflags tern) "$libdir/libtern.a" $(pkg-config --static --libs-only-other --libs-only-l tern | sed 's/-ltern//') -o "$prefix/simple-static"
grep -q "libtern.so.$abi => $libdir" <<<"$(ldd "$prefix/simple")" || { echo "simple does not use the installed libtern.so"; exit 1; }
if grep -q libtern <<<"$(ldd "$prefix/simple-static")"; then echo "simple-static links libtern.so"; exit 1; fi

model="${TERN_CACHE:-$HOME/.cache/tern}/models/SmolLM2-135M-Instruct.Q4_1.gguf"
if [[ ! -f $model ]]; then
    echo "SKIPPED running the examples: $model is absent"
    exit 0
fi
out=$("$prefix/simple" "$model" "The capital of France is" 12)
echo "simple: $out"
[[ $out == "The capital of France is"?* ]] || { echo "simple printed no continuation"; exit 1; }
[[ $("$prefix/simple-static" "$model" "The capital of France is" 12) == "$out" ]] || { echo "static and shared builds differ"; exit 1; }
answers=$(printf 'I have a dog named Max.\nWhat is the name of my dog?\n' | "$prefix/chat" "$model")
echo "chat: $answers"
[[ $(printf '%s\n' "$answers" | wc -l) -ge 2 ]] || { echo "chat gave fewer than two answers"; exit 1; }
grep -q Max <<<"$(printf '%s\n' "$answers" | tail -n +2)" || { echo "the second answer does not refer to the first turn"; exit 1; }
# What tern adds beyond weights and KV cache (goal: under 32 MiB).
# shellcheck disable=SC2046
$cc $flags "$src/tests/install/footprint.c" $(pkg-config --cflags --libs tern) -Wl,-rpath,"$libdir" -o "$prefix/footprint"
fp=$("$prefix/footprint" "$model" 2048)
echo "footprint: $fp"
python3 -c "import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if d['tern_overhead_mib'] < 32 else 1)" "$fp" ||
    { echo "tern's own memory exceeds 32 MiB"; exit 1; }
echo "install test passed"
