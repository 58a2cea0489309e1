import VecDBKernels

/// Where a live row is: a segment's row, or a memtable row (segment id 0).
package struct RowRef: Sendable, Hashable {
    package var segment: UInt64
    package var row: UInt32
    static let memtable: UInt64 = 0
}

/// A segment together with the rows deleted from it, as of some moment.
package struct SegmentView: Sendable {
    package var segment: Segment
    package var dead: Bitset
    package var liveCount: Int { segment.count - dead.count }
}

/// One stored record, as the storage layer returns it.
package struct StoredRecord: Sendable, Equatable {
    package var key: Key
    package var vector: [Float]
    package var payload: [UInt8]?
}

/// Searches one segment through an index: given the segment, the prepared query, the row
/// filter (deleted rows and the payload filter; nil when every row passes), the id base for the
/// segment's rows and the shared heap. Returns false to fall back to the exact scan.
package typealias IndexedSegmentSearch = (SegmentView, UnsafePointer<Float>, ((Int) -> Bool)?, UInt64, inout TopKHeap) -> Bool

/// One search hit.
package struct StoredHit: Sendable {
    package var key: Key
    package var distance: Float
    package var payload: [UInt8]?
}

/// An immutable view of a collection at one moment: its segments with their deleted rows, and
/// a prefix of the memtable. Readers search and read a snapshot without any lock while the
/// writer goes on; the segment mappings and memtable buffer it holds stay alive with it.
package final class Snapshot: Sendable {
    package let segments: [SegmentView]
    package let memtable: MemtableBuffer
    package let memCount: Int
    package let memDead: Bitset
    package let dimension: Int
    package let metric: Metric
    package let liveCount: Int

    init(segments: [SegmentView], memtable: MemtableBuffer, memCount: Int, memDead: Bitset, metric: Metric) {
        self.segments = segments
        self.memtable = memtable
        self.memCount = memCount
        self.memDead = memDead
        dimension = memtable.dimension
        self.metric = metric
        liveCount = segments.reduce(0) { $0 + $1.liveCount } + memCount - memDead.count
    }

    /// Whether `ref` names a live row of this snapshot.
    func isLive(_ ref: RowRef) -> Bool {
        if ref.segment == RowRef.memtable { return Int(ref.row) < memCount && !memDead.contains(Int(ref.row)) }
        guard let v = segments.first(where: { $0.segment.id == ref.segment }) else { return false }
        return Int(ref.row) < v.segment.count && !v.dead.contains(Int(ref.row))
    }

    func record(_ ref: RowRef) throws(VecDBError) -> StoredRecord? {
        if ref.segment == RowRef.memtable {
            let r = Int(ref.row)
            return StoredRecord(key: memtable.key(at: r), vector: memtable.vector(at: r), payload: memtable.payload(at: r))
        }
        guard let v = segments.first(where: { $0.segment.id == ref.segment }) else { return nil }
        let r = Int(ref.row)
        let s = v.segment
        return StoredRecord(key: s.key(at: r), vector: s.vector(at: r), payload: s.hasPayload(r) ? try s.payloads.payload(row: r) : nil)
    }

    /// The record stored under `key`, using `hint` (the writer's current location of the key)
    /// when it is visible in this snapshot and a scan of the keys otherwise.
    package func get(_ key: Key, hint: RowRef?) throws(VecDBError) -> StoredRecord? {
        if let hint, isLive(hint) { return try record(hint) }
        for r in (0..<memCount).reversed() where !memDead.contains(r) && memtable.key(at: r) == key {
            return try record(RowRef(segment: RowRef.memtable, row: UInt32(r)))
        }
        for v in segments.reversed() {
            for r in 0..<v.segment.count where !v.dead.contains(r) && v.segment.key(at: r) == key {
                return try record(RowRef(segment: v.segment.id, row: UInt32(r)))
            }
        }
        return nil
    }

    /// Calls `body` with the key and payload of every live row, segments first, then memtable.
    package func forEachLive(_ body: (Key, [UInt8]?) throws(VecDBError) -> Void) throws(VecDBError) {
        for v in segments {
            let s = v.segment
            for r in 0..<s.count where !v.dead.contains(r) {
                try body(s.key(at: r), s.hasPayload(r) ? try s.payloads.payload(row: r) : nil)
            }
        }
        for r in 0..<memCount where !memDead.contains(r) {
            try body(memtable.key(at: r), memtable.payload(at: r))
        }
    }

    /// Every live record (for tests and exports).
    package func allRecords() throws(VecDBError) -> [StoredRecord] {
        var out: [StoredRecord] = []
        out.reserveCapacity(liveCount)
        for v in segments {
            for r in 0..<v.segment.count where !v.dead.contains(r) {
                if let rec = try record(RowRef(segment: v.segment.id, row: UInt32(r))) { out.append(rec) }
            }
        }
        for r in 0..<memCount where !memDead.contains(r) {
            if let rec = try record(RowRef(segment: RowRef.memtable, row: UInt32(r))) { out.append(rec) }
        }
        return out
    }

    /// Exact k-nearest-neighbour search over the live rows that `accept` admits.
    ///
    /// One ``TopKHeap`` is shared by every segment and the memtable, through
    /// `ExactSearch.scan`. Rows of collections with the cosine metric are unit length, so the
    /// scan uses `rowsNormalized`.
    ///
    /// - Parameters:
    ///   - query: `dimension` finite floats (the caller validates).
    ///   - accept: a payload predicate (the row's payload, or `nil` when it has none).
    /// - Throws: ``VecDBError/Code/corruptFile`` when a payload block needed by `accept` is damaged.
    /// - Complexity: O(rows × dimension).
    /// - Parameters:
    ///   - indexed: when given, offered each segment first; it returns true when it searched the
    ///     segment itself (through an index) and false to let the exact scan run.
    package func search(_ query: [Float], k: Int, accept: (([UInt8]?) -> Bool)?,
                        indexed: IndexedSegmentSearch? = nil) throws(VecDBError) -> [StoredHit] {
        let es = ExactSearch(metric: metric, dimension: dimension, rowsNormalized: metric == .cosine)
        let q = es.prepare(query)
        var heap = TopKHeap(k: k)
        var failure: VecDBError?
        q.withUnsafeBufferPointer { qp in
            guard let qb = qp.baseAddress else { return }
            for (ordinal, v) in segments.enumerated() {
                let s = v.segment
                let dead = v.dead
                let allow: ((Int) -> Bool)?
                if let accept {
                    allow = { r in
                        if dead.contains(r) { return false }
                        do {
                            return accept(s.hasPayload(r) ? try s.payloads.payload(row: r) : nil)
                        } catch {
                            if failure == nil { failure = error as? VecDBError }
                            return false
                        }
                    }
                } else if dead.count > 0 {
                    allow = { r in !dead.contains(r) }
                } else {
                    allow = nil
                }
                if let indexed, indexed(v, qb, allow, UInt64(ordinal) << 32, &heap) { continue }
                s.scan(prepared: qb, using: es, idBase: UInt64(ordinal) << 32, allow: allow, heap: &heap)
            }
            let mem = memtable, memDead = memDead
            let allow: ((Int) -> Bool)?
            if let accept {
                allow = { r in !memDead.contains(r) && accept(mem.payload(at: r)) }
            } else if memDead.count > 0 {
                allow = { r in !memDead.contains(r) }
            } else {
                allow = nil
            }
            es.scan(prepared: qb, rows: mem.rows(count: memCount), idBase: UInt64(segments.count) << 32, allow: allow, heap: &heap)
        }
        if let failure { throw failure }
        var hits: [StoredHit] = []
        for n in heap.sorted() {
            let ordinal = Int(n.id >> 32), row = Int(n.id & 0xFFFF_FFFF)
            if ordinal == segments.count {
                hits.append(StoredHit(key: memtable.key(at: row), distance: n.distance, payload: memtable.payload(at: row)))
            } else {
                let s = segments[ordinal].segment
                hits.append(StoredHit(key: s.key(at: row), distance: n.distance, payload: s.hasPayload(row) ? try s.payloads.payload(row: row) : nil))
            }
        }
        return hits
    }
}
