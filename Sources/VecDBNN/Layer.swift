import VecDBKernels

/// A differentiable layer with a hand-written backward pass.
///
/// `forward(_:training:)` computes the output and keeps what `backward(_:)` needs (the input,
/// a mask, argmax indices, normalised values). `backward(_:)` takes the gradient of the loss with
/// respect to the last output, *adds* the gradients of the layer's parameters to their
/// ``Parameter/gradient``, and returns the gradient with respect to the last input. A layer
/// therefore remembers one forward pass at a time: call backward before the next forward.
///
/// `training` selects between train and eval behaviour where they differ (Dropout, BatchNorm).
public protocol Layer: AnyObject {
    /// The prefix of the layer's parameter names ("fc1" → "fc1.weight").
    var name: String { get }
    /// Trainable parameters, including those of nested layers.
    var parameters: [Parameter] { get }
    /// Saved but untrained state (running statistics).
    var buffers: [Parameter] { get }
    func forward(_ input: Tensor, training: Bool) throws(VecDBError) -> Tensor
    func backward(_ gradOutput: Tensor) throws(VecDBError) -> Tensor
}

extension Layer {
    public var parameters: [Parameter] { [] }
    public var buffers: [Parameter] { [] }

    /// Every tensor a checkpoint holds: parameters then buffers.
    public var stateParameters: [Parameter] { parameters + buffers }

    /// Clears the gradients of every parameter.
    public func zeroGradients() {
        for p in parameters { p.zeroGradient() }
    }

    /// The cached value a backward pass needs, or an error when forward was not called.
    func cached<T>(_ value: T?, _ what: String = "input") throws(VecDBError) -> T {
        guard let value else {
            throw VecDBError(.invalidArgument, "\(name): backward called before forward (no cached \(what))")
        }
        return value
    }

    /// Checks that a gradient has the shape of the output it belongs to.
    func requireGradient(_ grad: Tensor, matches shape: [Int]) throws(VecDBError) {
        guard grad.shape == shape else {
            throw VecDBError(.dimensionMismatch, "\(name): gradient shape \(Tensor.describe(grad.shape)) differs from output shape \(Tensor.describe(shape))")
        }
    }
}

/// Layers applied in order; its parameters are the layers' parameters, in order.
public final class Sequential: Layer {
    public let name: String
    public let layers: [any Layer]

    public init(name: String = "sequential", _ layers: [any Layer]) {
        self.name = name
        self.layers = layers
    }

    public var parameters: [Parameter] { layers.flatMap(\.parameters) }
    public var buffers: [Parameter] { layers.flatMap(\.buffers) }

    public func forward(_ input: Tensor, training: Bool) throws(VecDBError) -> Tensor {
        var x = input
        for layer in layers { x = try layer.forward(x, training: training) }
        return x
    }

    public func backward(_ gradOutput: Tensor) throws(VecDBError) -> Tensor {
        var g = gradOutput
        for layer in layers.reversed() { g = try layer.backward(g) }
        return g
    }
}

/// Reshapes `[batch, …]` to `[batch, features]`.
public final class Flatten: Layer {
    public let name: String
    var inputShape: [Int]?

    public init(name: String = "flatten") { self.name = name }

    public func forward(_ input: Tensor, training: Bool) throws(VecDBError) -> Tensor {
        guard input.rank >= 1 else {
            throw VecDBError(.dimensionMismatch, "\(name) expects [batch, …], got \(Tensor.describe(input.shape))")
        }
        inputShape = input.shape
        let batch = input.shape[0]
        return Tensor(uncheckedShape: [batch, batch == 0 ? 0 : input.count / batch], storage: input.storage)
    }

    public func backward(_ gradOutput: Tensor) throws(VecDBError) -> Tensor {
        let shape = try cached(inputShape)
        return try gradOutput.reshaped(shape)
    }
}
