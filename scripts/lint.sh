#!/usr/bin/env bash
# Style checks that run in CI: swift-format (the repository's .swift-format, strict), and commit
# subjects under 72 characters for commits made since the checks were introduced.
set -euo pipefail
cd "$(dirname "$0")/.."
swift format lint --strict --parallel -r Package.swift Sources Tests
echo "lint: swift format clean"
BASE=8630f88
if git rev-parse -q --verify "$BASE^{commit}" >/dev/null 2>&1; then
    long=$(git log --format='%s' "$BASE..HEAD" | awk 'length($0) >= 72')
    if [ -n "$long" ]; then
        echo "lint: commit subjects over 72 characters:" >&2
        echo "$long" >&2
        exit 1
    fi
    echo "lint: commit subjects under 72 characters"
else
    echo "lint: history before $BASE not available; commit subjects not checked"
fi
