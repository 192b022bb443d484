#!/usr/bin/env bash
# README command 1: install what the build needs, build tern, fetch the default model
# (SmolLM2-135M-Instruct, Q4_1) into ~/.cache/tern/models/, and chat with it once.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTERN_BUILD_TESTS=OFF >/dev/null
cmake --build build -j "$(nproc)"
bash scripts/fetch-model.sh >/dev/null
prompt="${*:-What is the capital of France? Answer in two sentences.}"
echo
echo "\$ build/bin/tern run --chat --temp 0 -n 128 -p \"$prompt\""
build/bin/tern run --chat --temp 0 -n 128 -p "$prompt"
