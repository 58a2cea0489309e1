import VecDBKernels

/// A table of `count` learned vectors of `dimension` values, looked up by Int32 id.
///
/// `forward(ids:)` returns `[ids.count, dimension]`; `backward(_:)` adds each output row's
/// gradient to the sparse gradient of the row it came from, so an optimiser step touches only
/// the rows a batch used (see ``Parameter/isSparse``).
public final class Embedding {
    public let name: String
    public let count: Int
    public let dimension: Int
    /// `[count, dimension]`, sparse.
    public let weight: Parameter
    var ids: [Int32]?

    /// Rows drawn from N(0, std²).
    public init(count: Int, dimension: Int, std: Float = 0.1, name: String = "embedding", generator: inout SeededGenerator) {
        self.name = name
        self.count = count
        self.dimension = dimension
        weight = Parameter(name: name + ".weight", value: .normal([count, dimension], std: std, generator: &generator), sparse: true)
    }

    public var parameters: [Parameter] { [weight] }

    /// The rows for `ids`, as `[ids.count, dimension]`.
    /// - Throws: ``VecDBError/Code/invalidArgument`` for an id outside `0..<count`.
    public func forward(ids: [Int32]) throws(VecDBError) -> Tensor {
        var out = [Float](repeating: 0, count: ids.count * dimension)
        let d = dimension
        for id in ids where id < 0 || Int(id) >= count {
            throw VecDBError(.invalidArgument, "embedding '\(name)' has \(count) rows, got id \(id)")
        }
        weight.value.storage.withUnsafeBufferPointer { w in
            out.withUnsafeMutableBufferPointer { o in
                for (i, id) in ids.enumerated() {
                    guard let src = w.baseAddress, let dst = o.baseAddress else { return }
                    (dst + i * d).update(from: src + Int(id) * d, count: d)
                }
            }
        }
        self.ids = ids
        return Tensor(uncheckedShape: [ids.count, dimension], storage: out)
    }

    /// Accumulates the gradient of the rows last looked up.
    /// - Throws: ``VecDBError/Code/dimensionMismatch`` when `gradOutput` is not `[ids.count, dimension]`.
    public func backward(_ gradOutput: Tensor) throws(VecDBError) {
        guard let ids else { throw VecDBError(.invalidArgument, "\(name): backward called before forward (no cached ids)") }
        guard gradOutput.shape == [ids.count, dimension] else {
            throw VecDBError(
                .dimensionMismatch,
                "embedding '\(name)': gradient shape \(Tensor.describe(gradOutput.shape)) differs from output shape \(Tensor.describe([ids.count, dimension]))"
            )
        }
        let d = dimension
        gradOutput.storage.withUnsafeBufferPointer { g in
            guard let base = g.baseAddress else { return }
            for (i, id) in ids.enumerated() {
                weight.accumulateSparse(row: id, UnsafeBufferPointer(start: base + i * d, count: d))
            }
        }
    }

    public func zeroGradients() { weight.zeroGradient() }
}
