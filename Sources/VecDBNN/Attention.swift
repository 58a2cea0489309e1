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
        (width / max(heads, 1) + 1) * max(longest, 1)
    }

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
            for h in 0..<heads {
                vdb_nn_attention_head(
                    base + h * headDim, base + width + h * headDim, base + 2 * width + h * headDim, ld, span.count,
                    headDim, scale, causal ? 1 : 0, out + span.lowerBound * width + h * headDim, width, scratch)
            }
        }
    }
}
