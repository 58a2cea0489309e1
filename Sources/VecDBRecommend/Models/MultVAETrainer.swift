import VecDBKernels
import VecDBNN

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The hyper-parameters of Mult-DAE and Mult-VAE, the defaults those of Liang et al. (2018).
public struct MultVAEConfiguration: Sendable, Equatable {
    /// The hidden layer's width (600).
    public var hidden = 600
    /// The bottleneck's width (200).
    public var latent = 200
    /// Dropout on the L2-normalised input (0.5).
    public var inputDropout: Float = 0.5
    /// Adam's learning rate (1e-3).
    public var learningRate: Float = 1e-3
    /// L2 weight decay added to the gradient.
    public var weightDecay: Float = 1e-5
    /// Users per batch.
    public var batchSize = 100
    /// The cap of the VAE's KL weight β (0.2).
    public var betaCap: Float = 0.2
    /// Epochs over which β rises linearly from 0 to ``betaCap``.
    public var annealEpochs = 20
    /// The most epochs tried on the validation split.
    public var maxEpochs = 120
    /// Validation NDCG@10 is measured every this many epochs.
    public var evaluateEvery = 2
    /// Selection stops after this many measurements without a better NDCG@10.
    public var patience = 6
    /// The seed of initialisation, batching, dropout and the VAE's noise.
    public var seed: UInt64 = 1

    /// The defaults.
    public init() {}
}

/// Trains ``MultVAEModel``s with Adam on the multinomial log-likelihood (plus β·KL for the VAE).
public enum MultVAETrainer {
    /// Fits a model on `train` for a fixed number of epochs.
    ///
    /// - Parameters:
    ///   - variant: Mult-DAE or Mult-VAE.
    ///   - train: the training matrix; its users are the batches' rows.
    ///   - epochs: passes over the users.
    ///   - configuration: the hyper-parameters.
    ///   - afterEpoch: called after each epoch with its number (from 1), the mean batch loss and
    ///     the model so far; returning false stops training.
    /// - Returns: the model after the last epoch run.
    /// - Throws: ``VecDBError/Code/invalidArgument`` for an empty matrix or a bad configuration.
    public static func fit(
        _ variant: MultVAEModel.Variant, train: InteractionMatrix, epochs: Int, configuration c: MultVAEConfiguration = .init(),
        afterEpoch: (Int, Float, MultVAEModel) throws(VecDBError) -> Bool = { _, _, _ in true }
    ) throws(VecDBError) -> MultVAEModel {
        try validate(variant, train, epochs, c)
        let net = Network(variant, items: train.itemCount, configuration: c)
        return try run(net, train: train, epochs: epochs, configuration: c, annealed: false, afterEpoch: afterEpoch)
    }

    /// Continues training `previous` on `train`, whose items may be a superset of, or differ
    /// from, those `previous` was trained on: each item's weights start from its old row, new
    /// items' rows start as in a fresh model. β starts at its cap (the previous fit annealed it).
    ///
    /// With `epochs` 0 the result scores every old item exactly as `previous` does, for histories
    /// of old items.
    ///
    /// - Parameters:
    ///   - previous: the model to start from; its variant and layer sizes are kept.
    ///   - train: the current training matrix.
    ///   - oldItemIndex: per item index of `train`, its index in `previous`, or nil for a new item.
    ///   - epochs: passes over the users.
    ///   - configuration: the hyper-parameters other than the layer sizes.
    ///   - afterEpoch: as in ``fit(_:train:epochs:configuration:afterEpoch:)``.
    /// - Returns: the fine-tuned model.
    /// - Throws: ``VecDBError/Code/invalidArgument`` for a map of the wrong length or an old
    ///   index out of range, or a bad configuration.
    public static func fineTune(
        _ previous: MultVAEModel, train: InteractionMatrix, oldItemIndex: [Int?], epochs: Int,
        configuration: MultVAEConfiguration = .init(),
        afterEpoch: (Int, Float, MultVAEModel) throws(VecDBError) -> Bool = { _, _, _ in true }
    ) throws(VecDBError) -> MultVAEModel {
        var c = configuration
        c.hidden = previous.enc1.outputs
        c.latent = previous.latentDimension
        try validate(previous.variant, train, epochs, c)
        guard oldItemIndex.count == train.itemCount, oldItemIndex.allSatisfy({ $0.map { $0 >= 0 && $0 < previous.itemCount } ?? true })
        else {
            throw VecDBError(
                .invalidArgument,
                "\(previous.variant.rawValue): the item map must give, for each of the \(train.itemCount) items, an index "
                    + "in 0..<\(previous.itemCount) or none")
        }
        let net = Network(previous.variant, items: train.itemCount, configuration: c)
        net.load(previous, oldItemIndex: oldItemIndex)
        return try run(net, train: train, epochs: epochs, configuration: c, annealed: true, afterEpoch: afterEpoch)
    }

    static func validate(_ variant: MultVAEModel.Variant, _ train: InteractionMatrix, _ epochs: Int, _ c: MultVAEConfiguration)
        throws(VecDBError)
    {
        guard train.userCount > 0, train.itemCount > 0 else {
            throw VecDBError(.invalidArgument, "\(variant.rawValue): the training matrix is empty")
        }
        guard c.hidden > 0, c.latent > 0, c.batchSize > 0, epochs >= 0, c.learningRate > 0 else {
            throw VecDBError(
                .invalidArgument,
                "\(variant.rawValue): hidden, latent, batch size and learning rate must be positive and epochs non-negative")
        }
    }

    static func run(
        _ net: Network, train: InteractionMatrix, epochs: Int, configuration c: MultVAEConfiguration, annealed: Bool,
        afterEpoch: (Int, Float, MultVAEModel) throws(VecDBError) -> Bool
    ) throws(VecDBError) -> MultVAEModel {
        let optimizer = Adam(learningRate: c.learningRate, weightDecay: c.weightDecay)
        var rng = SeededGenerator(seed: c.seed &+ 17)
        var users = Array(0..<train.userCount)
        let stepsPerEpoch = (users.count + c.batchSize - 1) / c.batchSize
        var step = 0
        for epoch in 0..<epochs {
            users.shuffle(using: &rng)
            var start = 0
            var lossSum: Float = 0
            var batches = 0
            while start < users.count {
                let batch = users[start..<min(start + c.batchSize, users.count)]
                let progress = annealed ? 1 : Float(step) / Float(max(stepsPerEpoch * c.annealEpochs, 1))
                lossSum += try net.step(batch, train, beta: c.betaCap * min(progress, 1), rng: &rng)
                optimizer.step(net.parameters)
                net.zeroGradients()
                start += c.batchSize
                step += 1
                batches += 1
            }
            if try !afterEpoch(epoch + 1, lossSum / Float(max(batches, 1)), try net.snapshot()) { break }
        }
        return try net.snapshot()
    }

    /// The layers being trained.
    final class Network {
        let variant: MultVAEModel.Variant
        let items: Int
        let latent: Int
        let enc1: Linear
        let enc2: Linear
        let dec1: Linear
        let dec2: Linear
        let act1 = Activation(.tanh, name: "enc1.tanh")
        let act2 = Activation(.tanh, name: "enc2.tanh")
        let act3 = Activation(.tanh, name: "dec1.tanh")
        let dropout: Dropout

        init(_ variant: MultVAEModel.Variant, items: Int, configuration c: MultVAEConfiguration) {
            var g = SeededGenerator(seed: c.seed)
            self.variant = variant
            self.items = items
            latent = c.latent
            enc1 = Linear(items, c.hidden, name: "enc1", generator: &g)
            enc2 = Linear(c.hidden, variant == .vae ? 2 * c.latent : c.latent, name: "enc2", generator: &g)
            dec1 = Linear(c.latent, c.hidden, name: "dec1", generator: &g)
            dec2 = Linear(c.hidden, items, name: "dec2", generator: &g)
            dropout = Dropout(rate: c.inputDropout, seed: c.seed &+ 3, name: "input.dropout")
            // Xavier-style initial scale for tanh layers: He-uniform is too wide for them.
            for l in [enc1, enc2, dec1, dec2] { l.weight.value.scale(by: (0.5 as Float).squareRoot()) }
        }

        /// Copies `previous`'s weights, item rows and columns moved to their new indices.
        func load(_ previous: MultVAEModel, oldItemIndex: [Int?]) {
            let h = enc1.outputs
            let oldItems = previous.itemCount
            // A new item starts as the least popular old one: its bias is the smallest old bias.
            let newBias = previous.dec2.bias.min() ?? 0
            for (n, o) in oldItemIndex.enumerated() where o == nil { dec2.bias?.value.storage[n] = newBias }
            for (n, o) in oldItemIndex.enumerated() {
                guard let o else { continue }
                // enc1 is [hidden, items]: column n from old column o. dec2 is [items, hidden]: row n from row o.
                for r in 0..<h { enc1.weight.value.storage[r * items + n] = previous.enc1.weight[r * oldItems + o] }
                for r in 0..<h { dec2.weight.value.storage[n * h + r] = previous.dec2.weight[o * h + r] }
                dec2.bias?.value.storage[n] = previous.dec2.bias[o]
            }
            enc1.bias?.value.storage = previous.enc1.bias
            for (layer, weights) in [(enc2, previous.enc2), (dec1, previous.dec1)] {
                layer.weight.value.storage = weights.weight
                layer.bias?.value.storage = weights.bias
            }
        }

        var parameters: [Parameter] { [enc1, enc2, dec1, dec2].flatMap(\.parameters) }

        func zeroGradients() { for p in parameters { p.zeroGradient() } }

        /// One forward and backward pass over `batch` users; gradients accumulate in the layers.
        @discardableResult
        func step(_ batch: ArraySlice<Int>, _ train: InteractionMatrix, beta: Float, rng: inout SeededGenerator) throws(VecDBError)
            -> Float
        {
            let b = batch.count
            var input = Tensor(zeros: [b, items])
            var target = Tensor(zeros: [b, items])
            for (r, u) in batch.enumerated() {
                let row = train.items(ofUser: u)
                let v = row.isEmpty ? 0 : 1 / Float(row.count).squareRoot()
                for i in row {
                    input.storage[r * items + Int(i)] = v
                    target.storage[r * items + Int(i)] = 1
                }
            }
            let x = try dropout.forward(input, training: true)
            let h1 = try act1.forward(try enc1.forward(x, training: true), training: true)
            let e = try enc2.forward(h1, training: true)
            var z: Tensor
            var eps: [Float] = []
            var std: [Float] = []
            var mean = Tensor(zeros: [b, latent])
            var logVar = Tensor(zeros: [b, latent])
            switch variant {
            case .dae:
                z = try act2.forward(e, training: true)
            case .vae:
                z = Tensor(zeros: [b, latent])
                eps = [Float](repeating: 0, count: b * latent)
                std = eps
                for r in 0..<b {
                    for j in 0..<latent {
                        let k = r * latent + j
                        mean.storage[k] = e.storage[r * 2 * latent + j]
                        logVar.storage[k] = e.storage[r * 2 * latent + latent + j]
                        std[k] = expf(0.5 * logVar.storage[k])
                        eps[k] = rng.nextGaussian()
                        z.storage[k] = mean.storage[k] + eps[k] * std[k]
                    }
                }
            }
            let h2 = try act3.forward(try dec1.forward(z, training: true), training: true)
            let logits = try dec2.forward(h2, training: true)
            let (nll, gLogits) = try Loss.multinomialLogLikelihood(logits: logits, targets: target)
            let gz = try dec1.backward(try act3.backward(try dec2.backward(gLogits)))
            var loss = nll
            let ge: Tensor
            switch variant {
            case .dae:
                ge = try act2.backward(gz)
            case .vae:
                let kl = try Loss.gaussianKLDivergence(mean: mean, logVariance: logVar)
                loss += beta * kl.loss
                var g = Tensor(zeros: [b, 2 * latent])
                for r in 0..<b {
                    for j in 0..<latent {
                        let k = r * latent + j
                        g.storage[r * 2 * latent + j] = gz.storage[k] + beta * kl.meanGradient.storage[k]
                        g.storage[r * 2 * latent + latent + j] =
                            gz.storage[k] * eps[k] * 0.5 * std[k] + beta * kl.logVarianceGradient.storage[k]
                    }
                }
                ge = g
            }
            _ = try enc1.backward(try act1.backward(try enc2.backward(ge)))
            return loss
        }

        /// The current weights as an inference model.
        func snapshot() throws(VecDBError) -> MultVAEModel {
            try MultVAEModel(
                variant: variant, enc1: DenseLayerWeights(enc1, activation: .tanh),
                enc2: DenseLayerWeights(enc2, activation: variant == .dae ? .tanh : .identity),
                dec1: DenseLayerWeights(dec1, activation: .tanh), dec2: DenseLayerWeights(dec2, activation: .identity))
        }
    }
}
