#!/usr/bin/env bash
# Quick-start command 2: install what is missing, then run the whole test suite.
# Tests run in release mode with testability enabled: the numeric tests are slow in debug.
# Style (swift format) is checked first, and the DocC catalog is built last from the same build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/lint.sh                  # swift format lint --strict; commit subjects
swift test -c release -Xswiftc -enable-testing "$@"
bash scripts/docs.sh                  # the DocC catalog, warnings as errors
