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
    ///   - itemFeatures: content features per item index (the same count for every item), or nil.
    ///   - epochs: passes over the pairs.
    ///   - configuration: the hyper-parameters.
    ///   - afterEpoch: called after each epoch with its number, the mean batch loss and the model;
    ///     false stops training.
    /// - Returns: the model after the last epoch run.
    /// - Throws: ``VecDBError/Code/invalidArgument`` for an empty matrix, a bad configuration or
    ///   features of the wrong count.
    public static func fit(
        train: InteractionMatrix, itemFeatures: [[Float]]? = nil, epochs: Int, configuration c: TwoTowerConfiguration = .init(),
        afterEpoch: (Int, Float, TwoTowerModel) throws(VecDBError) -> Bool = { _, _, _ in true }
    ) throws(VecDBError) -> TwoTowerModel {
        guard train.pairCount > 1 else { throw VecDBError(.invalidArgument, "two-tower: the training matrix has no pairs") }
        guard c.embeddingWidth > 0, c.hidden > 0, c.output > 0, c.batchSize > 1, c.temperature > 0, epochs >= 0 else {
            throw VecDBError(.invalidArgument, "two-tower: widths, batch size (> 1) and temperature must be positive")
        }
        let net = try Network(items: train.itemCount, features: itemFeatures, configuration: c)
        let optimizer = Adam.adamW(learningRate: c.learningRate, weightDecay: c.weightDecay)
        var rng = SeededGenerator(seed: c.seed &+ 29)
        var pairs: [(user: Int32, item: Int32)] = []
        pairs.reserveCapacity(train.pairCount)
        // A user with one item has no history to predict it from: their pair is left out.
        for u in 0..<train.userCount where train.items(ofUser: u).count > 1 {
            for i in train.items(ofUser: u) { pairs.append((Int32(u), i)) }
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
                lossSum += try net.lossAndGradients(histories: histories, positives: positives, logQ: logQ)
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

    /// The towers being trained. Item tables are dense parameters: catalogues here are small.
    final class Network {
        let configuration: TwoTowerConfiguration
        let items: Int
        let features: [[Float]]?
        let featureWidth: Int
        let historyTable: Parameter
        let itemTable: Parameter
        let user1: Linear
        let user2: Linear
        let item1: Linear
        let item2: Linear
        let userReLU = Activation(.relu, name: "user.relu")
        let itemReLU = Activation(.relu, name: "item.relu")
        let userNorm = L2Normalize(name: "user.l2")
        let itemNorm = L2Normalize(name: "item.l2")

        init(items: Int, features: [[Float]]?, configuration c: TwoTowerConfiguration) throws(VecDBError) {
            if let features {
                guard features.count == items, let w = features.first?.count, features.allSatisfy({ $0.count == w }) else {
                    throw VecDBError(.invalidArgument, "two-tower: item features need one row of equal width per item (\(items) items)")
                }
            }
            var g = SeededGenerator(seed: c.seed)
            configuration = c
            self.items = items
            self.features = features
            featureWidth = features?.first?.count ?? 0
            let d = c.embeddingWidth
            historyTable = Parameter(name: "user.history", value: .normal([items, d], std: 0.1, generator: &g))
            itemTable = Parameter(name: "item.id", value: .normal([items, d], std: 0.1, generator: &g))
            user1 = Linear(d, c.hidden, name: "user1", generator: &g)
            user2 = Linear(c.hidden, c.output, name: "user2", generator: &g)
            item1 = Linear(d + featureWidth, c.hidden, name: "item1", generator: &g)
            item2 = Linear(c.hidden, c.output, name: "item2", generator: &g)
        }

        var parameters: [Parameter] {
            [historyTable, itemTable] + [user1, user2, item1, item2].flatMap(\.parameters)
        }

        func zeroGradients() { for p in parameters { p.zeroGradient() } }

        /// The item tower's input rows for `ids`: id embedding then features.
        func itemInput(_ ids: [Int32]) -> Tensor {
            let d = configuration.embeddingWidth
            let w = d + featureWidth
            var x = Tensor(zeros: [ids.count, w])
            itemTable.value.storage.withUnsafeBufferPointer { table in
                x.storage.withUnsafeMutableBufferPointer { out in
                    for (r, i) in ids.enumerated() {
                        let o = Int(i) * d
                        for j in 0..<d { out[r * w + j] = table[o + j] }
                        if let f = features?[Int(i)] { for j in 0..<featureWidth { out[r * w + d + j] = f[j] } }
                    }
                }
            }
            return x
        }

        func itemTower(_ ids: [Int32], training: Bool) throws(VecDBError) -> Tensor {
            try itemNorm.forward(
                try item2.forward(
                    try itemReLU.forward(try item1.forward(itemInput(ids), training: training), training: training),
                    training: training), training: training)
        }

        func itemTowerBackward(_ ids: [Int32], _ g: Tensor) throws(VecDBError) {
            let gx = try item1.backward(try itemReLU.backward(try item2.backward(try itemNorm.backward(g))))
            let d = configuration.embeddingWidth
            let w = d + featureWidth
            gx.storage.withUnsafeBufferPointer { g in
                itemTable.gradient.storage.withUnsafeMutableBufferPointer { table in
                    for (r, i) in ids.enumerated() {
                        let o = Int(i) * d
                        for j in 0..<d { table[o + j] += g[r * w + j] }
                    }
                }
            }
        }

        /// One forward and backward pass; gradients accumulate in the parameters.
        ///
        /// - Parameters:
        ///   - histories: per pair, the history items pooled by the user tower.
        ///   - positives: per pair, the positive item.
        ///   - logQ: per pair, log q of the positive (in-batch with correction), or nil.
        /// - Returns: the loss.
        func lossAndGradients(histories: [[Int32]], positives: [Int32], logQ: [Float]?) throws(VecDBError) -> Float {
            let b = positives.count
            let d = configuration.embeddingWidth
            var pooled = Tensor(zeros: [b, d])
            historyTable.value.storage.withUnsafeBufferPointer { table in
                pooled.storage.withUnsafeMutableBufferPointer { out in
                    for (r, h) in histories.enumerated() where !h.isEmpty {
                        let scale = 1 / Float(h.count)
                        for i in h {
                            let o = Int(i) * d
                            for j in 0..<d { out[r * d + j] += table[o + j] * scale }
                        }
                    }
                }
            }
            let q = try userNorm.forward(
                try user2.forward(try userReLU.forward(try user1.forward(pooled, training: true), training: true), training: true),
                training: true)
            let loss: Float
            let gq: Tensor
            if configuration.softmax == .full {
                let all = (0..<items).map { Int32($0) }
                let v = try itemTower(all, training: true)
                var logits = try Tensor.matmul(q, v, transposeB: true)
                logits.scale(by: 1 / configuration.temperature)
                var (l, g) = try Loss.softmaxCrossEntropy(logits: logits, labels: positives)
                g.scale(by: 1 / configuration.temperature)
                loss = l
                gq = try Tensor.matmul(g, v)
                try itemTowerBackward(all, try Tensor.matmul(g, q, transposeA: true))
            } else {
                let v = try itemTower(positives, training: true)
                let r = try Loss.inBatchSampledSoftmax(
                    queries: q, items: v, logQ: logQ ?? [Float](repeating: 0, count: b), temperature: configuration.temperature)
                loss = r.loss
                gq = r.queryGradient
                try itemTowerBackward(positives, r.itemGradient)
            }
            let gPooled = try user1.backward(try userReLU.backward(try user2.backward(try userNorm.backward(gq))))
            gPooled.storage.withUnsafeBufferPointer { g in
                historyTable.gradient.storage.withUnsafeMutableBufferPointer { table in
                    for (r, h) in histories.enumerated() where !h.isEmpty {
                        let scale = 1 / Float(h.count)
                        for i in h {
                            let o = Int(i) * d
                            for j in 0..<d { table[o + j] += g[r * d + j] * scale }
                        }
                    }
                }
            }
            return loss
        }

        /// The current weights as an inference model (the item tower evaluated on every item).
        func snapshot() throws(VecDBError) -> TwoTowerModel {
            let v = try itemTower((0..<items).map { Int32($0) }, training: false)
            let c = configuration
            return try TwoTowerModel(
                itemCount: items, embeddingWidth: c.embeddingWidth, historyEmbedding: historyTable.value.storage,
                user1: DenseLayerWeights(user1, activation: .relu), user2: DenseLayerWeights(user2, activation: .identity),
                itemVectors: v.storage,
                params: [
                    "temperature": Double("\(c.temperature)") ?? 0, "embedding": Double(c.embeddingWidth), "hidden": Double(c.hidden),
                    "output": Double(c.output), "batch": Double(c.batchSize), "features": Double(featureWidth),
                ])
        }
    }
}
