#!/usr/bin/env bash
# Runs the test suite under a sanitizer (docs/reliability.md, "Sanitizers").
#
#   scripts/sanitize.sh address   # the whole suite under AddressSanitizer
#   scripts/sanitize.sh thread    # the concurrency tests under ThreadSanitizer
#
# Release builds with testing enabled (the suite's numeric tests are slow in debug), each in its
# own scratch directory (.build-asan, .build-tsan) so the ordinary .build is left alone. Exits
# non-zero when a test fails or the sanitizer reports anything (halt_on_error).
set -euo pipefail
cd "$(dirname "$0")/.."

kind="${1:-}"
case "$kind" in
    address) scratch=.build-asan ;;
    thread) scratch=.build-tsan ;;
    *) echo "usage: scripts/sanitize.sh address|thread" >&2; exit 2 ;;
esac

# The tests that run threads against each other: concurrent writers and readers, snapshots
# during writes, compaction and index builds in the background, group commit, threaded
# graph builds and IVF searches, reader processes beside a writer.
concurrency='snapshotsAreStableWhileWritersGoOn|concurrentWritersAllLand|LockTests|FaultInjectionTests|RecoveryTests|WriteAheadLogTests|HNSWGraphTests|IVFIndexTests|HNSWCollectionTests|SearchAPI|QueryEngineTests|ConcurrentReaderTests'

# Under TSan, `Lock` (Sources/VecDBKernels/Lock.swift) is a pthread mutex TSan can see.
flags=(-Xswiftc -enable-testing)
[ "$kind" = thread ] && flags+=(-Xswiftc -DVECDB_TSAN)
swift build -c release --sanitize="$kind" "${flags[@]}" --build-tests --scratch-path "$scratch"
export SWIFT_BACKTRACE=enable=no
if [ "$kind" = address ]; then
    # Leak checking is off: the Swift runtime's own caches read as leaks to LeakSanitizer.
    export ASAN_OPTIONS=halt_on_error=1:detect_leaks=0
    swift test -c release --sanitize=address "${flags[@]}" --skip-build --scratch-path "$scratch"
else
    # `swift test` lists the tests first, which crashes under TSan; run the test bundle directly,
    # one test at a time (parallel tests reuse each other's freed memory, which TSan cannot
    # order through the uninstrumented Swift runtime).
    export TSAN_OPTIONS=halt_on_error=1
    "$scratch/release/VecDBPackageTests.xctest" --testing-library swift-testing --no-parallel --filter "$concurrency"
fi
