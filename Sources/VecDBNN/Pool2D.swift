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
            throw VecDBError(
                .dimensionMismatch, "pool2d '\(name)' expects input [*, *, ≥\(kernel), ≥\(kernel)], got \(Tensor.describe(x.shape))")
        }
        let planes = x.shape[0] * x.shape[1]
        let h = x.shape[2]
        let w = x.shape[3]
        let outH = (h - kernel) / stride + 1
        let outW = (w - kernel) / stride + 1
        let outCount = planes * outH * outW
        var y = uninitializedFloats(outCount)
        var argmax = [Int32](repeating: 0, count: kind == .max ? outCount : 0)
        let scale = 1 / Float(kernel * kernel)
        let k = kernel
        let st = stride
        let isMax = kind == .max
        x.storage.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                argmax.withUnsafeMutableBufferPointer { ap in
                    guard let xb = xp.baseAddress, let yb = yp.baseAddress else { return }
                    for p in 0..<planes {
                        let plane = xb + p * h * w
                        for oh in 0..<outH {
                            for ow in 0..<outW {
                                let o = (p * outH + oh) * outW + ow
                                let top = oh * st * w + ow * st
                                if isMax && k == 2 {
                                    // The common 2×2 window, unrolled; ties keep the first.
                                    var best = top
                                    var bestValue = plane[top]
                                    if plane[top + 1] > bestValue {
                                        best = top + 1
                                        bestValue = plane[best]
                                    }
                                    if plane[top + w] > bestValue {
                                        best = top + w
                                        bestValue = plane[best]
                                    }
                                    if plane[top + w + 1] > bestValue {
                                        best = top + w + 1
                                        bestValue = plane[best]
                                    }
                                    yb[o] = bestValue
                                    ap[o] = Int32(best)
                                } else if isMax {
                                    var best = top
                                    var bestValue = plane[top]
                                    for i in 0..<k {
                                        let r = top + i * w
                                        for j in 0..<k where plane[r + j] > bestValue {
                                            best = r + j
                                            bestValue = plane[r + j]
                                        }
                                    }
                                    yb[o] = bestValue
                                    ap[o] = Int32(best)
                                } else {
                                    var sum: Float = 0
                                    for i in 0..<k { for j in 0..<k { sum += plane[top + i * w + j] } }
                                    yb[o] = sum * scale
                                }
                            }
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
        let planes = shape[0] * shape[1]
        let h = shape[2]
        let w = shape[3]
        var dx = [Float](repeating: 0, count: shape.reduce(1, *))
        let scale = 1 / Float(kernel * kernel)
        let k = kernel
        let st = stride
        let isMax = kind == .max
        g.storage.withUnsafeBufferPointer { gp in
            dx.withUnsafeMutableBufferPointer { dp in
                argmax.withUnsafeBufferPointer { ap in
                    guard let gb = gp.baseAddress, let db = dp.baseAddress else { return }
                    for p in 0..<planes {
                        let plane = db + p * h * w
                        for oh in 0..<outH {
                            for ow in 0..<outW {
                                let o = (p * outH + oh) * outW + ow
                                if isMax {
                                    plane[Int(ap[o])] += gb[o]
                                } else {
                                    let top = oh * st * w + ow * st
                                    let v = gb[o] * scale
                                    for i in 0..<k { for j in 0..<k { plane[top + i * w + j] += v } }
                                }
                            }
                        }
                    }
                }
            }
        }
        return Tensor(uncheckedShape: shape, storage: dx)
    }
}
