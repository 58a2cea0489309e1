#!/usr/bin/env bash
# Regenerates Tests/VecDBTextTests/Resources/minilm-token-ids.json (reference WordPiece ids from
# Hugging Face `tokenizers`) with scripts/make-minilm-fixture.py. ARGS are passed to it unchanged.
# Uses the virtualenv of `Benchmarks/peers.sh --kind embed`,
# ${VECDB_DATA:-$HOME/.cache/vecdb}/peers-embed-venv, creating it if needed. Needs the model
# files in .../minilm and MovieLens-100K in .../ml-100k (fetched by VecDB's dataset commands).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA_DIR="${VECDB_DATA:-$HOME/.cache/vecdb}"
VENV="$DATA_DIR/peers-embed-venv"
PACKAGES=(numpy tokenizers threadpoolctl)  # the same set as peers.sh --kind embed

log() { echo "[make-minilm-fixture.sh] $*" >&2; }

mkdir -p "$DATA_DIR"
if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtualenv at $VENV"
    python3 -m venv "$VENV" >&2
fi
if ! "$VENV/bin/python" -c 'import numpy, tokenizers, threadpoolctl' >/dev/null 2>&1; then
    log "installing ${PACKAGES[*]} into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PACKAGES[@]}" >&2
fi

exec "$VENV/bin/python" "$SCRIPT_DIR/make-minilm-fixture.py" "$@"
