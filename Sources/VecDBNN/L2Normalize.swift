import VecDBKernels

/// Scales each row (the last axis) to unit Euclidean length: `y = x / max(‖x‖, ε)`.
public final class L2Normalize: Layer {
    public let name: String
    public let epsilon: Float
    var cache: (y: Tensor, norms: [Float])?

    public init(epsilon: Float = 1e-12, name: String = "l2normalize") {
        self.name = name
        self.epsilon = epsilon
    }

    public func forward(_ x: Tensor, training: Bool) throws(VecDBError) -> Tensor {
        guard x.rank >= 1, let d = x.shape.last, d > 0 else {
            throw VecDBError(.dimensionMismatch, "l2normalize '\(name)' expects input [*, d] with d > 0, got \(Tensor.describe(x.shape))")
        }
        let rows = x.count / d
        var y = x
        var norms = [Float](repeating: 0, count: rows)
        for r in 0..<rows {
            var sq = 0.0
            for j in 0..<d { sq += Double(x.storage[r * d + j]) * Double(x.storage[r * d + j]) }
            let norm = max(Float(sq.squareRoot()), epsilon)
            norms[r] = norm
            for j in 0..<d { y.storage[r * d + j] /= norm }
        }
        cache = (y, norms)
        return y
    }

    public func backward(_ g: Tensor) throws(VecDBError) -> Tensor {
        let (y, norms) = try cached(cache)
        try requireGradient(g, matches: y.shape)
        let d = y.shape[y.rank - 1]
        let rows = y.count / d
        var dx = Tensor(zeros: y.shape)
        for r in 0..<rows {
            var dot = 0.0
            for j in 0..<d { dot += Double(y.storage[r * d + j] * g.storage[r * d + j]) }
            for j in 0..<d {
                dx.storage[r * d + j] = (g.storage[r * d + j] - y.storage[r * d + j] * Float(dot)) / norms[r]
            }
        }
        return dx
    }
}
