#!/usr/bin/env bash
# Cross-compiles tern and its tests for aarch64 (cmake/aarch64-linux-gnu.cmake) and runs the type
# kernel, LUT and KV-kernel suites under qemu-aarch64: scalar reference vs NEON vs NEON+SDOT for every format,
# plus a one-thread end-to-end generation. (Debian 12's qemu-user hangs starting threads on our CI
# machine, so everything here runs single-threaded.)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v aarch64-linux-gnu-g++ >/dev/null || ! command -v qemu-aarch64 >/dev/null ||
    [[ ! -f /usr/lib/aarch64-linux-gnu/pkgconfig/libpcre2-8.pc ]]; then
    echo "test-arm64.sh: SKIPPED: aarch64-linux-gnu-g++, qemu-aarch64 or libpcre2-dev:arm64 missing (scripts/setup-deps.sh installs them)"
    exit 0
fi
jobs=$(nproc)
cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-arm64 -j "$jobs" --target tern-tests tern example-simple example-chat
run() { qemu-aarch64 -L /usr/aarch64-linux-gnu "$@"; }
if [[ "${1:-}" == "--all" ]]; then
    # `make test-arm`: every doctest suite under emulation, one thread, with its time (too slow for
    # CI: the model-level suites take long under qemu). Child processes (the cli suite) run
    # through qemu too, via TERN_BIN.
    export TERN_BIN="qemu-aarch64 -L /usr/aarch64-linux-gnu $PWD/build-arm64/bin/tern"
    # Can this qemu start a thread? (Debian 12's qemu 7.2 hangs doing so on some hosts, e.g. a
    # Firecracker VM on Linux 6.18; then every suite that starts one times out.)
    limit=3600
    printf '#include <thread>\nint main() { std::thread t([] {}); t.join(); }\n' >build-arm64/thread-probe.cpp
    aarch64-linux-gnu-g++ -O1 -pthread build-arm64/thread-probe.cpp -o build-arm64/thread-probe
    if ! timeout 20 qemu-aarch64 -L /usr/aarch64-linux-gnu build-arm64/thread-probe; then
        limit=300
        echo "test-arm64.sh: WARNING: qemu-aarch64 cannot start a thread on this host; suites that start threads"
        echo "test-arm64.sh: (graph, stream, golden, api, cli, batch, models) will time out after $limit s"
    fi
    failed=()
    for s in gguf types kernels lut kv stream graph tokenizer golden sampling api cli chat batch models; do
        t0=$(date +%s)
        r=passed
        if ! TERN_TEST_ONE_THREAD=1 timeout "$limit" qemu-aarch64 -L /usr/aarch64-linux-gnu build-arm64/bin/tern-tests --test-suite="$s" \
            --force-colors=0 >"build-arm64/test-$s.log" 2>&1; then
            r=FAILED
            failed+=("$s")
        fi
        echo "test-arm64.sh: $s $r in $(($(date +%s) - t0)) s ($(grep -E 'test cases' "build-arm64/test-$s.log" | tail -1))"
    done
    [[ ${#failed[@]} -eq 0 ]] || { echo "test-arm64.sh: failed: ${failed[*]} (logs in build-arm64/test-*.log)"; exit 1; }
    echo "test-arm64.sh: every suite passed under qemu-aarch64"
    exit 0
fi
TERN_TEST_ONE_THREAD=1 run build-arm64/bin/tern-tests --test-suite=types,kernels,lut --force-colors=0
# KV cache: the kernels and the attention op over every format (the policy cases on a model are
# slow under emulation and not ISA-specific).
TERN_TEST_ONE_THREAD=1 run build-arm64/bin/tern-tests --test-suite=kv --force-colors=0 \
    --test-case='KIVI quantizers*,compressed-cache attention kernels*,attention over every cache format*'
# File parsing, sampling and chat templates: not ISA-specific, but they must hold on aarch64 too.
TERN_TEST_ONE_THREAD=1 run build-arm64/bin/tern-tests --test-suite=gguf,sampling,chat --force-colors=0
model="${TERN_SHARED:-../shared}/models/stories260K.gguf"
if [[ -f $model ]]; then
    # The C examples (libtern.so, C99) on aarch64.
    ex=$(TERN_THREADS=1 run build-arm64/bin/example-simple "$model" "Once upon a time" 16)
    echo "example-simple (aarch64): $ex"
    grep -q "Once upon a time, there was a little girl named Lily" <<<"$ex" || { echo "test-arm64.sh: example-simple differs"; exit 1; }
    out=$(run build-arm64/bin/tern run -m "$model" -p "Once upon a time" -n 16 --temp 0 -t 1 2>&1)
    echo "$out" | tail -1
    grep -q "Once upon a time, there was a little girl named Lily" <<<"$out" || { echo "test-arm64.sh: generation differs"; exit 1; }
else
    echo "test-arm64.sh: SKIPPED the aarch64 generation check: $model is absent"
fi
echo "test-arm64.sh: aarch64 tests passed (qemu)"
