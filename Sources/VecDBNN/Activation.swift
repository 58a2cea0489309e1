import CVecDBKernels
import VecDBKernels

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An element-wise non-linearity: ReLU, tanh, sigmoid or GELU.
public final class Activation: Layer {
    public enum Kind: String, Sendable, CaseIterable {
        /// max(x, 0)
        case relu
        /// tanh(x)
        case tanh
        /// 1 / (1 + e^(−x))
        case sigmoid
        /// x · Φ(x) with the exact normal CDF, Φ(x) = ½(1 + erf(x / √2)) (BERT's and MiniLM's "gelu").
        case gelu
    }

    public let name: String
    public let kind: Kind
    var input: Tensor?
    var output: Tensor?

    public init(_ kind: Kind, name: String? = nil) {
        self.kind = kind
        self.name = name ?? kind.rawValue
    }

    public func forward(_ x: Tensor, training: Bool) throws(VecDBError) -> Tensor {
        var y = Tensor(uninitialized: x.shape)
        let n = x.count
        x.storage.withUnsafeBufferPointer { xp in
            y.storage.withUnsafeMutableBufferPointer { yp in
                switch kind {
                case .relu: vdb_nn_relu(xp.baseAddress, yp.baseAddress, n)
                case .tanh: for i in 0..<n { yp[i] = tanhf(xp[i]) }
                case .sigmoid: for i in 0..<n { yp[i] = Activation.sigmoid(xp[i]) }
                case .gelu: for i in 0..<n { yp[i] = 0.5 * xp[i] * (1 + erff(xp[i] * 0.707_106_77)) }
                }
            }
        }
        input = x
        output = y
        return y
    }

    public func backward(_ g: Tensor) throws(VecDBError) -> Tensor {
        let x = try cached(input)
        let y = try cached(output, "output")
        try requireGradient(g, matches: x.shape)
        var dx = Tensor(uninitialized: x.shape)
        let n = x.count
        x.storage.withUnsafeBufferPointer { xp in
            y.storage.withUnsafeBufferPointer { yp in
                g.storage.withUnsafeBufferPointer { gp in
                    dx.storage.withUnsafeMutableBufferPointer { dp in
                        switch kind {
                        case .relu: vdb_nn_relu_backward(xp.baseAddress, gp.baseAddress, dp.baseAddress, n)
                        case .tanh: for i in 0..<n { dp[i] = gp[i] * (1 - yp[i] * yp[i]) }
                        case .sigmoid: for i in 0..<n { dp[i] = gp[i] * yp[i] * (1 - yp[i]) }
                        case .gelu:
                            for i in 0..<n {
                                let v = xp[i]
                                let cdf = 0.5 * (1 + erff(v * 0.707_106_77))
                                let pdf = expf(-0.5 * v * v) * 0.398_942_3
                                dp[i] = gp[i] * (cdf + v * pdf)
                            }
                        }
                    }
                }
            }
        }
        return dx
    }

    static func sigmoid(_ v: Float) -> Float {
        v >= 0
            ? 1 / (1 + expf(-v))
            : {
                let e = expf(v)
                return e / (1 + e)
            }()
    }
}
