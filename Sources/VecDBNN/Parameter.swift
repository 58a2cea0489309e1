/// A named tensor that a layer owns: trainable weights with their gradient, or a buffer such as
/// BatchNorm's running mean that checkpoints save but optimisers leave alone.
///
/// Gradients accumulate: each `backward` adds to ``gradient``; call ``zeroGradient()`` (or
/// ``Optimizer/zeroGradients(_:)``) between steps. An embedding table's parameter is *sparse*:
/// its gradient lives only in the rows a batch touched (``sparseRows`` and ``sparseGradient``),
/// and optimisers update only those rows.
public final class Parameter {
    /// The name checkpoints use, such as "fc1.weight".
    public let name: String
    /// The current values.
    public var value: Tensor
    /// The accumulated gradient (dense parameters); same shape as ``value``.
    public var gradient: Tensor
    /// False for buffers (running statistics): saved, never optimised.
    public let isTrainable: Bool
    /// True for embedding tables, whose gradient is kept per touched row.
    public let isSparse: Bool
    /// Sparse parameters: the rows with a gradient, in first-touched order.
    public internal(set) var sparseRows: [Int32] = []
    /// Sparse parameters: `sparseRows.count × rowWidth` gradient values, row `i` for `sparseRows[i]`.
    public internal(set) var sparseGradient: [Float] = []
    var sparseSlot: [Int32: Int] = [:]

    public init(name: String, value: Tensor, trainable: Bool = true, sparse: Bool = false) {
        self.name = name
        self.value = value
        self.isTrainable = trainable
        self.isSparse = sparse
        self.gradient = sparse || !trainable ? Tensor(zeros: [0]) : Tensor(zeros: value.shape)
    }

    /// Values per row of a sparse (embedding) parameter: the product of all axes but the first.
    public var rowWidth: Int { value.shape.dropFirst().reduce(1, *) }

    /// Clears the accumulated gradient.
    public func zeroGradient() {
        if isSparse {
            sparseRows.removeAll(keepingCapacity: true)
            sparseGradient.removeAll(keepingCapacity: true)
            sparseSlot.removeAll(keepingCapacity: true)
        } else if isTrainable {
            gradient.storage.setZero()
        }
    }

    /// Adds `values` (one row) to the sparse gradient of `row`.
    func accumulateSparse(row: Int32, _ values: UnsafeBufferPointer<Float>) {
        let w = rowWidth
        let slot: Int
        if let s = sparseSlot[row] {
            slot = s
        } else {
            slot = sparseRows.count
            sparseSlot[row] = slot
            sparseRows.append(row)
            sparseGradient.append(contentsOf: repeatElement(0, count: w))
        }
        sparseGradient.withUnsafeMutableBufferPointer { g in
            for j in 0..<w { g[slot * w + j] += values[j] }
        }
    }

    /// The sum of squared gradient values (dense or sparse), in Double.
    var gradientSumOfSquares: Double {
        if isSparse { return sparseGradient.reduce(0.0) { $0 + Double($1) * Double($1) } }
        return isTrainable ? gradient.sumOfSquares : 0
    }

    /// Multiplies the gradient by `s`.
    func scaleGradient(_ s: Float) {
        if isSparse { sparseGradient.scaleAll(s) } else if isTrainable { gradient.scale(by: s) }
    }
}
