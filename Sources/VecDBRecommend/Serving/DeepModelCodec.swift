import VecDB
import VecDBKernels
import VecDBStorage

/// The deep models as servable kinds: trained on every recorded interaction (epochs and
/// hyper-parameters chosen on a validation split carved from them), kept in version files as
/// their safetensors checkpoints, and served through their embeddings (``EmbeddingScorer``):
/// the item embeddings go to an HNSW-indexed collection for similar-item and from-examples
/// queries.
///
/// A refresh fine-tunes the previous version instead: its weights, items moved to their current
/// indices and new items given fresh rows (the two-tower's item features encoded by the
/// previous version's encoder), trained for half as many epochs as the previous fit chose (at
/// least 2), with its hyper-parameters and no new selection.
enum DeepModelCodec {
    /// The two-tower's item-id dropout in serving when items have content features: the rate the
    /// cold-item protocol's validation chose on ML-100K (docs/recommender.md).
    static let servingItemIDDropout: Float = 0.25

    /// One servable kind per deep model.
    static var kinds: [ModelKind] { DeepModelKind.allCases.map(kind) }

    static func kind(_ deep: DeepModelKind) -> ModelKind {
        ModelKind(
            name: deep.rawValue,
            train: { (input: TrainingInput) throws(VecDBError) -> (model: any ItemScorer, params: [String: Double]) in
                let data = input.data
                if let previous = input.previous, canFineTune(deep, previous) {
                    var position: [Key: Int] = [:]
                    for (i, key) in input.previousItemKeys.enumerated() { position[key] = i }
                    let epochs = max(2, Int(input.previousParams["epochs"] ?? 4) / 2)
                    // The two-tower reads features in the encoding it was trained with.
                    let tower = previous as? TwoTowerModel
                    let encoder = tower?.itemFeatureEncoder
                    let titleWidth = Int(input.previousParams["title_width"] ?? 0)
                    let rows = tower.map { t in
                        itemRows(
                            input, encoder: encoder, titleWidth: titleWidth,
                            imageWidth: t.itemFeatureWidth - (encoder?.width ?? 0) - titleWidth)
                    }
                    let tuned = try DeepModelTrainer.fineTune(
                        deep, previous: previous, params: input.previousParams, train: data,
                        oldItemIndex: data.itemKeys.map { position[$0] }, itemFeatures: (rows?.first?.isEmpty ?? true) ? nil : rows,
                        epochs: epochs, threads: input.threads, progress: input.progress)
                    var params = tuned.params
                    params["epochs"] = input.previousParams["epochs"] ?? params["epochs"]
                    if titleWidth > 0 { params["title_width"] = Double(titleWidth) }
                    return (attach(tuned.model, encoder), params)
                }
                // Item features from the item collection's payloads. User features are left out:
                // serving scores a user from their history (the tower's id-and-feature dropout
                // trains that case), as it does a user the model has never seen.
                let fitted = FeatureEncoder.fitRows(input.itemRecords, keys: data.itemKeys)
                let imageWidth = input.itemImages.values.first?.count ?? 0
                let titleWidth = deep == .multDAE || deep == .multVAE ? 0 : input.itemTitles.values.first?.count ?? 0
                let rows = itemRows(input, encoder: fitted?.encoder, titleWidth: titleWidth, imageWidth: imageWidth)
                let none = data.withRows([[Int32]](repeating: [], count: data.userCount))
                let features = (rows.first?.isEmpty ?? true) ? nil : rows
                // With content features the tower also learns to place items from them alone
                // (DropoutNet), so items added later, with no interactions, are recommended well.
                let grid = DeepModelGrid(itemIDDropout: features == nil ? 0 : servingItemIDDropout)
                let trained = try DeepModelTrainer.train(
                    deep, split: HoldoutSplit(train: data, test: none), validationSeed: 1, itemFeatures: features, grid: grid,
                    threads: input.threads, progress: input.progress)
                var params = trained.params
                if titleWidth > 0 { params["title_width"] = Double(titleWidth) }
                return (attach(trained.model, fitted?.encoder), params)
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

    /// The two-tower's item feature rows for the training input's catalogue: the encoded stored
    /// features, then the image embedding (`imageWidth` values, zeros without an image).
    static func itemRows(_ input: TrainingInput, encoder: FeatureEncoder?, titleWidth: Int, imageWidth: Int) -> [[Float]] {
        var records: [Key: EntityRecord] = [:]
        for r in input.itemRecords { records[r.key] = r }
        return Recommender.featureRows(
            input.data.itemKeys, encoder: encoder, records: records, titles: input.itemTitles, titleWidth: titleWidth,
            images: input.itemImages, imageWidth: imageWidth)
    }

    /// A two-tower model with its item feature encoder attached (kept in its checkpoint, for
    /// refresh and cold-start items); other models unchanged.
    static func attach(_ model: any ItemScorer, _ encoder: FeatureEncoder?) -> any ItemScorer {
        guard var tower = model as? TwoTowerModel else { return model }
        tower.itemFeatureEncoder = encoder
        return tower
    }

    /// Whether a refresh of `deep` can start from `previous` rather than refit.
    static func canFineTune(_ deep: DeepModelKind, _ previous: any ItemScorer) -> Bool {
        switch (deep, previous) {
        case (.multDAE, let m as MultVAEModel): m.variant == .dae
        case (.multVAE, let m as MultVAEModel): m.variant == .vae
        case (.twoTower, let m as TwoTowerModel), (.twoTowerNoLogQ, let m as TwoTowerModel), (.twoTowerFull, let m as TwoTowerModel):
            m.params["user_features"] ?? 0 == 0 && m.params["user_id"] ?? 0 == 0
        default: false
        }
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
