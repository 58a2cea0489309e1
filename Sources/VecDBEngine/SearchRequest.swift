import VecDBKernels
import VecDBStorage

/// A filter already resolved to rows: for each segment of one snapshot (by segment id) and
/// for its memtable, the rows whose payload matches, deleted or not. The facade computes it
/// once per query, or once per batch of queries sharing a filter, from its payload indexes;
/// the engine intersects it with the tombstones and plans each segment from its count, with
/// no payload read.
package struct FilterRows: Sendable {
    /// The matching rows of each segment, by segment id.
    package var segments: [UInt64: RowBitmap]
    /// The matching rows of the memtable (over the snapshot's `memCount` rows).
    package var memtable: RowBitmap

    package init(segments: [UInt64: RowBitmap], memtable: RowBitmap) {
        self.segments = segments
        self.memtable = memtable
    }
}

/// One k-nearest-neighbour query, validated by the caller.
package struct SearchRequest: Sendable {
    /// `dimension` finite floats, as given (the engine prepares it for the metric).
    package var query: [Float]
    /// How many hits; at least 1.
    package var k: Int
    /// The payload filter resolved to rows: only rows it holds are returned. Nil admits every
    /// live row.
    package var rows: FilterRows?
    /// HNSW candidate list size (at least 1).
    package var ef: Int
    /// IVF lists probed (at least 1).
    package var nprobe: Int
    /// Compare every row exactly, ignoring the indexes.
    package var exact: Bool
    /// Read each hit's payload.
    package var payloads = true

    package init(
        query: [Float], k: Int, rows: FilterRows? = nil, ef: Int, nprobe: Int, exact: Bool = false,
        payloads: Bool = true
    ) {
        self.payloads = payloads
        self.rows = rows
        self.exact = exact
        self.query = query
        self.k = k
        self.ef = ef
        self.nprobe = nprobe
    }
}
