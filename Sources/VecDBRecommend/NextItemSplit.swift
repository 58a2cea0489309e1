import Foundation
import VecDBKernels
import VecDBStorage

/// Leave-one-out by time, the protocol of GRU4Rec and SASRec: each user's interactions in time
/// order, the last the test item, the one before it the validation item, the rest training.
///
/// A user's sequence is their interactions sorted by timestamp (ties keep the order of the
/// input), each item kept at its first occurrence, since the evaluation excludes items a user
/// has already had. Users with fewer than three items keep them all for training and are not
/// evaluated. Item and user indices are those of ``InteractionMatrix`` over all the data.
public struct NextItemSplit: Sendable {
    /// Users and items of the whole data set (indices into these).
    public let userKeys: [Key]
    public let itemKeys: [Key]
    /// Each user's training items in time order.
    public let train: [[Int32]]
    /// Each user's validation item (the second last), nil when the user is not evaluated.
    public let validation: [Int32?]
    /// Each user's test item (the last), nil when the user is not evaluated.
    public let test: [Int32?]

    public var itemCount: Int { itemKeys.count }
    public var userCount: Int { userKeys.count }

    /// Splits `interactions` by time.
    public init(_ interactions: [Interaction]) {
        let matrix = InteractionMatrix(interactions)
        self.init(
            userKeys: matrix.userKeys, itemKeys: matrix.itemKeys,
            sequences: Self.sequences(interactions, userKeys: matrix.userKeys, itemKeys: matrix.itemKeys))
    }

    /// Splits sequences already in time order (one per user of `userKeys`, item indices into
    /// `itemKeys`, no repeats).
    package init(userKeys: [Key], itemKeys: [Key], sequences: [[Int32]]) {
        self.userKeys = userKeys
        self.itemKeys = itemKeys
        var train: [[Int32]] = []
        var validation: [Int32?] = []
        var test: [Int32?] = []
        for seq in sequences {
            if seq.count >= 3 {
                train.append(Array(seq.dropLast(2)))
                validation.append(seq[seq.count - 2])
                test.append(seq[seq.count - 1])
            } else {
                train.append(seq)
                validation.append(nil)
                test.append(nil)
            }
        }
        self.train = train
        self.validation = validation
        self.test = test
    }

    /// Each user's items in time order: sorted by timestamp (ties keep the input order), each
    /// item at its first occurrence; one sequence per user of `userKeys`, indices into
    /// `itemKeys`. Interactions with a user or item outside them are ignored.
    package static func sequences(_ interactions: [Interaction], userKeys: [Key], itemKeys: [Key]) -> [[Int32]] {
        var userIndex: [Key: Int] = [:]
        for (i, k) in userKeys.enumerated() { userIndex[k] = i }
        var itemIndex: [Key: Int32] = [:]
        for (i, k) in itemKeys.enumerated() { itemIndex[k] = Int32(i) }
        var events = [[(time: Int64, order: Int, item: Int32)]](repeating: [], count: userKeys.count)
        for (order, x) in interactions.enumerated() {
            guard let u = userIndex[x.user], let i = itemIndex[x.item] else { continue }
            events[u].append((x.timestamp, order, i))
        }
        return events.map { e in
            var seen = Set<Int32>()
            return e.sorted { ($0.time, $0.order) < ($1.time, $1.order) }.map(\.item).filter { seen.insert($0).inserted }
        }
    }

    /// The training items as a matrix (for the models that read sets, not sequences).
    public var trainMatrix: InteractionMatrix {
        InteractionMatrix(userKeys: userKeys, itemKeys: itemKeys, rows: train.map { $0.sorted() })
    }

    /// The training matrix as a ``HoldoutSplit`` with no test items, for the trainers that
    /// take one (they read only its train part).
    public var fitSplit: HoldoutSplit {
        HoldoutSplit(train: trainMatrix, test: InteractionMatrix(userKeys: userKeys, itemKeys: itemKeys, rows: train.map { _ in [] }))
    }

    /// The evaluation cases: for `test`, each evaluated user's training items plus the
    /// validation item as history and the test item as target; for validation, the training
    /// items and the validation item.
    public func cases(validation useValidation: Bool) -> [NextItemCase] {
        var out: [NextItemCase] = []
        for u in 0..<userCount {
            guard let v = validation[u], let t = test[u] else { continue }
            out.append(
                useValidation
                    ? NextItemCase(user: u, history: train[u], target: v) : NextItemCase(user: u, history: train[u] + [v], target: t))
        }
        return out
    }
}

/// One next-item query: a user's history in time order and the item that came next.
public struct NextItemCase: Sendable {
    public var user: Int
    public var history: [Int32]
    public var target: Int32
}

/// Hit rate, NDCG and MRR at 10 of a next-item model, over full rankings and over the
/// sampled-negatives ranking the SASRec paper reports.
public struct NextItemMetrics: Sendable, Equatable {
    public var hit10: MetricEstimate
    public var ndcg10: MetricEstimate
    public var mrr10: MetricEstimate
    /// The same three with the target ranked against `negatives` items sampled uniformly from
    /// those the user has not had (the SASRec paper's protocol, with 100).
    public var sampledHit10: MetricEstimate
    public var sampledNDCG10: MetricEstimate
    public var sampledMRR10: MetricEstimate
    public var users: Int
}

/// Ranks the target of each case among all items, the user's history excluded.
public enum NextItemEvaluator {
    /// Scores of every item for a block of cases: `cases.count × itemCount` values, row-major.
    public typealias Scorer = ([NextItemCase]) throws(VecDBError) -> [Float]

    /// Evaluates `score` on `cases`, in blocks of 256 cases.
    ///
    /// The rank of the target is the number of items not in the history that score above it,
    /// plus those that tie with it and come before it in index order (the tie rule of
    /// ``RankingEvaluator``). A non-finite target score ranks last.
    /// - Parameter negatives: how many items the sampled ranking draws per user (seeded by
    ///   `seed` and the user).
    public static func evaluate(
        _ cases: [NextItemCase], itemCount: Int, negatives: Int = 100, seed: UInt64 = 42, _ score: Scorer
    ) throws(VecDBError) -> NextItemMetrics {
        var hit: [Double] = []
        var ndcg: [Double] = []
        var mrr: [Double] = []
        var sHit: [Double] = []
        var sNDCG: [Double] = []
        var sMRR: [Double] = []
        var start = 0
        var excluded = [Bool](repeating: false, count: itemCount)
        while start < cases.count {
            let block = Array(cases[start..<min(cases.count, start + 256)])
            let scores = try score(block)
            guard scores.count == block.count * itemCount else {
                throw VecDBError(
                    .invalidArgument, "a scorer returned \(scores.count) scores for \(block.count) cases of \(itemCount) items")
            }
            for (b, c) in block.enumerated() {
                let row = b * itemCount
                for i in c.history where Int(i) < itemCount { excluded[Int(i)] = true }
                let t = Int(c.target)
                let target = scores[row + t]
                func ahead(_ i: Int) -> Bool {
                    let s = scores[row + i]
                    if !target.isFinite { return true }
                    return s > target || (s == target && i < t)
                }
                var rank = 0
                for i in 0..<itemCount where i != t && !excluded[i] && ahead(i) { rank += 1 }
                hit.append(rank < 10 ? 1 : 0)
                ndcg.append(rank < 10 ? 1 / log2(Double(rank) + 2) : 0)
                mrr.append(rank < 10 ? 1 / Double(rank + 1) : 0)
                // Sampled: `negatives` distinct items the user has not had.
                var g = SeededGenerator(seed: seed ^ (UInt64(c.user) &* 0x9E37_79B9_7F4A_7C15))
                let available = itemCount - 1 - c.history.count
                var drawn = Set<Int>()
                var sampledRank = 0
                while drawn.count < min(negatives, max(0, available)) {
                    let i = Int(g.next() % UInt64(itemCount))
                    if i == t || excluded[i] || !drawn.insert(i).inserted { continue }
                    if ahead(i) { sampledRank += 1 }
                }
                sHit.append(sampledRank < 10 ? 1 : 0)
                sNDCG.append(sampledRank < 10 ? 1 / log2(Double(sampledRank) + 2) : 0)
                sMRR.append(sampledRank < 10 ? 1 / Double(sampledRank + 1) : 0)
                for i in c.history where Int(i) < itemCount { excluded[Int(i)] = false }
            }
            start += block.count
        }
        return NextItemMetrics(
            hit10: MetricEstimate(hit), ndcg10: MetricEstimate(ndcg), mrr10: MetricEstimate(mrr), sampledHit10: MetricEstimate(sHit),
            sampledNDCG10: MetricEstimate(sNDCG), sampledMRR10: MetricEstimate(sMRR), users: cases.count)
    }

    /// A scorer from an ``ItemScorer``, which reads the history as an ascending set: all of it
    /// by default, or what `history` picks of each case.
    public static func scorer(
        _ model: any ItemScorer, history: @escaping @Sendable (NextItemCase) -> [Int32] = { $0.history.sorted() }
    ) -> Scorer {
        { (block: [NextItemCase]) throws(VecDBError) -> [Float] in
            var out = [Float](repeating: 0, count: block.count * model.itemCount)
            var row = [Float](repeating: 0, count: model.itemCount)
            for (b, c) in block.enumerated() {
                model.score(user: c.user, history: history(c)[...], into: &row)
                for i in 0..<model.itemCount { out[b * model.itemCount + i] = row[i] }
            }
            return out
        }
    }
}

/// One line of `vecdb recommend eval --protocol next-item`: one model under leave-one-out.
/// The keys of the other protocols' rows where they mean the same (`ndcg_10`), plus hit rate,
/// MRR and the sampled-negatives variants.
package struct NextItemEvalRow: Codable, Sendable, Equatable {
    package var system = "vecdb"
    package var benchmark = "recommend-eval"
    package var evaluationProtocol = "next-item"
    package var dataset: String
    package var model: String
    package var params: [String: Double]
    package var users: Int
    package var items: Int
    package var hit10: Double
    package var hit10SE: Double
    package var ndcg10: Double
    package var ndcg10SE: Double
    package var mrr10: Double
    package var mrr10SE: Double
    package var sampledNegatives: Int
    package var sampledHit10: Double
    package var sampledHit10SE: Double
    package var sampledNDCG10: Double
    package var sampledNDCG10SE: Double
    package var sampledMRR10: Double
    package var sampledMRR10SE: Double
    package var trainSeconds: Double
    package var threads: Int
    /// The same metrics over the cases whose target occurs at most `rareTargetMaxCount` times
    /// in training (items a model knows little about), when measured.
    package var rareTargetMaxCount: Int?
    package var rareUsers: Int?
    package var rareHit10: Double?
    package var rareNDCG10: Double?
    package var rareNDCG10SE: Double?

    enum CodingKeys: String, CodingKey {
        case system, benchmark, dataset, model, params, users, items, threads
        case evaluationProtocol = "protocol"
        case hit10 = "hit_10"
        case hit10SE = "hit_10_se"
        case ndcg10 = "ndcg_10"
        case ndcg10SE = "ndcg_10_se"
        case mrr10 = "mrr_10"
        case mrr10SE = "mrr_10_se"
        case sampledNegatives = "sampled_negatives"
        case sampledHit10 = "sampled_hit_10"
        case sampledHit10SE = "sampled_hit_10_se"
        case sampledNDCG10 = "sampled_ndcg_10"
        case sampledNDCG10SE = "sampled_ndcg_10_se"
        case sampledMRR10 = "sampled_mrr_10"
        case sampledMRR10SE = "sampled_mrr_10_se"
        case trainSeconds = "train_seconds"
        case rareTargetMaxCount = "rare_target_max_count"
        case rareUsers = "rare_users"
        case rareHit10 = "rare_hit_10"
        case rareNDCG10 = "rare_ndcg_10"
        case rareNDCG10SE = "rare_ndcg_10_se"
    }

    /// Adds the metrics of the rare-target cases.
    package mutating func setRare(_ m: NextItemMetrics, maxCount: Int) {
        rareTargetMaxCount = maxCount
        rareUsers = m.users
        rareHit10 = m.hit10.mean
        rareNDCG10 = m.ndcg10.mean
        rareNDCG10SE = m.ndcg10.standardError
    }

    package init(
        dataset: String, model: String, params: [String: Double], metrics m: NextItemMetrics, items: Int, negatives: Int,
        trainSeconds: Double, threads: Int
    ) {
        self.dataset = dataset
        self.model = model
        self.params = params
        users = m.users
        self.items = items
        hit10 = m.hit10.mean
        hit10SE = m.hit10.standardError
        ndcg10 = m.ndcg10.mean
        ndcg10SE = m.ndcg10.standardError
        mrr10 = m.mrr10.mean
        mrr10SE = m.mrr10.standardError
        sampledNegatives = negatives
        sampledHit10 = m.sampledHit10.mean
        sampledHit10SE = m.sampledHit10.standardError
        sampledNDCG10 = m.sampledNDCG10.mean
        sampledNDCG10SE = m.sampledNDCG10.standardError
        sampledMRR10 = m.sampledMRR10.mean
        sampledMRR10SE = m.sampledMRR10.standardError
        self.trainSeconds = trainSeconds
        self.threads = threads
    }
}
