import VecDBKernels

// Compaction: every segment merged into one without deleted rows, off the write path.
extension CollectionStore {
    /// Seals the memtable, then merges all segments into one without their deleted rows.
    ///
    /// Readers are never blocked: they keep their snapshots. Writers are blocked only while the
    /// memtable is sealed and while the manifest is switched at the end. A crash at any point
    /// leaves the old or the new file set, both consistent.
    package func compact() throws(VecDBError) {
        try compactionGate.withLock { (_: inout Void) throws(VecDBError) in
            let (views, newID) = try state.withLock { (s: inout State) throws(VecDBError) -> ([SegmentView], UInt64) in
                try checkWritable(s)
                try seal(&s)
                let id = s.manifest.nextSegmentID
                return (s.segments, id)
            }
            guard views.count > 1 || views.contains(where: { $0.dead.count > 0 }) else { return }
            // Merge, without the lock.
            var sources: [(Int, Int)] = []
            var mapping: [[Int32]] = []
            for (i, v) in views.enumerated() {
                var m = [Int32](repeating: -1, count: v.segment.count)
                for r in 0..<v.segment.count where !v.dead.contains(r) {
                    m[r] = Int32(sources.count)
                    sources.append((i, r))
                }
                mapping.append(m)
            }
            let rows = views.map { $0.segment.rows() }
            let vecPath = directory + "/" + Segment.fileName(id: newID)
            let payPath = directory + "/" + Segment.payloadFileName(id: newID)
            do throws(VecDBError) {
                if !sources.isEmpty {
                    try SegmentWriter.write(
                        fs: fs, path: vecPath, dimension: dimension, elementType: elementType, metric: metric,
                        count: sources.count, vector: { rows[sources[$0].0][sources[$0].1] },
                        key: { views[sources[$0].0].segment.key(at: sources[$0].1) },
                        hasPayload: { views[sources[$0].0].segment.hasPayload(sources[$0].1) })
                    try Self.writePayloads(fs: fs, path: payPath, count: sources.count) { (i: Int) throws(VecDBError) -> [UInt8]? in
                        let seg = views[sources[i].0].segment
                        let r = sources[i].1
                        return seg.hasPayload(r) ? try seg.payloads.payload(row: r) : nil
                    }
                }
            } catch {
                try? fs.unlink(vecPath)
                try? fs.unlink(payPath)
                throw error
            }
            // Switch, under the lock.
            let oldFiles = try state.withLock { (s: inout State) throws(VecDBError) -> [String] in
                let newFiles = sources.isEmpty ? [] : [vecPath, payPath]
                do throws(VecDBError) { try checkWritable(s) } catch {
                    for f in newFiles { try? fs.unlink(f) }
                    throw error
                }
                let rest = Array(s.segments.dropFirst(views.count))
                var mergedDead = Bitset()
                for i in 0..<views.count {
                    for r in s.segments[i].dead.members where !views[i].dead.contains(Int(r)) {
                        let n = mapping[i][Int(r)]
                        if n >= 0 { mergedDead.insert(Int(n)) }
                    }
                }
                var m = s.manifest
                m.nextSegmentID = max(m.nextSegmentID, newID + 1)
                m.segments =
                    (sources.isEmpty ? [] : [Manifest.SegmentEntry(id: newID, rowCount: sources.count, deletedRows: mergedDead.members)])
                    + rest.map { Manifest.SegmentEntry(id: $0.segment.id, rowCount: $0.segment.count, deletedRows: $0.dead.members) }
                try switchManifest(m, &s, newFiles: newFiles)
                var merged: [SegmentView] = []
                if !sources.isEmpty {
                    do throws(VecDBError) {
                        let seg = try Segment(
                            fs: fs, directory: directory, id: newID, dimension: dimension, elementType: elementType, metric: metric,
                            expectedRows: sources.count)
                        seg.markChecked()
                        merged = [SegmentView(segment: seg, dead: mergedDead)]
                    } catch {
                        s.failure = VecDBError(
                            error.code, "compacted segment of '\(directory)' cannot be opened (\(error.message)); reopen the database",
                            path: error.path, errno: error.errno)
                        throw error
                    }
                }
                s.segments = merged + rest
                s.keyMap = nil
                publish(&s)
                return views.flatMap {
                    [directory + "/" + Segment.fileName(id: $0.segment.id), directory + "/" + Segment.payloadFileName(id: $0.segment.id)]
                }
            }
            for f in oldFiles { try? fs.unlink(f) }
            try? fs.syncDirectory(directory)
        }
    }
}
