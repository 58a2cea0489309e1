import VecDB

/// One recommended item: its key, its score, and its payload from the item collection.
public struct Recommendation: Sendable, Hashable {
    /// The item's key.
    public var key: Key
    /// The model's score (higher is better); comparable within one result only.
    public var score: Float
    /// The item's features (`title`, `genres`, `year`, …), when the item was ingested with them.
    public var payload: Payload?

    /// Creates a recommendation.
    ///
    /// - Parameters:
    ///   - key: the item's key.
    ///   - score: its score.
    ///   - payload: its features.
    public init(key: Key, score: Float, payload: Payload? = nil) {
        self.key = key
        self.score = score
        self.payload = payload
    }

    /// The payload's `title`, when it has one.
    public var title: String? {
        if case .string(let s)? = payload?["title"] { return s }
        return nil
    }
}

/// The answer to a recommendation query: the items, best first, and the keys the query named
/// that the served model does not know (skipped, not fatal).
public struct RecommendationList: Sendable, Hashable {
    /// The recommended items, best first (ties to the lower item index).
    public var items: [Recommendation]
    /// Keys given in the query (history, examples, include or exclude lists) that are not in
    /// the model's item catalogue, in the order given.
    public var skipped: [Key]
    /// The model version that answered.
    public var version: UInt64

    /// Creates a result.
    ///
    /// - Parameters:
    ///   - items: the items, best first.
    ///   - skipped: unknown keys of the query.
    ///   - version: the model version.
    public init(items: [Recommendation], skipped: [Key] = [], version: UInt64) {
        self.items = items
        self.skipped = skipped
        self.version = version
    }

    /// The recommended keys, best first.
    public var keys: [Key] { items.map(\.key) }
}
