#!/usr/bin/env bash
# Builds the libFuzzer targets (GGUF parser, tokenizers, chat-template interpreter, server request bodies) (clang, ASan + UBSan) and runs each for SECONDS (default 30).
# Needs: clang libclang-rt-14-dev. Usage: bash scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-30}"
out=build-fuzz
mkdir -p "$out/corpus-gguf" "$out/corpus-tok" "$out/corpus-jinja" "$out/corpus-request"
flags="-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -I. -Iinclude -Isrc"
common="ggml/gguf-read.cpp ggml/type-table.cpp $(echo ggml/quant-*.cpp) src/vocab.cpp src/vocab-spm.cpp src/vocab-bpe.cpp src/unicode.cpp"
pcre=$(pkg-config --cflags --libs libpcre2-8)
clang++ $flags tests/fuzz/fuzz-gguf.cpp $common $(echo models/*.cpp) \
    ggml/graph.cpp $pcre -o "$out/fuzz-gguf"
clang++ $flags tests/fuzz/fuzz-tokenize.cpp $common $pcre -o "$out/fuzz-tokenize"
clang++ $flags tests/fuzz/fuzz-jinja.cpp src/jinja-parse.cpp src/jinja-eval.cpp src/jinja-value.cpp -o "$out/fuzz-jinja"
clang++ $flags -Itools tests/fuzz/fuzz-request.cpp tools/server-request.cpp -o "$out/fuzz-request"
cp tests/data/chat-templates/*.jinja "$out/corpus-jinja/"
cp tests/fuzz/request-seeds/*.json "$out/corpus-request/"
# Seed the GGUF corpus with the small shared models' headers when present.
shared="${TERN_SHARED:-../shared}"
for m in "$shared"/models/stories260K.gguf "$shared"/models/bitnet-tiny-tq2_0.gguf; do
    [[ -f $m ]] && head -c 65536 "$m" > "$out/corpus-gguf/$(basename "$m").head"
done
"$out/fuzz-gguf" -max_total_time="$secs" -max_len=70000 -rss_limit_mb=2048 "$out/corpus-gguf" 2>&1 | tail -3
TERN_SHARED="$shared" "$out/fuzz-tokenize" -max_total_time="$secs" -max_len=512 "$out/corpus-tok" 2>&1 | tail -3
"$out/fuzz-jinja" -max_total_time="$secs" -max_len=4096 -rss_limit_mb=2048 "$out/corpus-jinja" 2>&1 | tail -3
"$out/fuzz-request" -max_total_time="$secs" -max_len=4096 -rss_limit_mb=2048 "$out/corpus-request" 2>&1 | tail -3
echo "fuzz.sh: no crashes in ${secs}s per target"
