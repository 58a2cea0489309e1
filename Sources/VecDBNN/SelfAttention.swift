import VecDBKernels

/// Trainable multi-head self-attention over packed sequences: a Q/K/V projection, scaled
/// dot-product attention per sequence and head (``Attention``'s GEMM path, shared with the
/// text encoder), and an output projection.
///
/// Sequences are packed as ``Attention`` packs them: the input is `[tokens, width]` and `spans`
/// name each sequence's rows, so no work is spent on padding and no mask is needed. With
/// `causal`, a token sees itself and the earlier tokens of its sequence only (SASRec's
/// next-item setting). The attention probabilities of the last forward pass are kept for the
/// backward pass: `P` of every span and head, `Σ n²·heads` floats.
///
/// Backward, per span and head, with `S = Q Kᵀ / √d` and `P = softmax(S)`:
/// `dV = Pᵀ dO`, `dP = dO Vᵀ`, `dS = P ⊙ (dP − rowsum(dP ⊙ P))`, `dQ = dS K / √d`,
/// `dK = dSᵀ Q / √d`.
public final class CausalSelfAttention: Layer {
    public let name: String
    public let width: Int
    public let heads: Int
    public let causal: Bool
    public let projection: Linear
    public let output: Linear

    struct Cache {
        var qkv: [Float]
        var spans: [Range<Int>]
        /// P of each span and head, in span-major, head-minor order.
        var probabilities: [[Float]]
    }

    var cache: Cache?

    /// - Parameter width: the model width, a multiple of `heads`.
    public init(width: Int, heads: Int, causal: Bool = true, name: String = "attention", generator: inout SeededGenerator) {
        self.name = name
        self.width = width
        self.heads = heads
        self.causal = causal
        projection = Linear(width, 3 * width, name: name + ".qkv", generator: &generator)
        output = Linear(width, width, name: name + ".out", generator: &generator)
    }

    public var parameters: [Parameter] { projection.parameters + output.parameters }

    /// The whole input is one sequence.
    public func forward(_ x: Tensor, training: Bool) throws(VecDBError) -> Tensor {
        try forward(x, spans: [0..<(x.rank == 2 ? x.shape[0] : 0)], training: training)
    }

    /// Attends within each span of rows of `x` (`[tokens, width]`); rows outside every span
    /// get zero attention output (the output projection's bias only).
    /// - Throws: `invalidArgument` when `width` is not a positive multiple of `heads` or a span
    ///   lies outside the rows or overlaps another; `dimensionMismatch` for another input shape.
    public func forward(_ x: Tensor, spans: [Range<Int>], training: Bool) throws(VecDBError) -> Tensor {
        guard heads > 0, width > 0, width % heads == 0 else {
            throw VecDBError(.invalidArgument, "attention '\(name)': width \(width) is not a positive multiple of \(heads) heads")
        }
        guard x.rank == 2, x.shape[1] == width else {
            throw VecDBError(.dimensionMismatch, "attention '\(name)' expects input [tokens, \(width)], got \(Tensor.describe(x.shape))")
        }
        let tokens = x.shape[0]
        var end = 0
        for s in spans.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            guard s.lowerBound >= end, s.upperBound <= tokens else {
                throw VecDBError(.invalidArgument, "attention '\(name)': span \(s) lies outside 0..<\(tokens) or overlaps another")
            }
            end = s.upperBound
        }
        let qkv = try projection.forward(x, training: training)
        let headDim = width / heads
        let ld = 3 * width
        var attended = [Float](repeating: 0, count: tokens * width)
        var probabilities: [[Float]] = []
        probabilities.reserveCapacity(spans.count * heads)
        qkv.storage.withUnsafeBufferPointer { qp in
            attended.withUnsafeMutableBufferPointer { op in
                guard let q0 = qp.baseAddress, let o0 = op.baseAddress else { return }
                for span in spans {
                    let n = span.count
                    for h in 0..<heads {
                        var p = [Float](repeating: 0, count: n * n)
                        if n > 0 {
                            let q = q0 + span.lowerBound * ld + h * headDim
                            p.withUnsafeMutableBufferPointer { pp in
                                guard let pb = pp.baseAddress else { return }
                                Attention.head(
                                    q: q, k: q + width, v: q + 2 * width, ld: ld, n: n, headDim: headDim, causal: causal,
                                    out: o0 + span.lowerBound * width + h * headDim, ldo: width, probabilities: pb)
                            }
                        }
                        probabilities.append(p)
                    }
                }
            }
        }
        cache = Cache(qkv: qkv.storage, spans: spans, probabilities: probabilities)
        return try output.forward(Tensor(uncheckedShape: [tokens, width], storage: attended), training: training)
    }

    public func backward(_ g: Tensor) throws(VecDBError) -> Tensor {
        let c = try cached(cache, "forward pass")
        let dAttended = try output.backward(g)
        let tokens = dAttended.shape[0]
        let headDim = width / heads
        let ld = 3 * width
        let scale = 1 / Float(headDim).squareRoot()
        var dqkv = [Float](repeating: 0, count: tokens * ld)
        var slot = 0
        for span in c.spans {
            let n = span.count
            for h in 0..<heads {
                defer { slot += 1 }
                guard n > 0 else { continue }
                let p = c.probabilities[slot]
                // Gather this head's Q, K, V and dO as dense n × headDim blocks.
                var q = [Float](repeating: 0, count: n * headDim)
                var k = q
                var v = q
                var dO = q
                for i in 0..<n {
                    let row = (span.lowerBound + i) * ld + h * headDim
                    let orow = (span.lowerBound + i) * width + h * headDim
                    for j in 0..<headDim {
                        q[i * headDim + j] = c.qkv[row + j]
                        k[i * headDim + j] = c.qkv[row + width + j]
                        v[i * headDim + j] = c.qkv[row + 2 * width + j]
                        dO[i * headDim + j] = dAttended.storage[orow + j]
                    }
                }
                var dV = [Float](repeating: 0, count: n * headDim)
                gemm(transA: true, transB: false, m: n, n: headDim, k: n, a: p, lda: n, b: dO, ldb: headDim, beta: 0, c: &dV, ldc: headDim)
                var dS = [Float](repeating: 0, count: n * n)
                gemm(transA: false, transB: true, m: n, n: n, k: headDim, a: dO, lda: headDim, b: v, ldb: headDim, beta: 0, c: &dS, ldc: n)
                for i in 0..<n {
                    var dot: Float = 0
                    for j in 0..<n { dot += dS[i * n + j] * p[i * n + j] }
                    for j in 0..<n { dS[i * n + j] = p[i * n + j] * (dS[i * n + j] - dot) }
                }
                var dQ = [Float](repeating: 0, count: n * headDim)
                gemm(
                    transA: false, transB: false, m: n, n: headDim, k: n, alpha: scale, a: dS, lda: n, b: k, ldb: headDim, beta: 0,
                    c: &dQ, ldc: headDim)
                var dK = [Float](repeating: 0, count: n * headDim)
                gemm(
                    transA: true, transB: false, m: n, n: headDim, k: n, alpha: scale, a: dS, lda: n, b: q, ldb: headDim, beta: 0,
                    c: &dK, ldc: headDim)
                for i in 0..<n {
                    let row = (span.lowerBound + i) * ld + h * headDim
                    for j in 0..<headDim {
                        dqkv[row + j] = dQ[i * headDim + j]
                        dqkv[row + width + j] = dK[i * headDim + j]
                        dqkv[row + 2 * width + j] = dV[i * headDim + j]
                    }
                }
            }
        }
        return try projection.backward(Tensor(uncheckedShape: [tokens, ld], storage: dqkv))
    }
}
