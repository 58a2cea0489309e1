import VecDBKernels

/// A classifier over unit-length embeddings with one learned unit-length proxy per class:
/// `logits = scale · x · ŵᵀ`, ŵ each row of the weight scaled to unit length (the normalised
/// softmax of Zhai and Wu, "Classification is a strong baseline for deep metric learning",
/// 2019). Trained with softmax cross-entropy, it pulls each embedding towards its class proxy in
/// cosine terms, which is what a cosine nearest-neighbour search of the embeddings rewards.
///
/// The input is `[batch, dimension]` and should be L2-normalised already (an ``L2Normalize``
/// before this layer); the weight is `[classes, dimension]`.
public final class CosineClassifier: Layer {
    public let name: String
    public let classes: Int
    public let dimension: Int
    /// The logit scale (the inverse temperature).
    public let scale: Float
    public let weight: Parameter
    var cache: (x: Tensor, unit: Tensor, norms: [Float])?

    /// Proxies drawn from a standard normal (their length does not matter).
    public init(_ dimension: Int, classes: Int, scale: Float = 16, name: String = "proxies", generator: inout SeededGenerator) {
        self.name = name
        self.classes = classes
        self.dimension = dimension
        self.scale = scale
        weight = Parameter(name: name + ".weight", value: .normal([classes, dimension], std: 1, generator: &generator))
    }

    public var parameters: [Parameter] { [weight] }

    /// The proxies scaled to unit length, and their lengths.
    func unitProxies() -> (Tensor, [Float]) {
        var unit = weight.value
        var norms = [Float](repeating: 0, count: classes)
        for c in 0..<classes {
            var sq: Float = 0
            for j in 0..<dimension { sq += unit.storage[c * dimension + j] * unit.storage[c * dimension + j] }
            norms[c] = max(sq.squareRoot(), 1e-12)
            for j in 0..<dimension { unit.storage[c * dimension + j] /= norms[c] }
        }
        return (unit, norms)
    }

    public func forward(_ x: Tensor, training: Bool) throws(VecDBError) -> Tensor {
        guard classes > 0, dimension > 0 else {
            throw VecDBError(.invalidArgument, "cosine classifier '\(name)' needs classes and a dimension above 0")
        }
        guard x.rank == 2, x.shape[1] == dimension else {
            throw VecDBError(
                .dimensionMismatch, "cosine classifier '\(name)' expects input [*, \(dimension)], got \(Tensor.describe(x.shape))")
        }
        let (unit, norms) = unitProxies()
        var logits = try Tensor.matmul(x, unit, transposeB: true)
        logits.scale(by: scale)
        cache = (x, unit, norms)
        return logits
    }

    public func backward(_ g: Tensor) throws(VecDBError) -> Tensor {
        let (x, unit, norms) = try cached(cache)
        try requireGradient(g, matches: [x.shape[0], classes])
        var gs = g
        gs.scale(by: scale)
        let dx = try Tensor.matmul(gs, unit)
        // d loss / d ŵ, then through the normalisation: (I − ŵŵᵀ) / ‖w‖.
        let dUnit = try Tensor.matmul(gs, x, transposeA: true)
        for c in 0..<classes {
            var dot: Float = 0
            for j in 0..<dimension { dot += dUnit.storage[c * dimension + j] * unit.storage[c * dimension + j] }
            for j in 0..<dimension {
                let k = c * dimension + j
                weight.gradient.storage[k] += (dUnit.storage[k] - dot * unit.storage[k]) / norms[c]
            }
        }
        return dx
    }
}
