#!/usr/bin/env bash
# The test command: installs the test peers if missing, then runs the whole test suite.
# Extra arguments go to `swift test` (e.g. --filter Credentials).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
export TUNNEL_TEST_PYTHON="${TUNNEL_TEST_PYTHON:-$PWD/.venv/bin/python3}"
swift test "$@"
