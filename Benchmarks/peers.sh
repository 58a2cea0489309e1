#!/usr/bin/env bash
# Runs the Python "peers" benchmarks (faiss, hnswlib, usearch, numpy) for VecDB.
# Usage: bash Benchmarks/peers.sh ARGS...   (ARGS are passed to peers.py unchanged)
# Creates/reuses a virtualenv at ${VECDB_DATA:-$HOME/.cache/vecdb}/peers-venv.
# With `--kind recommend` (the first two arguments) it runs peers_recommend.py instead (NumPy,
# implicit, TensorFlow Recommenders, Keras) from a separate virtualenv,
# ${VECDB_DATA:-$HOME/.cache/vecdb}/peers-rec-venv, so the ANN peers' one stays light; `--kind
# sequence` runs peers_sequence.py (Keras SASRec and GRU4Rec) from the same virtualenv.
# With `--kind embed` it runs peers_embed.py (all-MiniLM-L6-v2 in NumPy, tokenized by HF
# `tokenizers`) from ${VECDB_DATA:-$HOME/.cache/vecdb}/peers-embed-venv. With `--kind filter`
# it runs peers_filter.py (FAISS with an id selector, and milvus-lite) from peers-filter-venv;
# `--kind milvus` runs milvus_roundtrip.py (the scale-out check against milvus-lite) from the same one.
# All installation chatter goes to stderr; stdout belongs to peers.py. Exit status 3: the packages
# could not be installed (tests that need a peer skip on it, saying so).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA_DIR="${VECDB_DATA:-$HOME/.cache/vecdb}"
VENV="$DATA_DIR/peers-venv"
PACKAGES=(faiss-cpu hnswlib usearch numpy threadpoolctl)
CHECK='import faiss, hnswlib, usearch.index, numpy, threadpoolctl'
SCRIPT="$SCRIPT_DIR/peers.py"
if [ "${1:-}" = "--kind" ] && { [ "${2:-}" = "recommend" ] || [ "${2:-}" = "sequence" ]; }; then
    KIND="$2"
    shift 2
    VENV="$DATA_DIR/peers-rec-venv"
    PACKAGES=(numpy scipy implicit==0.7.3 "tensorflow-cpu==2.21.*" tf-keras tensorflow-recommenders==0.7.7)
    CHECK='import numpy, scipy, implicit, tensorflow, tf_keras, tensorflow_recommenders'
    SCRIPT="$SCRIPT_DIR/peers_recommend.py"
    [ "$KIND" = "sequence" ] && SCRIPT="$SCRIPT_DIR/peers_sequence.py"
    # TFRS 0.7.7 needs Keras 2 (tf-keras); implicit's OpenBLAS warns unless single-threaded.
    export TF_USE_LEGACY_KERAS=1 OPENBLAS_NUM_THREADS=1 TF_CPP_MIN_LOG_LEVEL=2
elif [ "${1:-}" = "--kind" ] && { [ "${2:-}" = "filter" ] || [ "${2:-}" = "milvus" ]; }; then
    KIND="$2"
    shift 2
    VENV="$DATA_DIR/peers-filter-venv"
    PACKAGES=(numpy faiss-cpu threadpoolctl pymilvus milvus-lite)
    CHECK='import numpy, faiss, pymilvus, milvus_lite'
    SCRIPT="$SCRIPT_DIR/peers_filter.py"
    [ "$KIND" = "milvus" ] && SCRIPT="$SCRIPT_DIR/milvus_roundtrip.py"
elif [ "${1:-}" = "--kind" ] && [ "${2:-}" = "embed" ]; then
    shift 2
    VENV="$DATA_DIR/peers-embed-venv"
    PACKAGES=(numpy tokenizers threadpoolctl)
    CHECK='import numpy, tokenizers, threadpoolctl'
    SCRIPT="$SCRIPT_DIR/peers_embed.py"
fi

log() { echo "[peers.sh] $*" >&2; }

mkdir -p "$DATA_DIR"

if [ ! -x "$VENV/bin/python" ]; then
    if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        log "python3 venv module missing; installing python3-venv"
        if command -v apt-get >/dev/null 2>&1; then
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; } >&2 || {
                log "cannot install python3-venv"
                exit 3
            }
        else
            log "apt-get not available; cannot install python3-venv"
            exit 3
        fi
    fi
    log "creating virtualenv at $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV" >&2 || { log "cannot create $VENV"; exit 3; }
fi

if ! "$VENV/bin/python" -c "$CHECK" >/dev/null 2>&1; then
    log "installing ${PACKAGES[*]} into $VENV (the first run downloads 100 MB to 700 MB)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2 || true
    if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PACKAGES[@]}" >&2; then
        log "cannot install ${PACKAGES[*]} (no network to PyPI?)"
        exit 3
    fi
    log "installation done"
fi

exec "$VENV/bin/python" "$SCRIPT" "$@"
