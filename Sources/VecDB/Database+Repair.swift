import VecDBEngine
import VecDBKernels
import VecDBStorage

/// What ``Database/repair(_:)`` did to one collection.
public struct RepairReport: Sendable {
    /// The collection.
    public var collection: String
    /// What was done, one sentence each. Empty when there was nothing to repair.
    public var actions: [String] = []
    /// Where a damaged write-ahead log was kept before it was cut or replaced.
    public var keptCopy: String?
    /// Bytes of write-ahead log dropped: the damaged frame and any after it.
    public var droppedLogBytes = 0
    /// Whether the collection opens and works afterwards. False when its damage is beyond
    /// repair (a damaged manifest or damaged segment vectors): `error` says what, and the way
    /// out is a backup, or dropping the collection.
    public var repaired: Bool
    /// What still keeps it from opening, when `repaired` is false.
    public var error: VecDBError?
}

extension Database {
    /// Repairs the collection `name` as far as that is possible without losing a committed
    /// write that is still readable.
    ///
    /// - A damaged write-ahead log (a frame that fails its checksum, or a damaged header) is
    ///   copied whole to `damaged-wal-….log`, then cut before the damaged frame (or replaced by
    ///   an empty log), and the collection is opened.
    /// - Damaged or mismatched index files are rebuilt from the segments.
    /// - Damaged segment vectors or a damaged manifest cannot be repaired: the report says so.
    ///
    /// - Throws: `VecDBError.Code.readOnly`, `VecDBError.Code.notFound`, and the file system's
    ///   errors.
    public func repair(_ name: String) throws(VecDBError) -> RepairReport {
        if options.readOnly { throw VecDBError(.readOnly, "database at '\(path)' was opened read-only", path: path) }
        let (healthy, damage) = try state.withLock { (s: inout State) throws(VecDBError) -> (Collection?, VecDBError?) in
            try checkOpen(s)
            guard s.collections[name] != nil || s.damaged[name] != nil else {
                throw VecDBError(.notFound, "collection '\(name)' does not exist in database '\(path)'")
            }
            return (s.collections[name], s.damaged[name])
        }
        var report = RepairReport(collection: name, repaired: true)
        if let healthy {
            try repairIndexes(healthy, into: &report)
            return report
        }
        let dir = path + "/" + name
        if let damage, damage.path?.hasSuffix(".log") == true || damage.message.contains("write-ahead log") {
            do throws(VecDBError) {
                let fixed = try CollectionStore.repairLog(fs: fs, directory: dir)
                report.actions += fixed.actions
                report.keptCopy = fixed.keptCopy
                report.droppedLogBytes = fixed.droppedBytes
            } catch {
                report.repaired = false
                report.error = error
                return report
            }
        }
        switch openCollection(name) {
        case .opened(let c):
            state.withLock {
                $0.collections[name] = c
                $0.damaged[name] = nil
            }
            report.actions.append("collection '\(name)' opens again (\(c.count) rows)")
            try repairIndexes(c, into: &report)
        case .damaged(let e):
            state.withLock { $0.damaged[name] = e }
            report.repaired = false
            report.error = e
            report.actions.append("cannot repair: \(e.message); restore the collection from a backup, or drop it")
        case .gone:
            throw VecDBError(.notFound, "collection '\(name)' does not exist in database '\(path)'")
        }
        return report
    }

    func repairIndexes(_ c: Collection, into report: inout RepairReport) throws(VecDBError) {
        for p in try c.checkPayloadIndexes() { report.actions.append("rebuilt payload index: \(p.message)") }
        guard c.index != nil else { return }
        let before = try c.indexes.rebuildDamaged(c.store.snapshot(), threads: 1)
        for p in before.problems { report.actions.append("rebuilt index: \(p.message)") }
        if before.missing > 0 { report.actions.append("built the index of \(before.missing) unindexed segments") }
        let after = c.checkIndex()
        if let problem = after.problems.first {
            report.repaired = false
            report.error = problem
        }
    }
}

/// What ``Collection/checkIndex()`` found.
public struct IndexCheck: Sendable {
    /// Segments whose index file is sound and was built for that segment.
    public var soundSegments: Int
    /// Segments without an index file yet: a writer builds them, searches scan them meanwhile.
    public var unindexedSegments: Int
    /// Damaged or mismatched index files, each error naming its file. Indexes are derived
    /// data: ``Database/repair(_:)`` (or any writer) rebuilds them from the segments.
    public var problems: [VecDBError]
}

extension Collection {
    /// Checks every index file against the segment it indexes: its body checksum, its row
    /// count, the index's parameters, and for HNSW every link's bounds and level.
    public func checkIndex() -> IndexCheck {
        let r = indexes.check(store.snapshot())
        return IndexCheck(soundSegments: r.sound, unindexedSegments: r.missing, problems: r.problems)
    }
}
