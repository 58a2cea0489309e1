#!/usr/bin/env bash
# Builds the VecDB DocC catalog with warnings treated as errors.
# Needs the release build that `swift test -c release` (scripts/test.sh) leaves in .build.
# Symbol graphs are extracted from the built module, so nothing is compiled again.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=.build/release
if [ ! -f "$BUILD/Modules/VecDB.swiftmodule" ]; then
    swift build -c release -Xswiftc -enable-testing --target VecDB
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
mkdir -p "$OUT/symbols"
triple=$(swift -print-target-info | python3 -c 'import json,sys; print(json.load(sys.stdin)["target"]["triple"])')
swift symbolgraph-extract -module-name VecDB -target "$triple" -minimum-access-level public \
    -I "$BUILD/Modules" \
    -Xcc -fmodule-map-file="$BUILD/CVecDBKernels.build/module.modulemap" \
    -Xcc -fmodule-map-file="$BUILD/CVecDBStorage.build/module.modulemap" \
    -Xcc -fmodule-map-file=Sources/CLZ4/module.modulemap \
    -output-dir "$OUT/symbols"
docc convert Sources/VecDB/VecDB.docc --additional-symbol-graph-dir "$OUT/symbols" \
    --output-path "$OUT/VecDB.doccarchive" --warnings-as-errors \
    --fallback-display-name VecDB --fallback-bundle-identifier org.vecdb.VecDB
echo "docs: VecDB.docc built without warnings"
