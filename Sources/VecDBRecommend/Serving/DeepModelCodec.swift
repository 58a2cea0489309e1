import VecDBKernels

/// The deep models as servable kinds: trained on every recorded interaction (epochs and
/// hyper-parameters chosen on a validation split carved from them), kept in version files as
/// their safetensors checkpoints, and served through their embeddings (``EmbeddingScorer``):
/// the item embeddings go to an HNSW-indexed collection for similar-item and from-examples
/// queries.
enum DeepModelCodec {
    /// One servable kind per deep model.
    static var kinds: [ModelKind] { DeepModelKind.allCases.map(kind) }

    static func kind(_ deep: DeepModelKind) -> ModelKind {
        ModelKind(
            name: deep.rawValue,
            train: { (input: TrainingInput) throws(VecDBError) -> (model: any ItemScorer, params: [String: Double]) in
                let none = input.data.withRows([[Int32]](repeating: [], count: input.data.userCount))
                let trained = try DeepModelTrainer.train(
                    deep, split: HoldoutSplit(train: input.data, test: none), validationSeed: 1, threads: input.threads)
                return (trained.model, trained.params)
            },
            encode: { (model: any ItemScorer) throws(VecDBError) -> [UInt8] in
                switch model {
                case let m as MultVAEModel: return m.checkpointBytes()
                case let m as TwoTowerModel: return try m.checkpointBytes()
                default: throw VecDBError(.invalidArgument, "a \(type(of: model)) is not a \(deep.rawValue) model")
                }
            },
            decode: { (bytes: [UInt8]) throws(VecDBError) -> any ItemScorer in
                switch deep {
                case .multDAE, .multVAE: return try MultVAEModel.load(checkpoint: bytes)
                default: return try TwoTowerModel.load(checkpoint: bytes)
                }
            })
    }
}

extension MultVAEModel: EmbeddingScorer {
    /// See ``EmbeddingModel/userEmbedding(history:)``.
    public func userEmbedding(history: ArraySlice<Int32>) throws(VecDBError) -> [Float] {
        try userEmbedding(history: Array(history))
    }
}

extension TwoTowerModel: EmbeddingScorer {
    /// See ``EmbeddingModel/userEmbedding(history:)``.
    public func userEmbedding(history: ArraySlice<Int32>) throws(VecDBError) -> [Float] {
        try userEmbedding(history: Array(history))
    }
}
