import VecDBKernels

/// Batch normalisation over the channel axis of `[batch, channels]` or `[batch, channels, h, w]`.
///
/// Training normalises each channel with the batch's mean and (biased) variance and updates the
/// running statistics, `running = (1 − momentum) · running + momentum · batch` (the running
/// variance takes the unbiased batch variance). Evaluation normalises with the running
/// statistics. Then `y = γ · x̂ + β`.
public final class BatchNorm: Layer {
    public let name: String
    public let channels: Int
    public let momentum: Float
    public let epsilon: Float
    public let gamma: Parameter
    public let beta: Parameter
    public let runningMean: Parameter
    public let runningVariance: Parameter
    var cache: (xhat: [Float], invStd: [Float], shape: [Int], training: Bool)?

    public init(channels: Int, momentum: Float = 0.1, epsilon: Float = 1e-5, name: String = "batchnorm") {
        self.name = name
        self.channels = channels
        self.momentum = momentum
        self.epsilon = epsilon
        gamma = Parameter(name: name + ".weight", value: Tensor(repeating: 1, shape: [channels]))
        beta = Parameter(name: name + ".bias", value: Tensor(zeros: [channels]))
        runningMean = Parameter(name: name + ".running_mean", value: Tensor(zeros: [channels]), trainable: false)
        runningVariance = Parameter(name: name + ".running_var", value: Tensor(repeating: 1, shape: [channels]), trainable: false)
    }

    public var parameters: [Parameter] { [gamma, beta] }
    public var buffers: [Parameter] { [runningMean, runningVariance] }

    public func forward(_ x: Tensor, training: Bool) throws(VecDBError) -> Tensor {
        guard x.rank == 2 || x.rank == 4, x.shape[1] == channels else {
            throw VecDBError(
                .dimensionMismatch,
                "batchnorm '\(name)' expects input [*, \(channels)] or [*, \(channels), *, *], got \(Tensor.describe(x.shape))")
        }
        let n = x.shape[0]
        let s = x.rank == 4 ? x.shape[2] * x.shape[3] : 1
        let c = channels
        let m = n * s
        guard !training || m > 1 else {
            throw VecDBError(
                .invalidArgument,
                "batchnorm '\(name)' needs more than one value per channel in training, got input \(Tensor.describe(x.shape))")
        }
        var xhat = [Float](repeating: 0, count: x.count)
        var invStd = [Float](repeating: 0, count: c)
        var y = Tensor(zeros: x.shape)
        for ch in 0..<c {
            var mean: Float
            var variance: Float
            if training {
                var sum = 0.0
                var sq = 0.0
                for b in 0..<n {
                    let base = (b * c + ch) * s
                    for i in 0..<s {
                        let v = Double(x.storage[base + i])
                        sum += v
                        sq += v * v
                    }
                }
                let mu = sum / Double(m)
                let v = max(sq / Double(m) - mu * mu, 0)
                mean = Float(mu)
                variance = Float(v)
                runningMean.value.storage[ch] = (1 - momentum) * runningMean.value.storage[ch] + momentum * mean
                runningVariance.value.storage[ch] =
                    (1 - momentum) * runningVariance.value.storage[ch]
                    + momentum * Float(v * Double(m) / Double(m - 1))
            } else {
                mean = runningMean.value.storage[ch]
                variance = runningVariance.value.storage[ch]
            }
            let inv = 1 / (variance + epsilon).squareRoot()
            invStd[ch] = inv
            let gm = gamma.value.storage[ch]
            let bt = beta.value.storage[ch]
            for b in 0..<n {
                let base = (b * c + ch) * s
                for i in 0..<s {
                    let h = (x.storage[base + i] - mean) * inv
                    xhat[base + i] = h
                    y.storage[base + i] = gm * h + bt
                }
            }
        }
        cache = (xhat, invStd, x.shape, training)
        return y
    }

    public func backward(_ g: Tensor) throws(VecDBError) -> Tensor {
        let (xhat, invStd, shape, training) = try cached(cache)
        try requireGradient(g, matches: shape)
        let n = shape[0]
        let s = shape.count == 4 ? shape[2] * shape[3] : 1
        let c = channels
        let m = Float(n * s)
        var dx = Tensor(zeros: shape)
        for ch in 0..<c {
            var sumG = 0.0
            var sumGX = 0.0
            for b in 0..<n {
                let base = (b * c + ch) * s
                for i in 0..<s {
                    sumG += Double(g.storage[base + i])
                    sumGX += Double(g.storage[base + i] * xhat[base + i])
                }
            }
            gamma.gradient.storage[ch] += Float(sumGX)
            beta.gradient.storage[ch] += Float(sumG)
            let gm = gamma.value.storage[ch]
            let inv = invStd[ch]
            let meanG = Float(sumG) / m
            let meanGX = Float(sumGX) / m
            for b in 0..<n {
                let base = (b * c + ch) * s
                for i in 0..<s {
                    dx.storage[base + i] =
                        training
                        ? gm * inv * (g.storage[base + i] - meanG - xhat[base + i] * meanGX)
                        : gm * inv * g.storage[base + i]
                }
            }
        }
        return dx
    }
}
