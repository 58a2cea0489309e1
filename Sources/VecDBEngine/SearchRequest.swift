import VecDBKernels

/// A payload filter compiled once per query into what the engine runs per row: the row's stored
/// payload bytes (nil when it has none) in, whether the row is admitted out.
///
/// The facade compiles its `Filter` expression into one of these; the engine never parses a
/// payload or an expression itself.
package struct PayloadPredicate: @unchecked Sendable {
    /// Whether a row with these payload bytes passes.
    package let admits: ([UInt8]?) -> Bool

    package init(_ admits: @escaping ([UInt8]?) -> Bool) {
        self.admits = admits
    }
}

/// One k-nearest-neighbour query, validated by the caller.
package struct SearchRequest: Sendable {
    /// `dimension` finite floats, as given (the engine prepares it for the metric).
    package var query: [Float]
    /// How many hits; at least 1.
    package var k: Int
    /// Rows whose payload the predicate rejects are never returned; nil admits every row.
    package var filter: PayloadPredicate?
    /// HNSW candidate list size (at least 1).
    package var ef: Int
    /// IVF lists probed (at least 1).
    package var nprobe: Int
    /// Compare every row exactly, ignoring the indexes.
    package var exact: Bool

    package init(query: [Float], k: Int, filter: PayloadPredicate? = nil, ef: Int, nprobe: Int, exact: Bool = false) {
        self.exact = exact
        self.query = query
        self.k = k
        self.filter = filter
        self.ef = ef
        self.nprobe = nprobe
    }
}
