import VecDBKernels
import VecDBStorage

/// What a trainer receives: the data, and the previous version to warm-start from.
public struct TrainingInput: Sendable {
    /// Every recorded interaction, as a matrix (users and items in ascending key order).
    public var data: InteractionMatrix
    /// The model of the version being refreshed, or `nil` for a first training.
    public var previous: (any ItemScorer)?
    /// The item keys `previous` was trained on (its item index order); empty without one.
    public var previousItemKeys: [Key]
    /// The hyper-parameters `previous` was trained with (its version's `params`).
    public var previousParams: [String: Double]
    /// Item side information (from the `NAME.items` payloads), for models with content features.
    public var itemRecords: [EntityRecord] = []
    /// User side information (from the `NAME.users` payloads), for models with user features.
    public var userRecords: [EntityRecord] = []
    /// Image embeddings by item key (from `NAME.images`), for models that read them as features.
    public var itemImages: [Key: [Float]] = [:]
    /// Title embeddings by item key (from `NAME.titles`), for models that read them as features.
    public var itemTitles: [Key: [Float]] = [:]
    /// Each user's items (indices into `data`'s items) in time order, one sequence per user of
    /// `data`: by timestamp, ties in recording order, each item at its first occurrence. The
    /// sequence models train on these.
    public var sequences: [[Int32]] = []
    /// Threads for BLAS and for any search.
    public var threads: Int
    /// Called after each epoch of a deep model's training.
    public var progress: @Sendable (TrainingProgress) -> Void

    /// Creates a training input.
    ///
    /// - Parameters:
    ///   - data: the interactions.
    ///   - previous: the model to warm-start from.
    ///   - previousItemKeys: the item keys of `previous`.
    ///   - previousParams: the hyper-parameters of `previous`.
    ///   - threads: threads to use.
    ///   - progress: receives training progress.
    public init(
        data: InteractionMatrix, previous: (any ItemScorer)? = nil, previousItemKeys: [Key] = [], previousParams: [String: Double] = [:],
        threads: Int = 1, progress: @escaping @Sendable (TrainingProgress) -> Void = { _ in }
    ) {
        self.data = data
        self.previous = previous
        self.previousItemKeys = previousItemKeys
        self.previousParams = previousParams
        self.threads = threads
        self.progress = progress
    }
}

/// A model kind that serving can train, save and load, registered by name in
/// ``ModelRegistry``.
///
/// The baselines (`popularity`, `itemknn`, `ease`) are built in; the deep models register
/// theirs. `encode` and `decode` must round-trip: `decode(encode(m))` scores as `m` does.
public struct ModelKind: Sendable {
    /// The name users pass to `train --model`: lower case, no spaces.
    public var name: String
    /// The embedding space an ``EmbeddingScorer`` of this kind fills (`collab`).
    public var space: String
    /// Fits a model on all of `input.data`, warm-started from `input.previous` when the kind
    /// can; returns the model and its hyper-parameters by name.
    public var train: @Sendable (_ input: TrainingInput) throws(VecDBError) -> (model: any ItemScorer, params: [String: Double])
    /// The model's bytes (the body of a version file).
    public var encode: @Sendable (_ model: any ItemScorer) throws(VecDBError) -> [UInt8]
    /// The model back from ``encode``'s bytes.
    public var decode: @Sendable (_ bytes: [UInt8]) throws(VecDBError) -> any ItemScorer

    /// Creates a model kind.
    ///
    /// - Parameters:
    ///   - name: the registry name.
    ///   - space: the embedding space's name, `collab` by default.
    ///   - train: fits a model.
    ///   - encode: serialises a model of this kind.
    ///   - decode: reads one back.
    public init(
        name: String, space: String = "collab",
        train: @escaping @Sendable (_ input: TrainingInput) throws(VecDBError) -> (model: any ItemScorer, params: [String: Double]),
        encode: @escaping @Sendable (_ model: any ItemScorer) throws(VecDBError) -> [UInt8],
        decode: @escaping @Sendable (_ bytes: [UInt8]) throws(VecDBError) -> any ItemScorer
    ) {
        self.name = name
        self.space = space
        self.train = train
        self.encode = encode
        self.decode = decode
    }
}
