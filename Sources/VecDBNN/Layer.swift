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
            throw VecDBError(
                .dimensionMismatch,
                "\(name): gradient shape \(Tensor.describe(grad.shape)) differs from output shape \(Tensor.describe(shape))")
        }
    }
}
