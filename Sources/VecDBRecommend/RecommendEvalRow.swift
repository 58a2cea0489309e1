/// One line of `vecdb recommend eval`'s JSON Lines output: one model on one split.
///
/// Peers (NumPy, implicit, TFRS, Keras) write the same fields with their own `system`.
package struct RecommendEvalRow: Codable, Sendable, Equatable {
    package var system: String
    package var benchmark: String
    package var dataset: String
    package var model: String
    package var params: [String: Double]
    package var users: Int
    package var items: Int
    package var ndcg10: Double
    package var ndcg10SE: Double
    package var ndcg20: Double
    package var ndcg20SE: Double
    package var recall10: Double
    package var recall10SE: Double
    package var recall20: Double
    package var recall20SE: Double
    package var coverage20: Double
    package var coverage20SE: Double
    package var trainSeconds: Double
    package var threads: Int
    /// `"strong"` for the strong-generalisation protocol; absent for the per-user 80/20 split.
    package var evaluationProtocol: String?
    /// Cold-item protocol: the metrics above are on the cold items; these on the warm ones.
    package var warmNDCG20: Double?
    package var warmNDCG20SE: Double?
    package var warmRecall20: Double?
    package var warmRecall20SE: Double?
    package var warmUsers: Int?

    enum CodingKeys: String, CodingKey {
        case system, benchmark, dataset, model, params, users, items
        case ndcg10 = "ndcg_10"
        case ndcg10SE = "ndcg_10_se"
        case ndcg20 = "ndcg_20"
        case ndcg20SE = "ndcg_20_se"
        case recall10 = "recall_10"
        case recall10SE = "recall_10_se"
        case recall20 = "recall_20"
        case recall20SE = "recall_20_se"
        case coverage20 = "coverage_20"
        case coverage20SE = "coverage_20_se"
        case trainSeconds = "train_seconds"
        case threads
        case evaluationProtocol = "protocol"
        case warmNDCG20 = "warm_ndcg_20"
        case warmNDCG20SE = "warm_ndcg_20_se"
        case warmRecall20 = "warm_recall_20"
        case warmRecall20SE = "warm_recall_20_se"
        case warmUsers = "warm_users"
    }

    /// Adds the warm-item metrics of the cold-item protocol.
    package mutating func setWarm(_ m: RankingMetrics) {
        warmNDCG20 = m.ndcg20.mean
        warmNDCG20SE = m.ndcg20.standardError
        warmRecall20 = m.recall20.mean
        warmRecall20SE = m.recall20.standardError
        warmUsers = m.users
    }

    /// The row of `metrics` for VecDB's model `model`.
    package init(
        dataset: String, model: String, params: [String: Double], metrics m: RankingMetrics, trainSeconds: Double,
        threads: Int, system: String = "vecdb", evaluationProtocol: String? = nil
    ) {
        self.evaluationProtocol = evaluationProtocol
        self.system = system
        benchmark = "recommend-eval"
        self.dataset = dataset
        self.model = model
        self.params = params
        users = m.users
        items = m.items
        ndcg10 = m.ndcg10.mean
        ndcg10SE = m.ndcg10.standardError
        ndcg20 = m.ndcg20.mean
        ndcg20SE = m.ndcg20.standardError
        recall10 = m.recall10.mean
        recall10SE = m.recall10.standardError
        recall20 = m.recall20.mean
        recall20SE = m.recall20.standardError
        coverage20 = m.coverage20.mean
        coverage20SE = m.coverage20.standardError
        self.trainSeconds = trainSeconds
        self.threads = threads
    }
}
