import VecDBIndex
import VecDBKernels
import VecDBStorage

extension SegmentIndexes {
    /// What `check` found in one collection's index files.
    package struct CheckReport: Sendable {
        /// Segments whose index file is present, sound and built for that very segment.
        package var sound = 0
        /// Segments with no index yet (the writer builds them; they are searched exactly).
        package var missing = 0
        /// Damaged or mismatched index files, each naming the file and what is wrong. Index
        /// files are derived data: the writer drops and rebuilds them.
        package var problems: [VecDBError] = []
    }

    /// Checks every index file of `snapshot`'s segments against the segment it indexes: body
    /// checksum, row count, the spec's parameters, and (HNSW) the graph's invariants: every
    /// link in bounds, on its level, within its level's limit, neither to itself nor repeated.
    package func check(_ snapshot: Snapshot) -> CheckReport {
        var report = CheckReport()
        guard fs.exists(specPath) else { return report }
        let spec: IndexSpec
        do throws(VecDBError) {
            spec = try IndexSpec(bytes: try fs.readAll(specPath), path: specPath)
        } catch {
            report.problems.append(error)
            return report
        }
        func mismatch(_ path: String, _ why: String) -> VecDBError { VecDBError(.corruptFile, "index '\(path)' \(why)", path: path) }
        var quantizer: IVFIndex?
        if case .ivf = spec.kind {
            do throws(VecDBError) {
                quantizer = try IVFIndex.open(quantizerPath, fs: fs, verifyBody: true)
            } catch {
                report.problems.append(error)
            }
        }
        for v in snapshot.segments {
            let id = v.segment.id
            do throws(VecDBError) {
                switch spec.kind {
                case .hnsw(let parameters):
                    let path = graphPath(id)
                    guard fs.exists(path) else {
                        report.missing += 1
                        continue
                    }
                    let g = try HNSWGraph.open(path, vectors: v.segment.storedRows(), metric: metric, fs: fs, verifyBody: true)
                    guard g.count == v.segment.count else {
                        throw mismatch(path, "indexes \(g.count) rows; its segment has \(v.segment.count)")
                    }
                    guard g.parameters == parameters else { throw mismatch(path, "was built with other parameters than the index spec") }
                    let violations = g.invariantViolations()
                    if let first = violations.first {
                        throw mismatch(path, "breaks \(violations.count) graph invariant(s), first: \(first)")
                    }
                case .ivf:
                    let path = listsPath(id)
                    guard fs.exists(path) else {
                        report.missing += 1
                        continue
                    }
                    let lists = try IVFIndex.open(path, fs: fs, verifyBody: true)
                    guard lists.count == v.segment.count else {
                        throw mismatch(path, "lists \(lists.count) rows; its segment has \(v.segment.count)")
                    }
                    if let quantizer, !lists.sharesTraining(with: quantizer) {
                        throw mismatch(path, "was assigned with other centroids than '\(quantizerPath)'")
                    }
                }
                report.sound += 1
            } catch {
                report.problems.append(error)
            }
        }
        return report
    }
}

extension SegmentIndexes {
    /// Checks the indexes of `snapshot` and rebuilds those that are damaged or missing, under
    /// the build lock (so no background build runs meanwhile). Returns what the check found
    /// before the rebuild.
    package func rebuildDamaged(_ snapshot: Snapshot, threads: Int) throws(VecDBError) -> CheckReport {
        try buildLock.withLock { (_: inout ()) throws(VecDBError) -> CheckReport in
            let report = check(snapshot)
            let doomed = Set(report.problems.compactMap { $0.path.flatMap { $0.hasSuffix(".idx") ? $0 : nil } })
            state.withLock { s in
                s.entries = s.entries.filter { id, _ in !doomed.contains(graphPath(id)) && !doomed.contains(listsPath(id)) }
                if doomed.contains(quantizerPath) { s.quantizer = nil }
            }
            for p in doomed where fs.exists(p) { try fs.unlink(p) }
            try refreshLocked(snapshot, threads: threads, progress: nil)
            return report
        }
    }
}
