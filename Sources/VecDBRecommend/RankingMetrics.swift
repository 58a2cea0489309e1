/// A mean over users with its standard error.
public struct MetricEstimate: Sendable, Equatable, CustomStringConvertible {
    /// The mean over users.
    public var mean: Double
    /// The standard error of the mean: the sample standard deviation (n − 1) over √n; 0 for
    /// fewer than two users.
    public var standardError: Double

    /// Creates an estimate.
    public init(mean: Double, standardError: Double) {
        self.mean = mean
        self.standardError = standardError
    }

    /// The mean and standard error of `values`.
    public init(_ values: [Double]) {
        let n = Double(values.count)
        guard values.count > 0 else {
            self.init(mean: 0, standardError: 0)
            return
        }
        let m = values.reduce(0, +) / n
        guard values.count > 1 else {
            self.init(mean: m, standardError: 0)
            return
        }
        let ss = values.reduce(0) { $0 + ($1 - m) * ($1 - m) }
        self.init(mean: m, standardError: (ss / (n - 1)).squareRoot() / n.squareRoot())
    }

    public var description: String { "\(mean) ± \(standardError)" }
}

/// The ranking metrics of one model on one split.
///
/// See ``RankingEvaluator`` for the protocol. NDCG@K uses binary gains: DCG = Σ over hits at
/// rank r ≤ K of 1 / log₂(r + 1), divided by the ideal DCG of min(K, test items) hits. Recall@K
/// is hits in the top K divided by the user's test items (not by min(K, test items)).
/// Coverage@20 is the share of the catalogue that appears in at least one user's top 20.
public struct RankingMetrics: Sendable, Equatable {
    /// Users evaluated (those with at least one test item).
    public var users: Int
    /// Items in the catalogue ranked.
    public var items: Int
    /// NDCG@10.
    public var ndcg10: MetricEstimate
    /// NDCG@20.
    public var ndcg20: MetricEstimate
    /// Recall@10.
    public var recall10: MetricEstimate
    /// Recall@20.
    public var recall20: MetricEstimate
    /// Coverage@20: one number for the whole run, so its standard error is 0.
    public var coverage20: MetricEstimate

    /// Creates metrics.
    public init(
        users: Int, items: Int, ndcg10: MetricEstimate, ndcg20: MetricEstimate, recall10: MetricEstimate,
        recall20: MetricEstimate, coverage20: MetricEstimate
    ) {
        self.users = users
        self.items = items
        self.ndcg10 = ndcg10
        self.ndcg20 = ndcg20
        self.recall10 = recall10
        self.recall20 = recall20
        self.coverage20 = coverage20
    }
}
