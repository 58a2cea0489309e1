import VecDBKernels
import VecDBNN

/// A two-tower retrieval model (Yi et al., 2019; the TFRS retrieval task): a user tower and an
/// item tower map into one space, and a user's score for an item is the cosine of their vectors.
///
/// ```
///   user: mean of history-item embeddings [d] ─► user1 [d→h] relu ─► user2 [h→k] ─► L2 ─► u
///   item: [item-id embedding d ‖ content features f] ─► item1 [d+f→h] relu ─► item2 [h→k] ─► L2 ─► v
///   score(u, i) = u · v_i
/// ```
///
/// The user tower reads only the user's history (no user-id embedding), so every user, seen in
/// training or not, is scored from their history without refitting, and the same history always
/// gives the same vector. The item tower is evaluated once after training: the model keeps the
/// item vectors, which are exactly ``itemEmbeddings()``.
public struct TwoTowerModel: EmbeddingModel {
    public let itemCount: Int
    /// The width of the history-item embeddings.
    let embeddingWidth: Int
    /// `[itemCount, embeddingWidth]`, row-major: the user tower's item table.
    let historyEmbedding: [Float]
    let user1: DenseLayerWeights
    let user2: DenseLayerWeights
    /// `[itemCount, dimension]`, row-major, unit rows: the item tower's outputs.
    let itemVectors: [Float]
    /// The hyper-parameters the model was trained with, for checkpoints and reports.
    public let params: [String: Double]

    init(
        itemCount: Int, embeddingWidth: Int, historyEmbedding: [Float], user1: DenseLayerWeights, user2: DenseLayerWeights,
        itemVectors: [Float], params: [String: Double]
    ) throws(VecDBError) {
        guard itemCount > 0, embeddingWidth > 0, historyEmbedding.count == itemCount * embeddingWidth,
            user1.inputs == embeddingWidth, user1.outputs == user2.inputs, itemVectors.count == itemCount * user2.outputs
        else {
            throw VecDBError(
                .dimensionMismatch,
                "two-tower: sizes do not agree (\(itemCount) items, embeddings \(historyEmbedding.count), "
                    + "user tower [\(user1.inputs)→\(user1.outputs)]→[\(user2.inputs)→\(user2.outputs)], item vectors \(itemVectors.count))"
            )
        }
        self.itemCount = itemCount
        self.embeddingWidth = embeddingWidth
        self.historyEmbedding = historyEmbedding
        self.user1 = user1
        self.user2 = user2
        self.itemVectors = itemVectors
        self.params = params
    }

    /// The width of the user and item vectors.
    public var dimension: Int { user2.outputs }

    /// The user tower on a history: the unit user vector (zeros for an empty history).
    func userVector(_ history: ArraySlice<Int32>) -> [Float] {
        let d = embeddingWidth
        var pooled = [Float](repeating: 0, count: d)
        var n = 0
        for i in history where i >= 0 && Int(i) < itemCount {
            let o = Int(i) * d
            for j in 0..<d { pooled[j] += historyEmbedding[o + j] }
            n += 1
        }
        if n > 0 { for j in 0..<d { pooled[j] /= Float(n) } }
        var u = user2.apply(user1.apply(pooled))
        var sq: Float = 0
        for x in u { sq += x * x }
        let norm = sq.squareRoot()
        if norm > 1e-12 { for j in u.indices { u[j] /= norm } }
        return u
    }

    public func score(history: ArraySlice<Int32>, into scores: inout [Float]) {
        let u = userVector(history)
        let k = dimension
        scores.withUnsafeMutableBufferPointer { s in
            itemVectors.withUnsafeBufferPointer { v in
                u.withUnsafeBufferPointer { up in
                    guard let a = up.baseAddress, let b = v.baseAddress, let c = s.baseAddress else { return }
                    BLAS.sgemm(
                        transA: false, transB: true, m: 1, n: min(itemCount, s.count), k: k, a: a, lda: k, b: b, ldb: k,
                        beta: 0, c: c, ldc: itemCount)
                }
            }
        }
    }

    public func itemEmbeddings() -> [[Float]] {
        let k = dimension
        return (0..<itemCount).map { Array(itemVectors[($0 * k)..<(($0 + 1) * k)]) }
    }

    public func userEmbedding(history: [Int32]) throws(VecDBError) -> [Float] {
        for i in history where i < 0 || Int(i) >= itemCount {
            throw VecDBError(.invalidArgument, "two-tower: item index \(i) is outside 0..<\(itemCount)")
        }
        return userVector(history[...])
    }
}
