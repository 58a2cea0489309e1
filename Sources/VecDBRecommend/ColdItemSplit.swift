import VecDBKernels

/// The cold-start protocol: a share of the items is held out entirely (no interaction of theirs
/// is trained on), the interactions with the other (warm) items are split per user 80/20 as in
/// ``HoldoutSplit``. A model is scored twice: on the cold items (each user with interactions on
/// them ranks the cold items only) and on the warm items (each user with warm test items ranks
/// the warm items, their train items excluded), so the cost of cold start is visible.
public struct ColdItemSplit: Sendable {
    /// Warm training interactions; every item keeps its index, cold items have no interactions.
    public let train: InteractionMatrix
    /// Held-out interactions with warm items.
    public let warmTest: InteractionMatrix
    /// Every interaction with a cold item.
    public let coldTest: InteractionMatrix
    /// Per item index: held out.
    public let isCold: [Bool]

    /// The warm side as a ``HoldoutSplit`` (train and the warm test interactions), for trainers.
    public var warmSplit: HoldoutSplit { HoldoutSplit(train: train, test: warmTest) }

    /// Holds out `ceil(coldFraction × candidates)` items chosen with `seed` among the items not
    /// in `excluded`, then splits the interactions with the other items per user with `seed + 1`.
    ///
    /// - Parameters:
    ///   - data: the interactions.
    ///   - coldFraction: the share of candidate items held out.
    ///   - seed: the seed of both draws.
    ///   - excluded: items never held out (a validation split inside a cold split passes the
    ///     outer cold items), or nil.
    /// - Throws: ``VecDBError/Code/invalidArgument`` for a fraction outside (0, 1) or fewer than
    ///   two candidate items.
    public static func make(_ data: InteractionMatrix, coldFraction: Double = 0.2, seed: UInt64, excluded: [Bool]? = nil)
        throws(VecDBError) -> ColdItemSplit
    {
        var rng = SeededGenerator(seed: seed)
        var order = (0..<data.itemCount).filter { excluded?[$0] != true }
        guard coldFraction > 0, coldFraction < 1, order.count >= 2 else {
            throw VecDBError(.invalidArgument, "cold items: the fraction must be in (0, 1) and there must be at least two items")
        }
        order.shuffle(using: &rng)
        let coldCount = min(order.count - 1, Int((coldFraction * Double(order.count)).rounded(.up)))
        var isCold = [Bool](repeating: false, count: data.itemCount)
        for i in order.prefix(coldCount) { isCold[i] = true }
        let rows = (0..<data.userCount).map { Array(data.items(ofUser: $0)) }
        let warm = data.withRows(rows.map { $0.filter { !isCold[Int($0)] && excluded?[Int($0)] != true } })
        let cold = data.withRows(rows.map { $0.filter { isCold[Int($0)] } })
        let split = try HoldoutSplit.random(warm, seed: seed &+ 1)
        return ColdItemSplit(train: split.train, warmTest: split.test, coldTest: cold, isCold: isCold)
    }

    /// The metrics of a scoring function on the cold items (`cold` true) or the warm items.
    ///
    /// - Parameters:
    ///   - cold: which side to rank: only cold items are candidates, or only warm ones.
    ///   - threads: users are spread over this many threads.
    ///   - score: fills one score per item for a user (matrix index) and their train items.
    public func evaluate(
        cold: Bool, threads: Int = 1, _ score: @escaping @Sendable (Int, ArraySlice<Int32>, inout [Float]) -> Void
    ) throws(VecDBError) -> RankingMetrics {
        let mask = isCold
        let evaluator = try RankingEvaluator(train: train, test: cold ? coldTest : warmTest)
        return evaluator.evaluate(threads: threads) { user, history, scores in
            score(user, history, &scores)
            for i in scores.indices where mask[i] != cold { scores[i] = -.infinity }
        }
    }

    /// ``evaluate(cold:threads:_:)`` for a model fitted on ``train``.
    public func evaluate(_ model: some ItemScorer, cold: Bool, threads: Int = 1) throws(VecDBError) -> RankingMetrics {
        try evaluate(cold: cold, threads: threads) { user, history, scores in model.score(user: user, history: history, into: &scores) }
    }
}

/// Content-kNN: an item's score for a user is its mean cosine similarity, in content-feature
/// space, to the items the user interacted with (the cold-start baseline that needs no
/// training; equal to the inner product of the item's unit feature row with the mean of the
/// history's unit rows).
public struct ContentKNNModel: ItemScorer {
    public let itemCount: Int
    let width: Int
    /// `[items, width]`, unit rows (zero rows stay zero).
    let rows: [Float]

    /// - Parameter features: one row per item index, of equal width.
    /// - Throws: ``VecDBError/Code/invalidArgument`` for ragged, empty or non-finite rows.
    public init(features: [[Float]]) throws(VecDBError) {
        guard let w = features.first?.count, w > 0, features.allSatisfy({ $0.count == w }) else {
            throw VecDBError(.invalidArgument, "content-kNN: items need feature rows of one, non-zero width")
        }
        guard features.allSatisfy({ $0.allSatisfy(\.isFinite) }) else {
            throw VecDBError(.nonFiniteValue, "content-kNN: a feature row holds NaN or infinity")
        }
        itemCount = features.count
        width = w
        var flat = [Float](repeating: 0, count: features.count * w)
        for (i, row) in features.enumerated() {
            let norm = row.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            if norm > 0 { for j in 0..<w { flat[i * w + j] = row[j] / norm } }
        }
        rows = flat
    }

    public func score(history: ArraySlice<Int32>, into scores: inout [Float]) {
        var profile = [Float](repeating: 0, count: width)
        var n = 0
        for i in history where i >= 0 && Int(i) < itemCount {
            for j in 0..<width { profile[j] += rows[Int(i) * width + j] }
            n += 1
        }
        if n > 0 { for j in 0..<width { profile[j] /= Float(n) } }
        innerProducts(profile, rows: rows, count: itemCount, into: &scores)
    }
}

/// Scores drawn uniformly at random, seeded per user: the floor any model must clear.
public struct RandomModel: ItemScorer {
    public let itemCount: Int
    let seed: UInt64

    /// - Parameters:
    ///   - itemCount: the number of items.
    ///   - seed: the seed; each user's scores depend on it and the user's history.
    public init(itemCount: Int, seed: UInt64) {
        self.itemCount = itemCount
        self.seed = seed
    }

    public func score(history: ArraySlice<Int32>, into scores: inout [Float]) {
        var h = seed
        for i in history { h = (h ^ UInt64(bitPattern: Int64(i))) &* 0x100_0000_01b3 }
        var g = SeededGenerator(seed: h)
        for i in scores.indices { scores[i] = g.nextUnitFloat() }
    }
}
