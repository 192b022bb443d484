#!/usr/bin/env bash
# ctest entry `server`: runs test_server.py with the openai client that scripts/test.sh installs
# into ~/.cache/tern/py (TERN_CACHE overrides ~/.cache/tern). Usage: run.sh TERN_BIN
set -euo pipefail
cache="${TERN_CACHE:-$HOME/.cache/tern}"
export TERN_BIN="$1"
export PYTHONPATH="$cache/py${PYTHONPATH:+:$PYTHONPATH}"
exec python3 -W ignore::ResourceWarning "$(dirname "$0")/test_server.py"
