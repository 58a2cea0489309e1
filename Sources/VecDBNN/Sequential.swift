import VecDBKernels

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
