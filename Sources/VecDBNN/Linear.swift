import CVecDBKernels
import VecDBKernels

/// A fully connected layer: `y = x · Wᵀ + b`.
///
/// The weight is `[outputs, inputs]` (the layout of PyTorch and of safetensors checkpoints made
/// by it) and the bias `[outputs]`. The input is `[*, inputs]`: any leading axes are treated as
/// the batch, so `[batch, tokens, inputs]` works too.
public final class Linear: Layer {
    public let name: String
    public let inputs: Int
    public let outputs: Int
    public let weight: Parameter
    public let bias: Parameter?
    var input: Tensor?

    /// He-uniform weights (bound √(6 / inputs)) and zero bias.
    public init(_ inputs: Int, _ outputs: Int, bias: Bool = true, name: String = "linear", generator: inout SeededGenerator) {
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        let bound = (6 / Float(max(inputs, 1))).squareRoot()
        weight = Parameter(name: name + ".weight", value: .uniform([outputs, inputs], bound: bound, generator: &generator))
        self.bias = bias ? Parameter(name: name + ".bias", value: Tensor(zeros: [outputs])) : nil
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

    public func forward(_ x: Tensor, training: Bool) throws(VecDBError) -> Tensor {
        guard inputs > 0, outputs > 0 else {
            throw VecDBError(.invalidArgument, "linear '\(name)' has \(inputs) inputs and \(outputs) outputs; both must be positive")
        }
        guard x.rank >= 1, x.shape[x.rank - 1] == inputs else {
            throw VecDBError(.dimensionMismatch, "linear '\(name)' expects input [*, \(inputs)], got \(Tensor.describe(x.shape))")
        }
        input = x
        let rows = x.count / inputs
        var outShape = x.shape
        outShape[outShape.count - 1] = outputs
        var y = Tensor(uninitialized: outShape)
        gemm(
            transA: false, transB: true, m: rows, n: outputs, k: inputs, a: x.storage, lda: inputs,
            b: weight.value.storage, ldb: inputs, beta: 0, c: &y.storage, ldc: outputs)
        if let bias {
            y.storage.withUnsafeMutableBufferPointer { yp in
                bias.value.storage.withUnsafeBufferPointer { vdb_nn_add_row_bias(yp.baseAddress, $0.baseAddress, rows, outputs) }
            }
        }
        return y
    }

    public func backward(_ g: Tensor) throws(VecDBError) -> Tensor {
        let x = try cached(input)
        var outShape = x.shape
        outShape[outShape.count - 1] = outputs
        try requireGradient(g, matches: outShape)
        let rows = x.count / inputs
        gemm(
            transA: true, transB: false, m: outputs, n: inputs, k: rows, a: g.storage, lda: outputs,
            b: x.storage, ldb: inputs, beta: 1, c: &weight.gradient.storage, ldc: inputs)
        if let bias {
            g.storage.withUnsafeBufferPointer { gp in
                bias.gradient.storage.withUnsafeMutableBufferPointer { vdb_nn_column_sums(gp.baseAddress, $0.baseAddress, rows, outputs) }
            }
        }
        var dx = Tensor(uninitialized: x.shape)
        gemm(
            transA: false, transB: false, m: rows, n: inputs, k: outputs, a: g.storage, lda: outputs,
            b: weight.value.storage, ldb: inputs, beta: 0, c: &dx.storage, ldc: inputs)
        return dx
    }
}
