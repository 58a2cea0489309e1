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

/// The frozen state of a ``VecDBNN/BatchNorm`` over `[rows, channels]` in evaluation mode:
/// `y = γ · (x − running mean) / √(running variance + ε) + β`.
struct BatchNormWeights: Sendable, Equatable {
    let gamma: [Float]
    let beta: [Float]
    let mean: [Float]
    let variance: [Float]
    let epsilon: Float

    /// Copies the current values of a training layer.
    init(_ layer: BatchNorm) {
        gamma = layer.gamma.value.storage
        beta = layer.beta.value.storage
        mean = layer.runningMean.value.storage
        variance = layer.runningVariance.value.storage
        epsilon = layer.epsilon
    }

    /// State read back from a checkpoint (`NAME.weight`, `.bias`, `.running_mean`, `.running_var`).
    init(tensors: (String) throws(VecDBError) -> Tensor, name: String, epsilon: Float = 1e-5) throws(VecDBError) {
        gamma = try tensors(name + ".weight").storage
        beta = try tensors(name + ".bias").storage
        mean = try tensors(name + ".running_mean").storage
        variance = try tensors(name + ".running_var").storage
        self.epsilon = epsilon
        guard beta.count == gamma.count, mean.count == gamma.count, variance.count == gamma.count else {
            throw VecDBError(.dimensionMismatch, "checkpoint batch norm '\(name)': its four vectors differ in length")
        }
    }

    var channels: Int { gamma.count }

    /// Writes the state into a training layer of the same width.
    func copy(into layer: BatchNorm) {
        layer.gamma.value.storage = gamma
        layer.beta.value.storage = beta
        layer.runningMean.value.storage = mean
        layer.runningVariance.value.storage = variance
    }

    /// The tensors a checkpoint stores under `name.weight`, `.bias`, `.running_mean`, `.running_var`.
    func tensors(_ name: String) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        out[name + ".weight"] = try? Tensor(shape: [channels], storage: gamma)
        out[name + ".bias"] = try? Tensor(shape: [channels], storage: beta)
        out[name + ".running_mean"] = try? Tensor(shape: [channels], storage: mean)
        out[name + ".running_var"] = try? Tensor(shape: [channels], storage: variance)
        return out
    }

    /// Normalises `rows` rows of ``channels`` values in place.
    func apply(_ y: inout [Float], rows: Int) {
        let c = channels
        for ch in 0..<c {
            let inv = 1 / (variance[ch] + epsilon).squareRoot()
            for r in 0..<rows { y[r * c + ch] = gamma[ch] * ((y[r * c + ch] - mean[ch]) * inv) + beta[ch] }
        }
    }
}
