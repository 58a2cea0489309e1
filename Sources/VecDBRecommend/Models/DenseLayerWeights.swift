import VecDBKernels
import VecDBNN

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The frozen weights of one fully connected layer, for inference inside a `Sendable` model:
/// `y = act(x · Wᵀ + b)` with W `[outputs, inputs]` row-major (``VecDBNN/Linear``'s layout).
struct DenseLayerWeights: Sendable, Equatable {
    /// The non-linearity applied after the affine map.
    enum Activation: String, Sendable {
        case identity, tanh, relu
    }

    let inputs: Int
    let outputs: Int
    /// `[outputs, inputs]`, row-major.
    let weight: [Float]
    /// `outputs` values.
    let bias: [Float]
    let activation: Activation

    /// Copies the current values of a training layer.
    init(_ layer: Linear, activation: Activation) {
        inputs = layer.inputs
        outputs = layer.outputs
        weight = layer.weight.value.storage
        bias = layer.bias?.value.storage ?? [Float](repeating: 0, count: layer.outputs)
        self.activation = activation
    }

    /// Weights read back from a checkpoint.
    init(weight: Tensor, bias: Tensor, activation: Activation, name: String) throws(VecDBError) {
        guard weight.rank == 2, bias.shape == [weight.shape[0]] else {
            throw VecDBError(
                .dimensionMismatch,
                "checkpoint layer '\(name)': weight \(Tensor.describe(weight.shape)) and bias \(Tensor.describe(bias.shape)) do not agree")
        }
        outputs = weight.shape[0]
        inputs = weight.shape[1]
        self.weight = weight.storage
        self.bias = bias.storage
        self.activation = activation
    }

    /// The tensors a checkpoint stores under `name.weight` and `name.bias`.
    func tensors(_ name: String) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        out[name + ".weight"] = try? Tensor(shape: [outputs, inputs], storage: weight)
        out[name + ".bias"] = try? Tensor(shape: [outputs], storage: bias)
        return out
    }

    /// Applies the layer to `rows` input rows of `inputs` values each.
    func apply(_ x: [Float], rows: Int = 1) -> [Float] {
        var y = [Float](repeating: 0, count: rows * outputs)
        for r in 0..<rows { for o in 0..<outputs { y[r * outputs + o] = bias[o] } }
        x.withUnsafeBufferPointer { xp in
            weight.withUnsafeBufferPointer { wp in
                y.withUnsafeMutableBufferPointer { yp in
                    guard let a = xp.baseAddress, let b = wp.baseAddress, let c = yp.baseAddress else { return }
                    BLAS.sgemm(
                        transA: false, transB: true, m: rows, n: outputs, k: inputs, a: a, lda: inputs, b: b, ldb: inputs,
                        beta: 1, c: c, ldc: outputs)
                }
            }
        }
        activate(&y)
        return y
    }

    /// Applies the layer to a sparse input: `value` at each of `indices` (in `0..<inputs`), zero elsewhere.
    func apply(indices: ArraySlice<Int32>, value: Float) -> [Float] {
        var y = bias
        for i in indices {
            let c = Int(i)
            for o in 0..<outputs { y[o] += weight[o * inputs + c] * value }
        }
        activate(&y)
        return y
    }

    func activate(_ y: inout [Float]) {
        switch activation {
        case .identity: break
        case .tanh: for j in y.indices { y[j] = tanhf(y[j]) }
        case .relu: for j in y.indices { y[j] = max(y[j], 0) }
        }
    }
}
