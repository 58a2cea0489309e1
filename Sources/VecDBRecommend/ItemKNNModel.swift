import VecDBKernels

/// Item-based k-nearest neighbours over cosine similarity with shrinkage.
///
/// For items i and j with co-occurrence G[i][j] (users holding both) and G[i][i] users of i,
/// s(i, j) = G[i][j] / (√(G[i][i] · G[j][j]) + h), h the shrinkage. Each item keeps its
/// `neighbours` most similar other items (positive similarity; ties to the lower index). A
/// user's score for item j is Σ over history items i of s(i, j) when j is among i's neighbours.
public struct ItemKNNModel: ItemScorer {
    /// The number of neighbours kept per item.
    public let neighbours: Int
    /// The shrinkage h added to the cosine's denominator.
    public let shrinkage: Float
    public let itemCount: Int
    /// Neighbour lists: item i's are `neighbourItems[offsets[i] ..< offsets[i + 1]]`, most similar first.
    package let offsets: [Int]
    package let neighbourItems: [Int32]
    package let similarities: [Float]

    /// Fits item-kNN on `train`.
    ///
    /// - Parameters:
    ///   - train: the training interactions.
    ///   - neighbours: neighbours kept per item, ≥ 1.
    ///   - shrinkage: h ≥ 0; larger values damp similarities backed by few users.
    /// - Returns: the fitted model.
    /// - Throws: ``VecDBError/Code/invalidArgument`` for a bad `neighbours` or `shrinkage`.
    /// - Complexity: O(users × items²) for G (BLAS), O(items² log k) for the neighbour lists.
    public static func fit(_ train: InteractionMatrix, neighbours: Int, shrinkage: Float = 0) throws(VecDBError) -> ItemKNNModel {
        try fit(gram: ItemGram.compute(train), itemCount: train.itemCount, neighbours: neighbours, shrinkage: shrinkage)
    }

    /// Fits from a precomputed co-occurrence matrix G (row-major, items × items).
    package static func fit(gram g: [Float], itemCount n: Int, neighbours: Int, shrinkage: Float) throws(VecDBError) -> ItemKNNModel {
        guard neighbours >= 1 else { throw VecDBError(.invalidArgument, "item-kNN needs at least 1 neighbour, got \(neighbours)") }
        guard shrinkage.isFinite, shrinkage >= 0 else {
            throw VecDBError(.invalidArgument, "item-kNN needs a finite shrinkage ≥ 0, got \(shrinkage)")
        }
        let norms = (0..<n).map { g[$0 * n + $0].squareRoot() }
        var offsets = [0]
        var items: [Int32] = []
        var sims: [Float] = []
        items.reserveCapacity(n * min(neighbours, n))
        sims.reserveCapacity(n * min(neighbours, n))
        var row = [Float](repeating: 0, count: n)
        var top: [Int32] = []
        for i in 0..<n {
            for j in 0..<n {
                let denominator = norms[i] * norms[j] + shrinkage
                row[j] = (j == i || denominator <= 0) ? 0 : g[i * n + j] / denominator
            }
            RankingEvaluator.topK(row, excluding: [], k: neighbours, into: &top)
            for j in top where row[Int(j)] > 0 {
                items.append(j)
                sims.append(row[Int(j)])
            }
            offsets.append(items.count)
        }
        return ItemKNNModel(
            neighbours: neighbours, shrinkage: shrinkage, itemCount: n, offsets: offsets,
            neighbourItems: items, similarities: sims)
    }

    /// The neighbours of item `i` with their similarities, most similar first.
    public func neighbours(of i: Int) -> [(item: Int, similarity: Float)] {
        guard i >= 0, i < itemCount else { return [] }
        return (offsets[i]..<offsets[i + 1]).map { (Int(neighbourItems[$0]), similarities[$0]) }
    }

    /// Sums the neighbour similarities of the history's items.
    ///
    /// - Complexity: O(history × neighbours + items).
    public func score(history: ArraySlice<Int32>, into scores: inout [Float]) {
        for j in scores.indices { scores[j] = 0 }
        for h in history where h >= 0 && Int(h) < itemCount {
            for p in offsets[Int(h)]..<offsets[Int(h) + 1] { scores[Int(neighbourItems[p])] += similarities[p] }
        }
    }
}
