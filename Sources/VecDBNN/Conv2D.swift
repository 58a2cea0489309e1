import CVecDBKernels
import VecDBKernels

/// A 2-D convolution over NCHW images, computed as im2col followed by one GEMM per batch.
///
/// The weight is `[outChannels, inChannels, kernel, kernel]` (PyTorch's layout) and the bias
/// `[outChannels]`. For a batch, every receptive field becomes one column of a
/// `[inChannels·k·k, batch·outH·outW]` matrix; the weight, viewed as `[outChannels, inChannels·k·k]`,
/// times that matrix gives every output value at once. The backward pass reuses the columns:
/// `dW = dY · colsᵀ`, `dCols = Wᵀ · dY`, and col2im scatters `dCols` back onto the input.
public final class Conv2D: Layer {
    public let name: String
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Int
    public let stride: Int
    public let padding: Int
    public let weight: Parameter
    public let bias: Parameter?
    /// False for a network's first layer: backward then skips the input gradient (returns zeros).
    public var needsInputGradient = true
    var cache: (cols: [Float], inputShape: [Int], outH: Int, outW: Int)?

    /// He-uniform weights (bound √(6 / (inChannels·k·k))) and zero bias.
    public init(
        inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true,
        name: String = "conv", generator: inout SeededGenerator
    ) {
        self.name = name
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = max(stride, 1)
        self.padding = max(padding, 0)
        let fanIn = max(inChannels * kernel * kernel, 1)
        weight = Parameter(
            name: name + ".weight",
            value: .uniform(
                [outChannels, inChannels, kernel, kernel],
                bound: (6 / Float(fanIn)).squareRoot(), generator: &generator))
        self.bias = bias ? Parameter(name: name + ".bias", value: Tensor(zeros: [outChannels])) : nil
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

    public func forward(_ x: Tensor, training: Bool) throws(VecDBError) -> Tensor {
        guard x.rank == 4, x.shape[1] == inChannels else {
            throw VecDBError(.dimensionMismatch, "conv2d '\(name)' expects input [*, \(inChannels), *, *], got \(Tensor.describe(x.shape))")
        }
        let n = x.shape[0]
        let h = x.shape[2]
        let w = x.shape[3]
        let outH = (h + 2 * padding - kernel) / stride + 1
        let outW = (w + 2 * padding - kernel) / stride + 1
        guard h + 2 * padding >= kernel, w + 2 * padding >= kernel, outH > 0, outW > 0 else {
            throw VecDBError(
                .dimensionMismatch, "conv2d '\(name)': input \(Tensor.describe(x.shape)) is smaller than the \(kernel)×\(kernel) kernel")
        }
        let k = inChannels * kernel * kernel
        let cols = n * outH * outW
        let plane = outH * outW
        var colMatrix = uninitializedFloats(k * cols)
        im2col(x.storage, n: n, h: h, w: w, outH: outH, outW: outW, into: &colMatrix)
        var product = uninitializedFloats(outChannels * cols)
        gemm(
            transA: false, transB: false, m: outChannels, n: cols, k: k, a: weight.value.storage, lda: k,
            b: colMatrix, ldb: cols, beta: 0, c: &product, ldc: cols)
        // [outC, n, plane] → [n, outC, plane], adding the bias.
        var y = uninitializedFloats(n * outChannels * plane)
        y.withUnsafeMutableBufferPointer { yp in
            product.withUnsafeBufferPointer { pp in
                guard let yb = yp.baseAddress, let pb = pp.baseAddress else { return }
                for o in 0..<outChannels {
                    let b = bias?.value.storage[o] ?? 0
                    for s in 0..<n {
                        let dst = yb + (s * outChannels + o) * plane
                        let src = pb + o * cols + s * plane
                        for i in 0..<plane { dst[i] = src[i] + b }
                    }
                }
            }
        }
        cache = (colMatrix, x.shape, outH, outW)
        return Tensor(uncheckedShape: [n, outChannels, outH, outW], storage: y)
    }

    public func backward(_ g: Tensor) throws(VecDBError) -> Tensor {
        let (colMatrix, shape, outH, outW) = try cached(cache)
        let n = shape[0]
        let h = shape[2]
        let w = shape[3]
        try requireGradient(g, matches: [n, outChannels, outH, outW])
        let k = inChannels * kernel * kernel
        let plane = outH * outW
        let cols = n * plane
        // [n, outC, plane] → [outC, n, plane]
        var g2 = uninitializedFloats(outChannels * cols)
        g2.withUnsafeMutableBufferPointer { dp in
            g.storage.withUnsafeBufferPointer { gp in
                guard let db = dp.baseAddress, let gb = gp.baseAddress else { return }
                for s in 0..<n {
                    for o in 0..<outChannels {
                        (db + o * cols + s * plane).update(from: gb + (s * outChannels + o) * plane, count: plane)
                    }
                }
            }
        }
        if let bias {
            // Row sums of g2: [outC, cols] times a column of ones is a column sum of its transpose.
            var partial = [Float](repeating: 0, count: outChannels)
            g2.withUnsafeBufferPointer { gp in
                guard let gb = gp.baseAddress else { return }
                for o in 0..<outChannels {
                    var acc = SIMD16<Float>(repeating: 0)
                    let row = gb + o * cols
                    var i = 0
                    while i + 16 <= cols {
                        acc += UnsafeRawPointer(row + i).loadUnaligned(as: SIMD16<Float>.self)
                        i += 16
                    }
                    var sum = acc.sum()
                    while i < cols {
                        sum += row[i]
                        i += 1
                    }
                    partial[o] = sum
                }
            }
            for o in 0..<outChannels { bias.gradient.storage[o] += partial[o] }
        }
        gemm(
            transA: false, transB: true, m: outChannels, n: k, k: cols, a: g2, lda: cols, b: colMatrix, ldb: cols,
            beta: 1, c: &weight.gradient.storage, ldc: k)
        guard needsInputGradient else { return Tensor(zeros: shape) }
        var dcols = uninitializedFloats(k * cols)
        gemm(
            transA: true, transB: false, m: k, n: cols, k: outChannels, a: weight.value.storage, lda: k, b: g2, ldb: cols,
            beta: 0, c: &dcols, ldc: cols)
        var dx = [Float](repeating: 0, count: shape.reduce(1, *))
        col2im(dcols, n: n, h: h, w: w, outH: outH, outW: outW, into: &dx)
        return Tensor(uncheckedShape: shape, storage: dx)
    }

    /// The output columns `ow` whose input column `ow·stride − padding + kj` lies inside `0..<w`.
    func validColumns(_ kj: Int, w: Int, outW: Int) -> Range<Int> {
        // ow·stride ≥ padding − kj  and  ow·stride ≤ w − 1 + padding − kj
        let lo = max(0, (padding - kj + stride - 1) / stride)
        let hiValue = w - 1 + padding - kj
        let hi = hiValue < 0 ? 0 : min(outW, hiValue / stride + 1)
        return lo..<max(lo, hi)
    }

    /// Row `(c·k + ki)·k + kj`, column `(s·outH + oh)·outW + ow` holds input
    /// `[s, c, oh·stride − pad + ki, ow·stride − pad + kj]`, or 0 in the padding. Every entry is written.
    func im2col(_ x: [Float], n: Int, h: Int, w: Int, outH: Int, outW: Int, into cols: inout [Float]) {
        let plane = outH * outW
        let total = n * plane
        x.withUnsafeBufferPointer { xp in
            cols.withUnsafeMutableBufferPointer { cp in
                guard let xb = xp.baseAddress, let cb = cp.baseAddress else { return }
                for c in 0..<inChannels {
                    for ki in 0..<kernel {
                        for kj in 0..<kernel {
                            let row = cb + ((c * kernel + ki) * kernel + kj) * total
                            let valid = validColumns(kj, w: w, outW: outW)
                            let shift = kj - padding
                            for s in 0..<n {
                                let img = xb + (s * inChannels + c) * h * w
                                for oh in 0..<outH {
                                    let ih = oh * stride - padding + ki
                                    let dst = row + s * plane + oh * outW
                                    if ih < 0 || ih >= h || valid.isEmpty {
                                        dst.update(repeating: 0, count: outW)
                                        continue
                                    }
                                    if valid.lowerBound > 0 { dst.update(repeating: 0, count: valid.lowerBound) }
                                    if valid.upperBound < outW {
                                        (dst + valid.upperBound).update(repeating: 0, count: outW - valid.upperBound)
                                    }
                                    let src = img + ih * w + shift
                                    if stride == 1 {
                                        (dst + valid.lowerBound).update(from: src + valid.lowerBound, count: valid.count)
                                    } else {
                                        for ow in valid { dst[ow] = src[ow * stride] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of ``im2col(_:n:h:w:outH:outW:into:)``: adds each column entry back to its input position.
    func col2im(_ cols: [Float], n: Int, h: Int, w: Int, outH: Int, outW: Int, into dx: inout [Float]) {
        let plane = outH * outW
        let total = n * plane
        cols.withUnsafeBufferPointer { cp in
            dx.withUnsafeMutableBufferPointer { xp in
                guard let xb = xp.baseAddress, let cb = cp.baseAddress else { return }
                for c in 0..<inChannels {
                    for ki in 0..<kernel {
                        for kj in 0..<kernel {
                            let row = cb + ((c * kernel + ki) * kernel + kj) * total
                            let valid = validColumns(kj, w: w, outW: outW)
                            if valid.isEmpty { continue }
                            let shift = kj - padding
                            for s in 0..<n {
                                let img = xb + (s * inChannels + c) * h * w
                                for oh in 0..<outH {
                                    let ih = oh * stride - padding + ki
                                    if ih < 0 || ih >= h { continue }
                                    let src = row + s * plane + oh * outW
                                    let dst = img + ih * w + shift
                                    if stride == 1 {
                                        for ow in valid { dst[ow] += src[ow] }
                                    } else {
                                        for ow in valid { dst[ow * stride] += src[ow] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
