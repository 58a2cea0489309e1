#!/usr/bin/env bash
# Quick-start command 2: install what is missing, then run the whole test suite.
# Tests run in release mode with testability enabled: the numeric tests are slow in debug.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift test -c release -Xswiftc -enable-testing "$@"
