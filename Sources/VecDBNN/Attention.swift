import CVecDBKernels
import VecDBKernels

/// Multi-head scaled dot-product attention over packed sequences: the inference (forward) pass
/// shared by the text encoder and the sequence recommenders.
///
/// Sequences are packed back to back with no padding: a batch is `tokens` rows, and `spans`
/// says which rows form each sequence. A token attends only to tokens of its own span (and with
/// `causal`, only to those at or before it), which is exactly what an attention mask over a
/// padded batch computes, without the work on padding.
///
/// ```
/// qkv row t:  ┌──────── Q (width) ────────┬──────── K (width) ────────┬──────── V (width) ────────┐
///             │ head 0 │ head 1 │ … │ h−1 │ head 0 │ head 1 │ … │ h−1 │ head 0 │ head 1 │ … │ h−1 │
///             └───────────────────────────┴───────────────────────────┴───────────────────────────┘
/// out row t:  │ head 0 │ head 1 │ … │ h−1 │   out_t = Σ_j softmax_j(q_t·k_j / √(width/heads)) v_j
/// ```
public enum Attention {
    /// Floats of scratch one call of ``forward(qkv:spans:width:heads:causal:into:scratch:)``
    /// needs for sequences up to `longest` tokens.
    public static func scratchCount(longest: Int, width: Int, heads: Int) -> Int {
        let l = max(longest, 1)
        return max((width / max(heads, 1) + 1) * l, l * l)
    }

    /// Spans at least this long go through GEMMs (scores, then weighted values); shorter ones
    /// through the direct kernel, which has no per-call overhead.
    public static let gemmThreshold = 48

    /// Writes attention outputs for every token of every span.
    ///
    /// - Parameters:
    ///   - qkv: `tokens × 3·width` values, each row Q, K, V as drawn above.
    ///   - spans: row ranges of the sequences; they must lie inside the batch and not overlap.
    ///   - width: the model width; a multiple of `heads`.
    ///   - causal: whether a token sees only itself and earlier tokens of its span.
    ///   - out: `tokens × width` values; rows outside every span are left as they were.
    ///   - scratch: at least ``scratchCount(longest:width:heads:)`` floats.
    public static func forward(
        qkv: UnsafePointer<Float>, spans: [Range<Int>], width: Int, heads: Int, causal: Bool,
        into out: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
    ) {
        let headDim = width / heads
        let scale = 1 / Float(headDim).squareRoot()
        let ld = 3 * width
        for span in spans where !span.isEmpty {
            let base = qkv + span.lowerBound * ld
            let n = span.count
            for h in 0..<heads {
                let q = base + h * headDim
                let k = base + width + h * headDim
                let v = base + 2 * width + h * headDim
                let o = out + span.lowerBound * width + h * headDim
                if n >= gemmThreshold {
                    head(q: q, k: k, v: v, ld: ld, n: n, headDim: headDim, causal: causal, out: o, ldo: width, probabilities: scratch)
                } else {
                    vdb_nn_attention_head(q, k, v, ld, n, headDim, scale, causal ? 1 : 0, o, width, scratch)
                }
            }
        }
    }

    /// One head of one sequence through GEMMs: `P = softmax(Q Kᵀ / √headDim)` (causal: zero above
    /// the diagonal), then `out = P V`. Q, K and V are `n` rows `ld` apart, `out` rows `ldo`
    /// apart, `probabilities` receives P (`n × n`). The GEMM path of
    /// ``forward(qkv:spans:width:heads:causal:into:scratch:)``, and the forward pass of
    /// ``CausalSelfAttention``, which keeps P for its backward pass.
    static func head(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ld: Int, n: Int, headDim: Int, causal: Bool,
        out: UnsafeMutablePointer<Float>, ldo: Int, probabilities p: UnsafeMutablePointer<Float>
    ) {
        let scale = 1 / Float(headDim).squareRoot()
        BLAS.sgemm(transB: true, m: n, n: n, k: headDim, alpha: scale, a: q, lda: ld, b: k, ldb: ld, c: p, ldc: n)
        vdb_nn_softmax_rows(p, n, n, n, causal ? 1 : 0)
        BLAS.sgemm(m: n, n: headDim, k: n, a: p, lda: n, b: v, ldb: ld, c: out, ldc: ldo)
    }
}
