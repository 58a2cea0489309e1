import VecDBKernels

/// Max or average pooling over `kernel × kernel` windows of NCHW images (no padding).
///
/// Max pooling remembers the position of each window's maximum and routes the gradient there;
/// average pooling spreads it evenly over the window.
public final class Pool2D: Layer {
    public enum Kind: String, Sendable { case max, average }

    public let name: String
    public let kind: Kind
    public let kernel: Int
    public let stride: Int
    var cache: (argmax: [Int32], inputShape: [Int], outH: Int, outW: Int)?

    public init(_ kind: Kind, kernel: Int, stride: Int? = nil, name: String? = nil) {
        self.kind = kind
        self.kernel = max(kernel, 1)
        self.stride = max(stride ?? kernel, 1)
        self.name = name ?? (kind == .max ? "maxpool" : "avgpool")
    }

    public func forward(_ x: Tensor, training: Bool) throws(VecDBError) -> Tensor {
        guard x.rank == 4, x.shape[2] >= kernel, x.shape[3] >= kernel else {
            throw VecDBError(.dimensionMismatch, "pool2d '\(name)' expects input [*, *, ≥\(kernel), ≥\(kernel)], got \(Tensor.describe(x.shape))")
        }
        let planes = x.shape[0] * x.shape[1], h = x.shape[2], w = x.shape[3]
        let outH = (h - kernel) / stride + 1, outW = (w - kernel) / stride + 1
        var y = [Float](repeating: 0, count: planes * outH * outW)
        var argmax = [Int32](repeating: 0, count: kind == .max ? y.count : 0)
        let scale = 1 / Float(kernel * kernel)
        x.storage.withUnsafeBufferPointer { xp in
            for p in 0..<planes {
                let base = p * h * w
                for oh in 0..<outH {
                    for ow in 0..<outW {
                        let o = (p * outH + oh) * outW + ow
                        let top = base + oh * stride * w + ow * stride
                        if kind == .max {
                            var best = top, bestValue = xp[top]
                            for i in 0..<kernel {
                                for j in 0..<kernel where xp[top + i * w + j] > bestValue {
                                    best = top + i * w + j
                                    bestValue = xp[best]
                                }
                            }
                            y[o] = bestValue
                            argmax[o] = Int32(best - base)
                        } else {
                            var sum: Float = 0
                            for i in 0..<kernel { for j in 0..<kernel { sum += xp[top + i * w + j] } }
                            y[o] = sum * scale
                        }
                    }
                }
            }
        }
        cache = (argmax, x.shape, outH, outW)
        return Tensor(uncheckedShape: [x.shape[0], x.shape[1], outH, outW], storage: y)
    }

    public func backward(_ g: Tensor) throws(VecDBError) -> Tensor {
        let (argmax, shape, outH, outW) = try cached(cache)
        try requireGradient(g, matches: [shape[0], shape[1], outH, outW])
        let planes = shape[0] * shape[1], h = shape[2], w = shape[3]
        var dx = [Float](repeating: 0, count: shape.reduce(1, *))
        let scale = 1 / Float(kernel * kernel)
        for p in 0..<planes {
            let base = p * h * w
            for oh in 0..<outH {
                for ow in 0..<outW {
                    let o = (p * outH + oh) * outW + ow
                    if kind == .max {
                        dx[base + Int(argmax[o])] += g.storage[o]
                    } else {
                        let top = base + oh * stride * w + ow * stride, v = g.storage[o] * scale
                        for i in 0..<kernel { for j in 0..<kernel { dx[top + i * w + j] += v } }
                    }
                }
            }
        }
        return Tensor(uncheckedShape: shape, storage: dx)
    }
}
