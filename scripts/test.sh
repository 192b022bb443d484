#!/usr/bin/env bash
# README command 2: install what the build needs, fetch the default model, build, and run the
# whole test suite; then rebuild with AddressSanitizer + UBSan and rerun the suites that parse
# untrusted input (GGUF, tokenizer) and drive the runtime; finally fuzz the GGUF parser and the
# tokenizers for 20 s each (libFuzzer). The ARM64 cross build's kernel tests run under qemu.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh
bash scripts/fetch-model.sh >/dev/null || echo "test.sh: WARNING: default model not fetched; its tests will say SKIPPED"
# The server tests drive tern serve with the real openai client from PyPI (a test client).
cache="${TERN_CACHE:-$HOME/.cache/tern}"
if ! PYTHONPATH="$cache/py" python3 -c "import openai" 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check --target "$cache/py" openai >/dev/null 2>&1 ||
        echo "test.sh: WARNING: the openai client could not be installed; the server tests will say SKIPPED"
fi
# The web chat page is checked in headless Chromium (Debian's package); not fatal when absent.
if ! command -v chromium >/dev/null; then
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    { DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null 2>&1 ||
      { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null 2>&1; }; } ||
        echo "test.sh: WARNING: chromium could not be installed; the web page test will say SKIPPED"
fi
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs"
(cd build && ctest --output-on-failure -j "$jobs")
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTERN_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$jobs" --target tern-tests tern
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j "$jobs" -R 'gguf|types|lut|kv|stream|tokenizer|graph|sampling|api|cli|chat|batch|models')
bash scripts/test-arm64.sh
bash scripts/fuzz.sh 20
echo "test.sh: all tests passed"
