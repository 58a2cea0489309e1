import VecDBKernels

/// A fitted recommender that places users and items in one vector space, so that a user's
/// score for an item is (up to a per-item bias the model may fold into the embedding) the inner
/// product of their embeddings.
///
/// Serving builds a vector index over ``itemEmbeddings()`` and queries it with
/// ``userEmbedding(history:)``. Item indices are ``InteractionMatrix`` item indices (the same
/// indices ``ItemScorer`` scores), and a history is a list of those indices, as in
/// ``ItemScorer/score(history:into:)``.
public protocol EmbeddingModel: ItemScorer {
    /// The length of every user and item embedding.
    var dimension: Int { get }

    /// One embedding of ``dimension`` floats per item, indexed by item index.
    ///
    /// - Returns: ``ItemScorer/itemCount`` embeddings.
    func itemEmbeddings() -> [[Float]]

    /// The embedding of a user with `history`, computed without refitting (fold-in).
    ///
    /// - Parameter history: item indices the user interacted with.
    /// - Returns: ``dimension`` floats.
    /// - Throws: ``VecDBError/Code/invalidArgument`` when an index is outside `0..<itemCount`.
    func userEmbedding(history: [Int32]) throws(VecDBError) -> [Float]
}
