import VecDB
import VecDBKernels

extension Recommender {
    /// ``RecommenderSnapshot/recommend(user:k:filter:include:exclude:)`` on the newest version.
    ///
    /// - Parameters:
    ///   - user: a user with recorded interactions.
    ///   - k: how many items.
    ///   - filter: a predicate on item payloads.
    ///   - include: when given, only these items may be recommended.
    ///   - exclude: items never recommended.
    /// - Returns: up to `k` items, best first.
    /// - Throws: ``VecDBError/Code/notFound`` for an unknown user or before the first training.
    /// - Complexity: one scoring of the model, then O(items × log k).
    public func recommend(
        user: Key, k: Int, filter: Filter? = nil, include: [Key]? = nil, exclude: [Key] = []
    ) throws(VecDBError) -> RecommendationList {
        try snapshot().recommend(user: user, k: k, filter: filter, include: include, exclude: exclude)
    }

    /// ``RecommenderSnapshot/recommend(history:k:filter:include:exclude:)`` on the newest version.
    ///
    /// - Parameters:
    ///   - history: item keys of a user the model has never seen.
    ///   - k: how many items.
    ///   - filter: a predicate on item payloads.
    ///   - include: when given, only these items may be recommended.
    ///   - exclude: items never recommended.
    /// - Returns: up to `k` items; unknown keys reported.
    /// - Throws: ``VecDBError/Code/notFound`` before the first training.
    /// - Complexity: one scoring of the model, then O(items × log k).
    public func recommend(
        history: [Key], k: Int, filter: Filter? = nil, include: [Key]? = nil, exclude: [Key] = []
    ) throws(VecDBError) -> RecommendationList {
        try snapshot().recommend(history: history, k: k, filter: filter, include: include, exclude: exclude)
    }

    /// ``RecommenderSnapshot/recommend(sequence:k:filter:include:exclude:)`` on the newest
    /// version: the next items of an anonymous session, oldest item first.
    ///
    /// - Parameters:
    ///   - sequence: the session's item keys in the order they happened.
    ///   - k: how many items.
    ///   - filter: a predicate on item payloads.
    ///   - include: when given, only these items may be recommended.
    ///   - exclude: items never recommended.
    /// - Returns: up to `k` items; unknown keys reported.
    /// - Throws: ``VecDBError/Code/notFound`` before the first training.
    /// - Complexity: one scoring of the model, then O(items × log k).
    public func recommend(
        sequence: [Key], k: Int, filter: Filter? = nil, include: [Key]? = nil, exclude: [Key] = []
    ) throws(VecDBError) -> RecommendationList {
        try snapshot().recommend(sequence: sequence, k: k, filter: filter, include: include, exclude: exclude)
    }

    /// ``RecommenderSnapshot/similarItems(to:k:filter:space:)`` on the newest version.
    ///
    /// - Parameters:
    ///   - item: an item of the catalogue.
    ///   - k: how many items.
    ///   - filter: a predicate on item payloads.
    ///   - space: the embedding space, `nil` for the model's own.
    /// - Returns: up to `k` items, most similar first.
    /// - Throws: ``VecDBError/Code/notFound`` for an unknown item or space.
    /// - Complexity: one HNSW search or one scoring.
    public func similarItems(to item: Key, k: Int, filter: Filter? = nil, space: String? = nil) throws(VecDBError) -> RecommendationList {
        try snapshot().similarItems(to: item, k: k, filter: filter, space: space)
    }

    /// ``RecommenderSnapshot/recommend(positive:negative:k:filter:strategy:space:)`` on the
    /// newest version.
    ///
    /// - Parameters:
    ///   - positive: examples to be like.
    ///   - negative: examples not to be like.
    ///   - k: how many items.
    ///   - filter: a predicate on item payloads.
    ///   - strategy: how examples combine.
    ///   - space: the embedding space.
    /// - Returns: up to `k` items; unknown keys reported.
    /// - Throws: as the snapshot's method.
    /// - Complexity: as the snapshot's method.
    public func recommend(
        positive: [RecommendationExample], negative: [RecommendationExample] = [], k: Int, filter: Filter? = nil,
        strategy: ExampleStrategy = .averageVector, space: String? = nil
    ) throws(VecDBError) -> RecommendationList {
        try snapshot().recommend(positive: positive, negative: negative, k: k, filter: filter, strategy: strategy, space: space)
    }
}
