import Dispatch
import VecDBKernels

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Evaluates a scoring function by full ranking against held-out items.
///
/// The protocol:
/// - Every interaction is an implicit positive; user–item pairs are deduplicated
///   (``InteractionMatrix``).
/// - Per user, a random 80/20 split with a seed (``HoldoutSplit``): ceil(0.2 · n) items test,
///   the rest train.
/// - For every user with at least one test item, the model scores every item in the catalogue
///   from the user's train items; the user's train items are excluded; the top 20 of the rest
///   (ties broken by lower item index) are compared with the user's test items. Users without
///   test items are skipped.
/// - NDCG@10, NDCG@20, Recall@10 and Recall@20 are averaged over users, each with its
///   standard error; Coverage@20 is the share of the catalogue in any user's top 20.
/// - Hyper-parameters are chosen on a validation split carved from train only.
///
/// See ``RankingMetrics`` for the formulas.
public struct RankingEvaluator: Sendable {
    /// The deepest cutoff computed.
    public static let depth = 20

    /// The items scored from (and excluded from the ranking).
    public let train: InteractionMatrix
    /// The items to find.
    public let test: InteractionMatrix

    /// Creates an evaluator for a split.
    ///
    /// - Throws: ``VecDBError/Code/invalidArgument`` when the matrices' users or items differ.
    public init(train: InteractionMatrix, test: InteractionMatrix) throws(VecDBError) {
        guard train.userCount == test.userCount, train.itemCount == test.itemCount else {
            throw VecDBError(
                .invalidArgument,
                "train (\(train.userCount) users × \(train.itemCount) items) and test "
                    + "(\(test.userCount) × \(test.itemCount)) must share users and items")
        }
        self.train = train
        self.test = test
    }

    /// Creates an evaluator for a ``HoldoutSplit``.
    public init(_ split: HoldoutSplit) {
        train = split.train
        test = split.test
    }

    /// Evaluates `model`.
    ///
    /// Users are scored with ``ItemScorer/score(user:history:into:)``: the evaluator's user
    /// indices are those of ``train``, the matrix the model was fitted on (a ``HoldoutSplit``
    /// keeps one user indexing for train and test).
    ///
    /// - Parameters:
    ///   - model: a model fitted on ``train``.
    ///   - threads: users are spread over this many threads.
    /// - Returns: the metrics over users with test items.
    /// - Complexity: O(users × (cost of one scoring + items)).
    public func evaluate(_ model: some ItemScorer, threads: Int = 1) -> RankingMetrics {
        evaluate(threads: threads) { user, history, scores in model.score(user: user, history: history, into: &scores) }
    }

    /// Evaluates a scoring function: `score(user, trainItems, &scores)` fills one score per item.
    ///
    /// - Parameters:
    ///   - threads: users are spread over this many threads.
    ///   - score: called once per evaluated user, possibly concurrently.
    /// - Returns: the metrics over users with test items.
    public func evaluate(
        threads: Int = 1,
        _ score: @Sendable (_ user: Int, _ history: ArraySlice<Int32>, _ scores: inout [Float]) -> Void
    ) -> RankingMetrics {
        let users = (0..<test.userCount).filter { !test.items(ofUser: $0).isEmpty }
        let results = UserResults(count: users.count, depth: Self.depth)
        let workers = max(1, min(threads, users.count))
        @Sendable func work(_ w: Int) {
            var scores = [Float](repeating: 0, count: train.itemCount)
            var top = [Int32]()
            var j = w
            while j < users.count {
                let u = users[j]
                score(u, train.items(ofUser: u), &scores)
                Self.topK(scores, excluding: train.items(ofUser: u), k: Self.depth, into: &top)
                results.set(j, Self.userMetrics(top: top, relevant: test.items(ofUser: u)), top: top)
                j += workers
            }
        }
        if workers == 1 {
            work(0)
        } else {
            DispatchQueue.concurrentPerform(iterations: workers) { w in work(w) }
        }
        return results.summary(users: users.count, items: train.itemCount)
    }

    /// The indices of the `k` highest scores, excluding `excluded` (ascending indices), best
    /// first; ties go to the lower index. NaN scores rank last.
    package static func topK(_ scores: [Float], excluding excluded: ArraySlice<Int32>, k: Int, into top: inout [Int32]) {
        top.removeAll(keepingCapacity: true)
        var values: [Float] = []
        values.reserveCapacity(k + 1)
        var next = excluded.startIndex
        for i in 0..<scores.count {
            if next < excluded.endIndex && Int(excluded[next]) == i {
                next += 1
                continue
            }
            let s = scores[i].isNaN ? -Float.infinity : scores[i]
            if top.count == k, let last = values.last, s <= last { continue }
            // Insert after every kept score ≥ s (so an equal, earlier index stays ahead).
            var p = values.count
            while p > 0 && values[p - 1] < s { p -= 1 }
            values.insert(s, at: p)
            top.insert(Int32(i), at: p)
            if top.count > k {
                values.removeLast()
                top.removeLast()
            }
        }
    }

    /// NDCG and recall at 10 and 20 for one user.
    package static func userMetrics(top: [Int32], relevant: ArraySlice<Int32>) -> (
        ndcg10: Double, ndcg20: Double,
        recall10: Double, recall20: Double
    ) {
        let relevantSet = Set(relevant)
        var dcg10 = 0.0
        var dcg20 = 0.0
        var hits10 = 0
        var hits20 = 0
        for (r, item) in top.prefix(20).enumerated() where relevantSet.contains(item) {
            let gain = 1 / log2(Double(r + 2))
            dcg20 += gain
            hits20 += 1
            if r < 10 {
                dcg10 += gain
                hits10 += 1
            }
        }
        func ideal(_ k: Int) -> Double { (0..<min(k, relevant.count)).reduce(0) { $0 + 1 / log2(Double($1 + 2)) } }
        let n = Double(relevant.count)
        return (dcg10 / ideal(10), dcg20 / ideal(20), Double(hits10) / n, Double(hits20) / n)
    }
}

/// Per-user results, one slot per evaluated user, each written by exactly one worker.
final class UserResults: @unchecked Sendable {
    // Safe: worker w writes only slots j ≡ w (mod workers), each once, and `summary` runs after
    // the workers have returned. Raw storage, so no exclusivity check spans slots.
    private let metrics: UnsafeMutablePointer<Double>
    private let tops: UnsafeMutablePointer<Int32>
    private let count: Int
    private let depth: Int

    init(count: Int, depth: Int) {
        self.count = count
        self.depth = depth
        metrics = .allocate(capacity: max(1, count * 4))
        metrics.initialize(repeating: 0, count: count * 4)
        tops = .allocate(capacity: max(1, count * depth))
        tops.initialize(repeating: -1, count: count * depth)
    }

    deinit {
        metrics.deallocate()
        tops.deallocate()
    }

    func set(_ j: Int, _ m: (ndcg10: Double, ndcg20: Double, recall10: Double, recall20: Double), top: [Int32]) {
        metrics[j * 4] = m.ndcg10
        metrics[j * 4 + 1] = m.ndcg20
        metrics[j * 4 + 2] = m.recall10
        metrics[j * 4 + 3] = m.recall20
        for (r, i) in top.prefix(depth).enumerated() { tops[j * depth + r] = i }
    }

    func summary(users: Int, items: Int) -> RankingMetrics {
        func column(_ c: Int) -> MetricEstimate { MetricEstimate((0..<count).map { metrics[$0 * 4 + c] }) }
        var seen = [Bool](repeating: false, count: items)
        for p in 0..<(count * depth) where tops[p] >= 0 { seen[Int(tops[p])] = true }
        let coverage = items == 0 ? 0 : Double(seen.lazy.filter { $0 }.count) / Double(items)
        return RankingMetrics(
            users: users, items: items, ndcg10: column(0), ndcg20: column(1), recall10: column(2),
            recall20: column(3), coverage20: MetricEstimate(mean: coverage, standardError: 0))
    }
}
