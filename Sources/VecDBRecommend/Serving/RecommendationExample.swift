import VecDB

/// A positive or negative example of a from-examples query: an item by key, or a raw vector in
/// the queried embedding space (as Qdrant's recommend API takes them).
public enum RecommendationExample: Sendable, Hashable {
    /// An item of the catalogue; its embedding in the queried space is used.
    case item(Key)
    /// A vector of the space's dimension.
    case vector([Float])
}

/// How a from-examples query combines its examples (Qdrant's strategies).
public enum ExampleStrategy: String, Sendable, Hashable, CaseIterable {
    /// One query vector, avg(positives) + (avg(positives) − avg(negatives)) (just the positives'
    /// average without negatives), searched in the space's HNSW index.
    case averageVector = "average_vector"
    /// Every candidate is scored against each example: with p the best inner product with a
    /// positive and n the best with a negative, the score is p when p > n (or there are no
    /// negatives) and −n² otherwise. Exact over the catalogue.
    case bestScore = "best_score"
}
