import Foundation
import VecDBKernels
import VecDBNN

/// A trained sequence model: scores every item as the next one after a history in time order.
public final class SequenceModel: @unchecked Sendable {
    // @unchecked: the network caches its last forward pass, so scoring is serialised by `lock`.
    let network: SequenceNetwork
    private let lock = NSLock()
    public var kind: SequenceModelKind { network.kind }
    public var config: SequenceModelConfig { network.config }
    public var itemCount: Int { network.itemCount }

    init(network: SequenceNetwork) {
        self.network = network
    }

    /// Scores of every item for each history (its last `maxLength` items are read, in order):
    /// `histories.count × itemCount` values, row-major. An empty history scores from the
    /// model's bias alone: every item 0.
    /// - Throws: `invalidArgument` for an item index outside the catalogue.
    public func scores(_ histories: [[Int32]]) throws(VecDBError) -> [Float] {
        for h in histories {
            if let bad = h.first(where: { $0 < 0 || Int($0) >= itemCount }) {
                throw VecDBError(.invalidArgument, "\(kind.rawValue): item index \(bad) is outside 0..<\(itemCount)")
            }
        }
        let windows = histories.map { Array($0.suffix(config.maxLength)) }
        let present = windows.enumerated().filter { !$0.element.isEmpty }
        var out = [Float](repeating: 0, count: histories.count * itemCount)
        guard !present.isEmpty else { return out }
        lock.lock()
        defer { lock.unlock() }
        let h = try network.forward(present.map(\.element), training: false)
        let d = config.dimension
        var last = [Float](repeating: 0, count: present.count * d)
        var end = 0
        for (r, p) in present.enumerated() {
            end += p.element.count
            for j in 0..<d { last[r * d + j] = h.storage[(end - 1) * d + j] }
        }
        let s = try network.logits(try Tensor(shape: [present.count, d], storage: last))
        for (r, p) in present.enumerated() {
            for i in 0..<itemCount { out[p.offset * itemCount + i] = s.storage[r * itemCount + i] }
        }
        return out
    }
}

/// Trains GRU4Rec and SASRec on the training sequences of a ``NextItemSplit``.
public enum SequenceTrainer {
    /// The result: the model with its best weights, and how it got there.
    public struct Trained: Sendable {
        public var model: SequenceModel
        public var epochs: Int
        public var bestEpoch: Int
        public var validationNDCG10: Double
        public var trainSeconds: Double
        public var params: [String: Double]
    }

    /// The training windows of `sequences`: each cut from the end into windows of at most
    /// `maxLength + 1` items that overlap by one, so every item but a sequence's first is a
    /// target exactly once.
    static func windows(_ sequences: [[Int32]], maxLength: Int) -> [[Int32]] {
        var out: [[Int32]] = []
        for s in sequences where s.count >= 2 {
            var end = s.count
            while end >= 2 {
                let start = max(0, end - maxLength - 1)
                out.append(Array(s[start..<end]))
                if start == 0 { break }
                end = start + 1
            }
        }
        return out
    }

    /// Trains `kind`, choosing the epoch by validation NDCG@10 (full ranking, the split's
    /// validation items) and keeping that epoch's weights.
    /// - Parameters:
    ///   - features: content features, one row per item of the split (a title or image
    ///     embedding), all of one width; `config.contentWidth` columns of each item's vector
    ///     are then their learned projection. Nil for id embeddings alone.
    ///   - progress: receives (epoch, mean loss, validation NDCG@10 when evaluated).
    /// - Throws: `invalidArgument` for settings out of range, features of another count or
    ///   ragged, or not finite.
    public static func train(
        _ kind: SequenceModelKind, split: NextItemSplit, config: SequenceModelConfig = .init(), features: [[Float]]? = nil,
        progress: (Int, Double, Double?) -> Void = { _, _, _ in }
    ) throws(VecDBError) -> Trained {
        guard config.dimension > 0, config.maxLength > 0, config.batchSize > 0, config.maxEpochs >= 0 else {
            throw VecDBError(.invalidArgument, "sequence model: dimension, maxLength and batchSize must be positive")
        }
        guard kind != .sasrec || (config.heads > 0 && config.dimension % config.heads == 0) else {
            throw VecDBError(.invalidArgument, "sasrec: dimension \(config.dimension) is not a multiple of \(config.heads) heads")
        }
        let featureTable = try features.map { (rows: [[Float]]) throws(VecDBError) -> Tensor in
            try featureTensor(rows, itemCount: split.itemCount, config: config)
        }
        let start = Date()
        let network = SequenceNetwork(kind: kind, itemCount: split.itemCount, config: config, features: featureTable)
        let model = SequenceModel(network: network)
        let parameters = network.parameters
        let optimizer = Adam(learningRate: config.learningRate)
        let all = windows(split.train, maxLength: config.maxLength)
        var g = SeededGenerator(seed: config.seed &+ 7)
        let validation = split.cases(validation: true)
        var best = (ndcg: -1.0, epoch: 0, weights: parameters.map(\.value))
        var sinceBest = 0
        var epoch = 0
        while epoch < config.maxEpochs {
            epoch += 1
            var lossSum = 0.0
            var batches = 0
            let order = Batches.shuffled(Array(all.indices), generator: &g)
            for r in Batches.ranges(count: order.count, size: config.batchSize) {
                let batch = r.map { all[order[$0]] }
                let inputs = batch.map { Array($0.dropLast()) }
                let targets = batch.flatMap { $0.dropFirst() }
                let h = try network.forward(inputs, training: true)
                let logits = try network.logits(h)
                let (loss, dLogits) = try Loss.softmaxCrossEntropy(logits: logits, labels: targets)
                // logits = H Rᵀ: dH = dLogits R, dR = dLogitsᵀ H.
                let dH = try Tensor.matmul(dLogits, network.table)
                let dR = try Tensor.matmul(dLogits, h, transposeA: true)
                try network.backward(dH, tableGradient: dR)
                optimizer.step(parameters)
                for p in parameters { p.zeroGradient() }
                lossSum += Double(loss)
                batches += 1
            }
            let meanLoss = lossSum / Double(max(1, batches))
            guard meanLoss.isFinite else {
                throw VecDBError(.invalidArgument, "\(kind.rawValue): the training loss diverged at epoch \(epoch)")
            }
            var ndcg: Double?
            if epoch % config.evaluateEvery == 0 || epoch == config.maxEpochs {
                let m = try NextItemEvaluator.evaluate(validation, itemCount: split.itemCount, negatives: 0) {
                    (block: [NextItemCase]) throws(VecDBError) -> [Float] in try model.scores(block.map(\.history))
                }
                ndcg = m.ndcg10.mean
                if m.ndcg10.mean > best.ndcg {
                    best = (m.ndcg10.mean, epoch, parameters.map(\.value))
                    sinceBest = 0
                } else {
                    sinceBest += 1
                }
            }
            progress(epoch, meanLoss, ndcg)
            if sinceBest >= config.patience { break }
        }
        for (p, w) in zip(parameters, best.weights) { p.value = w }
        var params: [String: Double] = [
            "dimension": Double(config.dimension), "max_length": Double(config.maxLength), "dropout": Double(config.dropout),
            "learning_rate": Double(config.learningRate), "epochs": Double(best.epoch),
            "validation_ndcg_10": max(0, best.ndcg),
        ]
        if let featureTable {
            params["features"] = Double(featureTable.shape[1])
            params["content_width"] = Double(config.contentWidth)
        }
        if kind == .sasrec {
            params["blocks"] = Double(config.blocks)
            params["heads"] = Double(config.heads)
        }
        return Trained(
            model: model, epochs: epoch, bestEpoch: best.epoch, validationNDCG10: max(0, best.ndcg),
            trainSeconds: Date().timeIntervalSince(start), params: params)
    }

    /// The features as a `[itemCount, f]` tensor, checked.
    static func featureTensor(_ rows: [[Float]], itemCount: Int, config: SequenceModelConfig) throws(VecDBError) -> Tensor {
        guard rows.count == itemCount, let width = rows.first?.count, width > 0 else {
            throw VecDBError(.invalidArgument, "sequence model: \(rows.count) feature rows for \(itemCount) items")
        }
        guard config.contentWidth > 0, config.contentWidth < config.dimension else {
            throw VecDBError(
                .invalidArgument, "sequence model: contentWidth \(config.contentWidth) must lie in 1..<\(config.dimension) (the dimension)")
        }
        var flat: [Float] = []
        flat.reserveCapacity(itemCount * width)
        for (i, r) in rows.enumerated() {
            guard r.count == width else {
                throw VecDBError(.invalidArgument, "sequence model: item \(i) has \(r.count) features, the first has \(width)")
            }
            guard r.allSatisfy(\.isFinite) else {
                throw VecDBError(.invalidArgument, "sequence model: item \(i) has a feature that is NaN or infinite")
            }
            flat += r
        }
        return try Tensor(shape: [itemCount, width], storage: flat)
    }
}
