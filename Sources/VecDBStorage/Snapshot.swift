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

/// One search hit.
package struct StoredHit: Sendable {
    package var key: Key
    package var distance: Float
    package var payload: [UInt8]?

    package init(key: Key, distance: Float, payload: [UInt8]?) {
        self.key = key
        self.distance = distance
        self.payload = payload
    }
}

/// An immutable view of a collection at one moment: its segments with their deleted rows, and
/// a prefix of the memtable. Readers search and read a snapshot without any lock while the
/// writer goes on; the segment mappings and memtable buffer it holds stay alive with it.
///
/// Storage knows nothing of indexes or query plans: the query engine (`VecDBEngine`) reads the
/// segments, memtable rows and tombstones a snapshot exposes and runs searches over them.
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

    /// Runs every segment's first-use check (``Segment/verifyOnFirstUse()``); a search calls it
    /// before it reads any vector.
    package func verifySegmentsOnFirstUse() throws(VecDBError) {
        for v in segments { try v.segment.verifyOnFirstUse() }
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
        try s.verifyOnFirstUse()
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
        try forEachRecord { out.append($0) }
        return out
    }

    /// Calls `body` with every live record in storage order, one at a time (an export of any
    /// size in bounded memory).
    package func forEachRecord(_ body: (StoredRecord) throws(VecDBError) -> Void) throws(VecDBError) {
        for v in segments {
            for r in 0..<v.segment.count where !v.dead.contains(r) {
                if let rec = try record(RowRef(segment: v.segment.id, row: UInt32(r))) { try body(rec) }
            }
        }
        for r in 0..<memCount where !memDead.contains(r) {
            if let rec = try record(RowRef(segment: RowRef.memtable, row: UInt32(r))) { try body(rec) }
        }
    }

    /// The memtable rows of this snapshot (live and deleted), as a matrix for the exact scan.
    package var memtableRows: RowMatrix { memtable.rows(count: memCount) }

    /// The stored hit for `row` of the segment at position `ordinal` in ``segments``, or of the
    /// memtable when `ordinal == segments.count`.
    ///
    /// - Throws: ``VecDBError/Code/corruptFile`` when the row's payload block is damaged (read
    ///   only when `payload`).
    package func hit(ordinal: Int, row: Int, distance: Float, payload: Bool = true) throws(VecDBError) -> StoredHit {
        if ordinal == segments.count {
            return StoredHit(key: memtable.key(at: row), distance: distance, payload: payload ? memtable.payload(at: row) : nil)
        }
        let s = segments[ordinal].segment
        return StoredHit(
            key: s.key(at: row), distance: distance, payload: payload && s.hasPayload(row) ? try s.payloads.payload(row: row) : nil)
    }

    /// The key of `row` of the segment at position `ordinal` (the memtable when
    /// `ordinal == segments.count`).
    package func key(ordinal: Int, row: Int) -> Key {
        ordinal == segments.count ? memtable.key(at: row) : segments[ordinal].segment.key(at: row)
    }

    /// The payload of `row` of the segment at position `ordinal` (the memtable when
    /// `ordinal == segments.count`), or nil when it has none.
    package func payload(ordinal: Int, row: Int) throws(VecDBError) -> [UInt8]? {
        if ordinal == segments.count { return memtable.payload(at: row) }
        let s = segments[ordinal].segment
        return s.hasPayload(row) ? try s.payloads.payload(row: row) : nil
    }
}
