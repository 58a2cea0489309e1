import CVecDBKernels
import Foundation
import VecDBKernels
import VecDBNN

/// A BERT sentence encoder for inference: token ids in, one L2-normalised vector per sentence
/// out (the mean of the last layer's states over the sentence's tokens).
///
/// The forward pass, for a batch of sentences packed back to back (no padding):
///
/// ```
/// x = LayerNorm(word[id] + position[p] + type[0])                        [tokens, h]
/// repeat per layer:
///     q|k|v = x·Wqkvᵀ + b                      one GEMM, the three projections side by side
///     a     = attention per sentence and head   (softmax(q·kᵀ/√(h/heads))·v; ``Attention``)
///     x     = LayerNorm(x + a·Woᵀ + bo)
///     x     = LayerNorm(x + GELU(x·W1ᵀ + b1)·W2ᵀ + b2)   exact erf GELU
/// out = normalise(mean of each sentence's rows of x)
/// ```
///
/// GEMMs go through ``BLAS`` (OpenBLAS); LayerNorm, GELU, softmax and attention are
/// vectorised C kernels. Sentences are sorted by length and grouped into batches of similar
/// lengths; batches run on `threads` workers, each with a single-threaded BLAS.
public final class SentenceEncoder: Sendable {
    /// The model's shape.
    public let configuration: BertConfiguration
    let words: [Float]
    let positions: [Float]
    let tokenType: [Float]
    let embeddingNorm: (gamma: [Float], beta: [Float])
    let layers: [LayerWeights]

    struct LayerWeights: Sendable {
        var qkvWeight: [Float]  // [3h, h]: query, key, value rows
        var qkvBias: [Float]
        var outputWeight: [Float]  // [h, h]
        var outputBias: [Float]
        var attentionNorm: (gamma: [Float], beta: [Float])
        var upWeight: [Float]  // [i, h]
        var upBias: [Float]
        var downWeight: [Float]  // [h, i]
        var downBias: [Float]
        var outputNorm: (gamma: [Float], beta: [Float])
    }

    /// The most tokens one batch packs: enough rows for efficient GEMMs, few enough that a
    /// batch's activations stay in the last-level cache.
    public static let batchTokens = 1024

    /// An encoder from tensors named as in a Hugging Face `BertModel` checkpoint (an optional
    /// `bert.` prefix is accepted; extra tensors such as `position_ids` or a pooler are ignored).
    ///
    /// - Throws: ``VecDBError/Code/malformedFile`` naming the tensor when one is missing or its
    ///   shape differs from what `configuration` implies.
    public init(configuration c: BertConfiguration, tensors: [String: Tensor], path: String = "<tensors>") throws(VecDBError) {
        let prefix =
            tensors["embeddings.word_embeddings.weight"] == nil && tensors["bert.embeddings.word_embeddings.weight"] != nil ? "bert." : ""
        var found: [String: [Float]] = [:]
        for (name, shape) in c.expectedTensors {
            guard let t = tensors[prefix + name] else {
                throw VecDBError(
                    .malformedFile,
                    "\(path): the model lacks tensor '\(prefix + name)' (config.json: \(c.layers) layers, hidden size \(c.hiddenSize))",
                    path: path)
            }
            guard t.shape == shape else {
                throw VecDBError(
                    .malformedFile,
                    "\(path): tensor '\(prefix + name)' has shape \(Tensor.describe(t.shape)), but config.json (hidden size \(c.hiddenSize), intermediate size \(c.intermediateSize), vocabulary \(c.vocabularySize)) implies \(Tensor.describe(shape)): a model of another shape",
                    path: path)
            }
            guard t.storage.allSatisfy({ $0.isFinite }) else {
                throw VecDBError(.malformedFile, "\(path): tensor '\(prefix + name)' holds NaN or infinite values", path: path)
            }
            found[name] = t.storage
        }
        func w(_ name: String) -> [Float] { found[name] ?? [] }
        configuration = c
        words = w("embeddings.word_embeddings.weight")
        positions = w("embeddings.position_embeddings.weight")
        tokenType = Array(w("embeddings.token_type_embeddings.weight").prefix(c.hiddenSize))
        embeddingNorm = (w("embeddings.LayerNorm.weight"), w("embeddings.LayerNorm.bias"))
        layers = (0..<c.layers).map { l in
            let p = "encoder.layer.\(l)."
            return LayerWeights(
                qkvWeight: w(p + "attention.self.query.weight") + w(p + "attention.self.key.weight") + w(p + "attention.self.value.weight"),
                qkvBias: w(p + "attention.self.query.bias") + w(p + "attention.self.key.bias") + w(p + "attention.self.value.bias"),
                outputWeight: w(p + "attention.output.dense.weight"), outputBias: w(p + "attention.output.dense.bias"),
                attentionNorm: (w(p + "attention.output.LayerNorm.weight"), w(p + "attention.output.LayerNorm.bias")),
                upWeight: w(p + "intermediate.dense.weight"), upBias: w(p + "intermediate.dense.bias"),
                downWeight: w(p + "output.dense.weight"), downBias: w(p + "output.dense.bias"),
                outputNorm: (w(p + "output.LayerNorm.weight"), w(p + "output.LayerNorm.bias")))
        }
    }

    /// Reads `config.json` and `model.safetensors` from a model directory.
    ///
    /// - Throws: ``VecDBError/Code/notFound`` without the files; ``VecDBError/Code/malformedFile``
    ///   or ``VecDBError/Code/corruptFile`` for files that do not hold this kind of model.
    public convenience init(directory: String) throws(VecDBError) {
        let configuration = try BertConfiguration(file: directory + "/config.json")
        let weights = directory + "/model.safetensors"
        guard FileManager.default.fileExists(atPath: weights) else {
            throw VecDBError(.notFound, "\(weights): no such file", path: weights)
        }
        try self.init(configuration: configuration, tensors: try Checkpoint.load(weights).tensors, path: weights)
    }

    /// Components of each embedding.
    public var dimension: Int { configuration.hiddenSize }

    /// One embedding per sequence of token ids.
    ///
    /// - Parameters:
    ///   - tokenIDs: each sequence as the tokenizer gives it (`[CLS] … [SEP]`), or padded to a
    ///     common length.
    ///   - attentionMask: 1 for the tokens to use and 0 for padding, the shape of `tokenIDs`;
    ///     nil uses every token. Tokens keep their positions, so a padded batch with its mask
    ///     gives exactly the embeddings of the unpadded sequences.
    ///   - threads: workers; each runs whole batches with a single-threaded BLAS.
    ///   - profile: when given, receives the time spent in each part.
    /// - Returns: `tokenIDs.count` vectors of ``dimension`` components, each of unit length.
    /// - Throws: ``VecDBError/Code/invalidArgument`` for an id outside the vocabulary, a
    ///   sequence longer than the position table, a mask of another shape or with values other
    ///   than 0 and 1, or a sequence with no token left.
    public func embed(
        tokenIDs: [[Int32]], attentionMask: [[Int32]]? = nil, threads: Int = 1, profile: EncoderProfile? = nil
    ) throws(VecDBError) -> [[Float]] {
        let sequences = try packedSequences(tokenIDs, attentionMask)
        return run(sequences, threads: threads, profile: profile)
    }

    /// A sequence to encode: its token ids and their positions.
    struct Sequence {
        var ids: [Int32]
        var positions: [Int32]
    }

    func packedSequences(_ tokenIDs: [[Int32]], _ mask: [[Int32]]?) throws(VecDBError) -> [Sequence] {
        let c = configuration
        if let mask, mask.count != tokenIDs.count {
            throw VecDBError(.invalidArgument, "attention mask has \(mask.count) rows for \(tokenIDs.count) sequences")
        }
        var out: [Sequence] = []
        out.reserveCapacity(tokenIDs.count)
        for (s, ids) in tokenIDs.enumerated() {
            guard ids.count <= c.maxPositions else {
                throw VecDBError(.invalidArgument, "sequence \(s) has \(ids.count) tokens; the model has \(c.maxPositions) positions")
            }
            var seq = Sequence(ids: [], positions: [])
            let m = mask?[s]
            if let m, m.count != ids.count {
                throw VecDBError(.invalidArgument, "attention mask row \(s) has \(m.count) values for \(ids.count) tokens")
            }
            for (p, id) in ids.enumerated() {
                let keep = m?[p] ?? 1
                guard keep == 0 || keep == 1 else {
                    throw VecDBError(.invalidArgument, "attention mask row \(s) holds \(keep); only 0 and 1 are allowed")
                }
                guard keep == 1 else { continue }
                guard id >= 0 && Int(id) < c.vocabularySize else {
                    throw VecDBError(.invalidArgument, "sequence \(s) has token id \(id), outside the vocabulary of \(c.vocabularySize)")
                }
                seq.ids.append(id)
                seq.positions.append(Int32(p))
            }
            guard !seq.ids.isEmpty else { throw VecDBError(.invalidArgument, "sequence \(s) has no token to embed") }
            out.append(seq)
        }
        return out
    }
}

/// Where an encoder's time went, in seconds summed over workers.
public final class EncoderProfile: @unchecked Sendable {
    // Safe: every field is written under `lock`.
    private let lock = NSLock()
    private var parts: [String: Double] = [:]

    /// An empty profile.
    public init() {}

    /// Adds `seconds` to `part`.
    public func add(_ part: String, _ seconds: Double) {
        lock.lock()
        parts[part, default: 0] += seconds
        lock.unlock()
    }

    /// Seconds by part: `tokenize`, `embeddings`, `gemm`, `attention`, `gelu`, `layernorm`,
    /// `pooling`.
    public var seconds: [String: Double] {
        lock.lock()
        defer { lock.unlock() }
        return parts
    }
}
