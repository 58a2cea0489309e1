#!/usr/bin/env bash
# Fuzzes VecDB's file readers and parsers with libFuzzer (docs/reliability.md, "Fuzzing").
#
#   scripts/fuzz.sh [TARGET…] [--runs N] [--no-build] [--make-corpus]
#
# Targets: wal segment manifest payload hnsw ivf filter jsonl csv shell npy fvecs idx (all
# when none is named). Builds the vecdb-fuzz product (declared only when VECDB_FUZZ=1) with
# `--sanitize=fuzzer` into .build-fuzz, so the ordinary .build is left alone. Each target runs
# N executions (default 1,000,000) starting from a scratch copy of Tests/Fuzz/corpus/TARGET
# (the committed seeds are never modified); a crashing input is written to
# .build-fuzz/fuzz-artifacts/TARGET/. Prints, per target, executions, executions per second,
# crashes and wall time, and exits 1 when any target crashed.
#
# --make-corpus rewrites Tests/Fuzz/corpus/ from the library's own writers and exits.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL=(wal segment manifest payload hnsw ivf filter jsonl csv shell npy fvecs idx)
RUNS=1000000
BUILD=1
MAKE_CORPUS=0
TARGETS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS="$2"; shift 2 ;;
        --runs=*) RUNS="${1#--runs=}"; shift ;;
        --no-build) BUILD=0; shift ;;
        --make-corpus) MAKE_CORPUS=1; shift ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
        *)
            if [[ " ${ALL[*]} " != *" $1 "* ]]; then echo "fuzz.sh: unknown target $1 (one of: ${ALL[*]})" >&2; exit 2; fi
            TARGETS+=("$1"); shift ;;
    esac
done
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL[@]}")

SCRATCH=.build-fuzz
BIN="$SCRATCH/release/vecdb-fuzz"
if [ "$BUILD" = 1 ]; then
    VECDB_FUZZ=1 nice -n 10 swift build -c release --product vecdb-fuzz --sanitize=fuzzer --scratch-path "$SCRATCH" >&2
fi
[ -x "$BIN" ] || { echo "fuzz.sh: $BIN is missing; run without --no-build" >&2; exit 2; }

# Swift's own crash backtracer would race libFuzzer's signal handler; libFuzzer reports instead.
export SWIFT_BACKTRACE=enable=no

if [ "$MAKE_CORPUS" = 1 ]; then
    rm -rf Tests/Fuzz/corpus
    VECDB_FUZZ_SEEDS="$PWD/Tests/Fuzz/corpus" "$BIN"
    exit 0
fi

# The longest input per target: a few times the largest seed.
max_len() {
    case "$1" in
        hnsw|ivf|segment) echo 8192 ;;
        wal|payload|manifest|jsonl) echo 4096 ;;
        *) echo 1024 ;;
    esac
}

printf '%-9s %12s %9s %8s %8s\n' target executions exec/s crashes wall_s
failed=0
for t in "${TARGETS[@]}"; do
    corpus=$(mktemp -d)
    artifacts="$SCRATCH/fuzz-artifacts/$t"
    mkdir -p "$artifacts"
    [ -d "Tests/Fuzz/corpus/$t" ] && cp -r "Tests/Fuzz/corpus/$t/." "$corpus/"
    log="$SCRATCH/fuzz-artifacts/$t.log"
    before=$(find "$artifacts" -type f | wc -l)
    start=$(date +%s%N)
    set +e
    VECDB_FUZZ_TARGET="$t" nice -n 10 "$BIN" -runs="$RUNS" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1
    rc=$?
    set -e
    wall=$((($(date +%s%N) - start) / 1000000000))
    rm -rf "$corpus"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    crashes=$(($(find "$artifacts" -type f | wc -l) - before))
    if [ "$rc" != 0 ] && [ "$crashes" = 0 ]; then crashes=1; fi
    printf '%-9s %12s %9s %8s %8s\n' "$t" "${execs:-?}" "${rate:-?}" "$crashes" "$wall"
    if [ "$crashes" != 0 ]; then
        failed=1
        echo "  $t: see $log and $artifacts/" >&2
    fi
done
exit "$failed"
