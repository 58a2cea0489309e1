#!/usr/bin/env bash
# Quick-start command 1: install what is missing, fetch the data (cached in ${VECDB_DATA:-~/.cache/vecdb}),
# build, and run the demo on real data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh dataset-fashion-mnist
swift build -c release --product vecdb
exec .build/release/vecdb demo "$@"
