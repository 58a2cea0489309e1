import VecDBKernels

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
