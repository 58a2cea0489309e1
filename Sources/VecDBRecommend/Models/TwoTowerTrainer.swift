import VecDBKernels
import VecDBNN

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The hyper-parameters of ``TwoTowerModel`` training.
public struct TwoTowerConfiguration: Sendable, Equatable {
    /// How the softmax over items is formed.
    public enum Softmax: String, Sendable, CaseIterable {
        /// The other positives of the batch are the negatives, logits corrected by −log q (Yi et al.).
        case inBatchLogQ = "in-batch-logq"
        /// The other positives of the batch are the negatives, no correction.
        case inBatch = "in-batch"
        /// Every item of the catalogue is a negative.
        case full
    }

    /// The softmax.
    public var softmax = Softmax.inBatchLogQ
    /// The width of the id and history embeddings.
    public var embeddingWidth = 64
    /// The towers' hidden width.
    public var hidden = 128
    /// The width of the output vectors.
    public var output = 64
    /// The softmax temperature applied to cosine similarities.
    public var temperature: Float = 0.05
    /// (user, positive item) pairs per batch.
    public var batchSize = 256
    /// At most this many history items (drawn at random) are pooled per training pair.
    public var maxHistory = 50
    /// Adam's learning rate.
    public var learningRate: Float = 2e-3
    /// Decoupled (AdamW) weight decay.
    public var weightDecay: Float = 1e-4
    /// Whether the user tower reads a user-id embedding. Off by default: on ML-100K the id
    /// lowered validation NDCG@10 (0.236 with it, 0.242 without, user features on).
    public var userID = false
    /// Whether the user tower reads the user features given to the trainer.
    public var userFeatures = true
    /// The share of training pairs whose user-id embedding and user features are zeroed, so the
    /// tower also scores users from their history alone (unseen users, fold-in).
    public var userIDDropout: Float = 0.5
    /// The share of items whose id embedding is zeroed in each training batch (DropoutNet,
    /// Volkovs et al. 2017), so the item tower learns to place an item from its content alone:
    /// an item with no interactions gets a useful vector. 0 turns it off.
    public var itemIDDropout: Float = 0
    /// Batch normalisation after each tower's first layer. Off by default: on ML-100K it
    /// lowered validation NDCG@10 (0.242 with it, 0.247 without).
    public var batchNorm = false
    /// Dropout after each tower's hidden activation, in training.
    public var dropout: Float = 0.1
    /// The most epochs tried on the validation split.
    public var maxEpochs = 40
    /// Validation NDCG@10 is measured every this many epochs.
    public var evaluateEvery = 1
    /// Selection stops after this many measurements without a better NDCG@10.
    public var patience = 3
    /// The seed of initialisation and sampling.
    public var seed: UInt64 = 1

    /// The defaults.
    public init() {}
}

/// Trains ``TwoTowerModel``s on (user, positive item) pairs drawn from the training matrix.
public enum TwoTowerTrainer {
    /// Fits a model on `train` for a fixed number of epochs (one epoch: every pair once).
    ///
    /// - Parameters:
    ///   - train: the training matrix.
    ///   - itemFeatures: content features per item index (equal widths), or nil.
    ///   - userFeatures: features per user index (equal widths), or nil.
    ///   - epochs: passes over the pairs.
    ///   - configuration: the hyper-parameters.
    ///   - afterEpoch: called after each epoch with its number, the mean batch loss and the model;
    ///     false stops training.
    /// - Returns: the model after the last epoch run.
    /// - Throws: ``VecDBError/Code/invalidArgument`` for an empty matrix, a bad configuration or
    ///   features of the wrong count.
    public static func fit(
        train: InteractionMatrix, itemFeatures: [[Float]]? = nil, userFeatures: [[Float]]? = nil, epochs: Int,
        configuration c: TwoTowerConfiguration = .init(),
        afterEpoch: (Int, Float, TwoTowerModel) throws(VecDBError) -> Bool = { _, _, _ in true }
    ) throws(VecDBError) -> TwoTowerModel {
        try validate(c, epochs: epochs)
        let net = try Network(
            items: train.itemCount, users: train.userCount, itemFeatures: itemFeatures, userFeatures: c.userFeatures ? userFeatures : nil,
            configuration: c)
        return try run(net, train: train, epochs: epochs, afterEpoch: afterEpoch)
    }

    /// Continues training `previous` on new data (a refresh): the network starts from
    /// `previous`'s weights, with each old item's and user's rows copied to its new index and
    /// new items and users freshly initialised, then trains `epochs` more epochs.
    ///
    /// - Parameters:
    ///   - previous: the model to start from.
    ///   - train: the new training matrix.
    ///   - itemFeatures: features per new item index, of `previous`'s width, or nil when it reads none.
    ///   - userFeatures: features per new user index, of `previous`'s width, or nil when it reads none.
    ///   - oldItemIndex: per new item index, its index in `previous`, or nil for a new item.
    ///   - oldUserIndex: per new user index, its index in `previous`, or nil for a new user.
    ///   - epochs: further passes over the pairs (0 only carries the weights over).
    ///   - configuration: the hyper-parameters; the widths and tower options must be `previous`'s.
    ///   - afterEpoch: as in ``fit(train:itemFeatures:userFeatures:epochs:configuration:afterEpoch:)``.
    /// - Returns: the fine-tuned model; an old user stays known (id and features used) even without
    ///   new pairs.
    /// - Throws: ``VecDBError/Code/invalidArgument`` for maps or features that do not fit, or a
    ///   configuration whose shapes differ from `previous`.
    public static func fineTune(
        previous: TwoTowerModel, train: InteractionMatrix, itemFeatures: [[Float]]? = nil, userFeatures: [[Float]]? = nil,
        oldItemIndex: [Int?], oldUserIndex: [Int?], epochs: Int, configuration c: TwoTowerConfiguration = .init(),
        afterEpoch: (Int, Float, TwoTowerModel) throws(VecDBError) -> Bool = { _, _, _ in true }
    ) throws(VecDBError) -> TwoTowerModel {
        try validate(c, epochs: epochs)
        guard oldItemIndex.count == train.itemCount, oldUserIndex.count == train.userCount,
            oldItemIndex.allSatisfy({ $0 == nil || (0..<previous.itemCount).contains($0 ?? -1) }),
            oldUserIndex.allSatisfy({ $0 == nil || (0..<previous.userCount).contains($0 ?? -1) })
        else {
            throw VecDBError(
                .invalidArgument,
                "two-tower fine-tune: the index maps need one entry per item (\(train.itemCount)) and user (\(train.userCount)), "
                    + "each nil or inside the previous model's \(previous.itemCount) items and \(previous.userCount) users")
        }
        let net = try Network(
            items: train.itemCount, users: train.userCount, itemFeatures: itemFeatures,
            userFeatures: previous.userFeatureWidth > 0 ? userFeatures : nil, configuration: c)
        try net.load(previous, oldItemIndex: oldItemIndex, oldUserIndex: oldUserIndex)
        return try run(net, train: train, epochs: epochs, afterEpoch: afterEpoch)
    }

    static func validate(_ c: TwoTowerConfiguration, epochs: Int) throws(VecDBError) {
        guard c.embeddingWidth > 0, c.hidden > 0, c.output > 0, c.batchSize > 1, c.temperature > 0, epochs >= 0 else {
            throw VecDBError(.invalidArgument, "two-tower: widths, batch size (> 1) and temperature must be positive")
        }
        guard (0...1).contains(c.userIDDropout), (0...1).contains(c.itemIDDropout), (0..<1).contains(c.dropout) else {
            throw VecDBError(.invalidArgument, "two-tower: the id dropout must be in [0, 1] and the dropout in [0, 1)")
        }
    }

    /// Trains `net` for `epochs` epochs and returns its snapshot.
    static func run(
        _ net: Network, train: InteractionMatrix, epochs: Int,
        afterEpoch: (Int, Float, TwoTowerModel) throws(VecDBError) -> Bool = { _, _, _ in true }
    ) throws(VecDBError) -> TwoTowerModel {
        let c = net.configuration
        guard train.pairCount > 1 else { throw VecDBError(.invalidArgument, "two-tower: the training matrix has no pairs") }
        let optimizer = Adam.adamW(learningRate: c.learningRate, weightDecay: c.weightDecay)
        var rng = SeededGenerator(seed: c.seed &+ 29)
        var pairs: [(user: Int32, item: Int32)] = []
        pairs.reserveCapacity(train.pairCount)
        // A user with one item has no history to predict it from: their pair is left out.
        for u in 0..<train.userCount where train.items(ofUser: u).count > 1 {
            if epochs > 0 { net.knownUsers[u] = true }
            for i in train.items(ofUser: u) {
                pairs.append((Int32(u), i))
                if epochs > 0 { net.knownItems[Int(i)] = true }
            }
        }
        guard pairs.count > 1 else { throw VecDBError(.invalidArgument, "two-tower: no user has two or more items") }
        var frequency = StreamingFrequencyEstimator(
            itemCount: train.itemCount, initialGap: Float(train.itemCount) / Float(c.batchSize))
        var step = 0
        for epoch in 0..<epochs {
            pairs.shuffle(using: &rng)
            var start = 0
            var lossSum: Float = 0
            var batches = 0
            while start + 1 < pairs.count {
                let chunk = pairs[start..<min(start + c.batchSize, pairs.count)]
                let positives = chunk.map(\.item)
                frequency.observe(positives, step: step)
                let logQ = c.softmax == .inBatchLogQ ? positives.map { logf(frequency.probability($0)) } : nil
                let histories = chunk.map { sampleHistory(train.items(ofUser: Int($0.user)), excluding: $0.item, c.maxHistory, &rng) }
                let users = chunk.map { rng.nextUnitFloat() < c.userIDDropout ? nil : $0.user }
                let itemDropped = c.itemIDDropout > 0 ? (0..<train.itemCount).map { _ in rng.nextUnitFloat() < c.itemIDDropout } : nil
                lossSum += try net.lossAndGradients(
                    users: users, histories: histories, positives: positives, logQ: logQ, itemDropped: itemDropped)
                batches += 1
                optimizer.step(net.parameters)
                net.zeroGradients()
                start += c.batchSize
                step += 1
            }
            if try !afterEpoch(epoch + 1, lossSum / Float(max(batches, 1)), try net.snapshot()) { break }
        }
        return try net.snapshot()
    }

    /// Up to `limit` of `row`'s items other than `positive`, drawn without replacement.
    static func sampleHistory(_ row: ArraySlice<Int32>, excluding positive: Int32, _ limit: Int, _ rng: inout SeededGenerator)
        -> [Int32]
    {
        let others = row.count - (row.contains(positive) ? 1 : 0)
        guard others > limit else { return row.filter { $0 != positive } }
        // Rejection-free draw of `limit` distinct positions among the row (positive skipped).
        var items = Array(row)
        var out: [Int32] = []
        out.reserveCapacity(limit)
        var n = items.count
        while out.count < limit && n > 0 {
            let k = Int(rng.next() % UInt64(n))
            let v = items[k]
            items.swapAt(k, n - 1)
            n -= 1
            if v != positive { out.append(v) }
        }
        return out
    }
}
