import VecDBKernels
import VecDBNN

/// Mult-DAE and Mult-VAE (Liang et al., "Variational Autoencoders for Collaborative Filtering",
/// 2018): an autoencoder over a user's whole item row with a multinomial likelihood.
///
/// ```
///   x (items, L2-normalised) ─► enc1 [I→600] tanh ─► enc2 ─► z ─► dec1 [200→600] tanh ─► dec2 [600→I] ─► logits
///   DAE: enc2 [600→200] tanh, z = enc2's output
///   VAE: enc2 [600→400] linear = (μ, log σ²); z = μ at inference, μ + σ·ε in training
/// ```
///
/// A user is scored by one forward pass over their history, so users never seen in training are
/// scored without refitting (fold-in). As an ``EmbeddingModel`` the model is exact: the user
/// embedding is dec1's output with a trailing 1, and item i's embedding is row i of dec2's weight
/// with dec2's bias i appended, so their inner product is the logit. ``latent(history:)`` gives
/// the encoder's mean (the VAE's posterior mean) for uses that want the bottleneck instead.
public struct MultVAEModel: EmbeddingModel {
    /// Denoising (Mult-DAE) or variational (Mult-VAE).
    public enum Variant: String, Sendable, CaseIterable {
        /// Mult-DAE: a deterministic bottleneck, trained with input dropout.
        case dae = "mult-dae"
        /// Mult-VAE: a Gaussian bottleneck with a β-weighted KL term.
        case vae = "mult-vae"
    }

    /// Which of the two models.
    public let variant: Variant
    public let itemCount: Int
    let enc1: DenseLayerWeights
    let enc2: DenseLayerWeights
    let dec1: DenseLayerWeights
    let dec2: DenseLayerWeights

    init(variant: Variant, enc1: DenseLayerWeights, enc2: DenseLayerWeights, dec1: DenseLayerWeights, dec2: DenseLayerWeights)
        throws(VecDBError)
    {
        let latent = dec1.inputs
        guard enc1.outputs == enc2.inputs, enc2.outputs == (variant == .vae ? 2 * latent : latent),
            dec1.outputs == dec2.inputs, enc1.inputs == dec2.outputs, enc1.inputs > 0
        else {
            throw VecDBError(
                .dimensionMismatch,
                "\(variant.rawValue): layer sizes do not chain: [\(enc1.inputs)→\(enc1.outputs)], [\(enc2.inputs)→\(enc2.outputs)], "
                    + "[\(dec1.inputs)→\(dec1.outputs)], [\(dec2.inputs)→\(dec2.outputs)]")
        }
        self.variant = variant
        self.itemCount = enc1.inputs
        self.enc1 = enc1
        self.enc2 = enc2
        self.dec1 = dec1
        self.dec2 = dec2
    }

    /// The size of the bottleneck (200 by default).
    public var latentDimension: Int { dec1.inputs }

    /// dec1's outputs plus one (the bias slot).
    public var dimension: Int { dec1.outputs + 1 }

    /// The distinct in-range items of a history, ascending.
    func clean(_ history: ArraySlice<Int32>) -> [Int32] {
        var out = history.filter { $0 >= 0 && Int($0) < itemCount }
        out.sort()
        var unique: [Int32] = []
        unique.reserveCapacity(out.count)
        for i in out where unique.last != i { unique.append(i) }
        out = unique
        return out
    }

    /// The encoder's output for a cleaned history: z (the mean for the VAE).
    func encode(_ items: [Int32]) -> [Float] {
        let h = enc1.apply(indices: items[...], value: items.isEmpty ? 0 : 1 / Float(items.count).squareRoot())
        let e = enc2.apply(h)
        return variant == .vae ? Array(e[0..<latentDimension]) : e
    }

    /// The decoder's hidden layer for a cleaned history.
    func hidden(_ items: [Int32]) -> [Float] { dec1.apply(encode(items)) }

    /// The bottleneck code of a user: the encoder's mean (Mult-VAE) or output (Mult-DAE).
    ///
    /// - Parameter history: item indices the user interacted with.
    /// - Returns: ``latentDimension`` floats.
    /// - Throws: ``VecDBError/Code/invalidArgument`` for an index outside `0..<itemCount`.
    public func latent(history: [Int32]) throws(VecDBError) -> [Float] {
        try check(history)
        return encode(clean(history[...]))
    }

    public func score(history: ArraySlice<Int32>, into scores: inout [Float]) {
        let logits = dec2.apply(hidden(clean(history)))
        for i in 0..<min(scores.count, logits.count) { scores[i] = logits[i] }
    }

    public func itemEmbeddings() -> [[Float]] {
        let h = dec2.inputs
        return (0..<itemCount).map { i in Array(dec2.weight[(i * h)..<((i + 1) * h)]) + [dec2.bias[i]] }
    }

    public func userEmbedding(history: [Int32]) throws(VecDBError) -> [Float] {
        try check(history)
        return hidden(clean(history[...])) + [1]
    }

    func check(_ history: [Int32]) throws(VecDBError) {
        for i in history where i < 0 || Int(i) >= itemCount {
            throw VecDBError(.invalidArgument, "\(variant.rawValue): item index \(i) is outside 0..<\(itemCount)")
        }
    }
}
