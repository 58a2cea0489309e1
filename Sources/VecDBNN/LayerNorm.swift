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
        let eps = Double(epsilon)
        // Buffers, not the class's arrays, inside the loops: no exclusivity check per element.
        gamma.value.storage.withUnsafeBufferPointer { gp in
            beta.value.storage.withUnsafeBufferPointer { bp in
                x.storage.withUnsafeBufferPointer { xp in
                    xhat.withUnsafeMutableBufferPointer { hp in
                        y.storage.withUnsafeMutableBufferPointer { yp in
                            for r in 0..<rows {
                                let o = r * d
                                var sum = 0.0
                                var sq = 0.0
                                for j in 0..<d {
                                    let v = Double(xp[o + j])
                                    sum += v
                                    sq += v * v
                                }
                                let mean = sum / Double(d)
                                let inv = Float(1 / (max(sq / Double(d) - mean * mean, 0) + eps).squareRoot())
                                invStd[r] = inv
                                let m = Float(mean)
                                for j in 0..<d {
                                    let h = (xp[o + j] - m) * inv
                                    hp[o + j] = h
                                    yp[o + j] = gp[j] * h + bp[j]
                                }
                            }
                        }
                    }
                }
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
        var dGamma = [Float](repeating: 0, count: d)
        var dBeta = [Float](repeating: 0, count: d)
        var dh = [Float](repeating: 0, count: d)
        gamma.value.storage.withUnsafeBufferPointer { gp in
            g.storage.withUnsafeBufferPointer { gv in
                xhat.withUnsafeBufferPointer { hp in
                    dx.storage.withUnsafeMutableBufferPointer { dxp in
                        for r in 0..<rows {
                            let o = r * d
                            var sumDH = 0.0
                            var sumDHX = 0.0
                            for j in 0..<d {
                                let v = gv[o + j]
                                let h = hp[o + j]
                                dGamma[j] += v * h
                                dBeta[j] += v
                                let t = v * gp[j]
                                dh[j] = t
                                sumDH += Double(t)
                                sumDHX += Double(t * h)
                            }
                            let mDH = Float(sumDH / Double(d))
                            let mDHX = Float(sumDHX / Double(d))
                            let inv = invStd[r]
                            for j in 0..<d { dxp[o + j] = inv * (dh[j] - mDH - hp[o + j] * mDHX) }
                        }
                    }
                }
            }
        }
        for j in 0..<d {
            gamma.gradient.storage[j] += dGamma[j]
            beta.gradient.storage[j] += dBeta[j]
        }
        return dx
    }
}
