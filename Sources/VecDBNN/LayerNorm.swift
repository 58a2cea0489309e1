import VecDBKernels

/// Layer normalisation over the last axis: `y = γ · (x − mean) / √(var + ε) + β`, per row.
/// The same in training and evaluation.
public final class LayerNorm: Layer {
    public let name: String
    public let dimension: Int
    public let epsilon: Float
    public let gamma: Parameter
    public let beta: Parameter
    var cache: (xhat: [Float], invStd: [Float], shape: [Int])?

    public init(dimension: Int, epsilon: Float = 1e-5, name: String = "layernorm") {
        self.name = name
        self.dimension = dimension
        self.epsilon = epsilon
        gamma = Parameter(name: name + ".weight", value: Tensor(repeating: 1, shape: [dimension]))
        beta = Parameter(name: name + ".bias", value: Tensor(zeros: [dimension]))
    }

    public var parameters: [Parameter] { [gamma, beta] }

    public func forward(_ x: Tensor, training: Bool) throws(VecDBError) -> Tensor {
        guard dimension > 0 else { throw VecDBError(.invalidArgument, "layernorm '\(name)' has dimension 0") }
        guard x.rank >= 1, x.shape[x.rank - 1] == dimension else {
            throw VecDBError(.dimensionMismatch, "layernorm '\(name)' expects input [*, \(dimension)], got \(Tensor.describe(x.shape))")
        }
        let d = dimension
        let rows = x.count / d
        var xhat = [Float](repeating: 0, count: x.count)
        var invStd = [Float](repeating: 0, count: rows)
        var y = Tensor(zeros: x.shape)
        for r in 0..<rows {
            var sum = 0.0
            var sq = 0.0
            for j in 0..<d {
                let v = Double(x.storage[r * d + j])
                sum += v
                sq += v * v
            }
            let mean = sum / Double(d)
            let inv = Float(1 / (max(sq / Double(d) - mean * mean, 0) + Double(epsilon)).squareRoot())
            invStd[r] = inv
            for j in 0..<d {
                let h = (x.storage[r * d + j] - Float(mean)) * inv
                xhat[r * d + j] = h
                y.storage[r * d + j] = gamma.value.storage[j] * h + beta.value.storage[j]
            }
        }
        cache = (xhat, invStd, x.shape)
        return y
    }

    public func backward(_ g: Tensor) throws(VecDBError) -> Tensor {
        let (xhat, invStd, shape) = try cached(cache)
        try requireGradient(g, matches: shape)
        let d = dimension
        let rows = g.count / d
        var dx = Tensor(zeros: shape)
        var dh = [Float](repeating: 0, count: d)
        for r in 0..<rows {
            var sumDH = 0.0
            var sumDHX = 0.0
            for j in 0..<d {
                let gv = g.storage[r * d + j]
                let h = xhat[r * d + j]
                gamma.gradient.storage[j] += gv * h
                beta.gradient.storage[j] += gv
                dh[j] = gv * gamma.value.storage[j]
                sumDH += Double(dh[j])
                sumDHX += Double(dh[j] * h)
            }
            let mDH = Float(sumDH / Double(d))
            let mDHX = Float(sumDHX / Double(d))
            for j in 0..<d {
                dx.storage[r * d + j] = invStd[r] * (dh[j] - mDH - xhat[r * d + j] * mDHX)
            }
        }
        return dx
    }
}
