import VecDBKernels

/// Updates parameters from their accumulated gradients.
///
/// An optimiser keeps its per-parameter state (momentum, moment estimates) keyed by the
/// parameter object, so one optimiser serves one model. Buffers (``Parameter/isTrainable`` false)
/// are skipped. Sparse parameters (embeddings) are updated only in the rows that have a
/// gradient; their state rows are updated lazily, when the row is next touched.
public protocol Optimizer: AnyObject {
    /// The rate the next ``step(_:)`` uses; a schedule sets it before each step.
    var learningRate: Float { get set }
    /// Steps taken so far.
    var stepCount: Int { get }
    /// One update of every trainable parameter, from its gradient. Does not clear gradients.
    func step(_ parameters: [Parameter])
}

extension Optimizer {
    /// Clears the gradients of `parameters`.
    public func zeroGradients(_ parameters: [Parameter]) {
        for p in parameters { p.zeroGradient() }
    }
}
