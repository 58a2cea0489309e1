import VecDBKernels

/// A model that places users and items in one vector space: an item's score for a user is the
/// inner product of their embeddings.
///
/// Serving stores ``itemEmbeddings()`` in a VecDB collection with an HNSW index (one per
/// embedding space) and answers similar-item and from-examples queries there. The deep models
/// (two-tower, Mult-VAE) conform; score-only models (popularity, item-kNN, EASE) do not and are
/// served from ``ItemScorer/score(history:into:)`` alone.
public protocol EmbeddingScorer: ItemScorer {
    /// The length of every user and item embedding.
    var dimension: Int { get }

    /// One embedding per item, in item-index order (``ItemScorer/itemCount`` rows of
    /// ``dimension`` values).
    func itemEmbeddings() -> [[Float]]

    /// The embedding of a user with `history`, who need not have been seen in training
    /// (fold-in).
    ///
    /// - Parameter history: item indices the user interacted with.
    /// - Returns: ``dimension`` values.
    /// - Throws: ``VecDBError`` when the history cannot be embedded.
    func userEmbedding(history: ArraySlice<Int32>) throws(VecDBError) -> [Float]
}
