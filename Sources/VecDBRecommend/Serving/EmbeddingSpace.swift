import VecDB
import VecDBKernels

/// The item embeddings of one space (`collab`, `image`, `text`) in one model version: kept in
/// memory for exact re-scoring, and in a VecDB collection with an HNSW index for search.
struct EmbeddingSpace: Sendable {
    /// The space's name.
    var name: String
    /// The embeddings' length.
    var dimension: Int
    /// items × dimension, row-major, in item-index order.
    var vectors: [Float]
    /// The collection `NAME.items.SPACE.vVERSION` (metric: inner product), when built.
    var collection: Collection?

    /// The embedding of item `i`.
    func vector(_ i: Int) -> ArraySlice<Float> { vectors[(i * dimension)..<((i + 1) * dimension)] }

    /// The inner product of item `i`'s embedding with `q`.
    func dot(_ i: Int, _ q: [Float]) -> Float {
        var s: Float = 0
        let base = i * dimension
        vectors.withUnsafeBufferPointer { v in
            for j in 0..<dimension { s += v[base + j] * q[j] }
        }
        return s
    }

    /// Checks a raw query vector's length and values.
    ///
    /// - Throws: ``VecDBError/Code/dimensionMismatch``, ``VecDBError/Code/nonFiniteValue``.
    func validate(_ q: [Float], what: String) throws(VecDBError) {
        guard q.count == dimension else {
            throw VecDBError(.dimensionMismatch, "space '\(name)' expects \(dimension) dimensions, got \(q.count) in \(what)")
        }
        guard q.allSatisfy(\.isFinite) else {
            throw VecDBError(.nonFiniteValue, "\(what) holds a NaN or infinite value")
        }
    }
}
