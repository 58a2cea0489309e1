import Foundation
import VecDBKernels

/// The shape of a BERT encoder, read from a Hugging Face `config.json`.
public struct BertConfiguration: Sendable, Equatable {
    /// Model width.
    public var hiddenSize: Int
    /// Transformer layers.
    public var layers: Int
    /// Attention heads per layer; divides `hiddenSize`.
    public var heads: Int
    /// Width of the feed-forward block.
    public var intermediateSize: Int
    /// Vocabulary entries.
    public var vocabularySize: Int
    /// Positions with an embedding: the longest input.
    public var maxPositions: Int
    /// Segment (token-type) embeddings.
    public var typeVocabularySize: Int
    /// The LayerNorm epsilon.
    public var layerNormEpsilon: Float

    /// all-MiniLM-L6-v2's shape.
    public static let miniLML6 = BertConfiguration(
        hiddenSize: 384, layers: 6, heads: 12, intermediateSize: 1536, vocabularySize: 30522, maxPositions: 512,
        typeVocabularySize: 2, layerNormEpsilon: 1e-12)

    /// A configuration from its values.
    public init(
        hiddenSize: Int, layers: Int, heads: Int, intermediateSize: Int, vocabularySize: Int, maxPositions: Int,
        typeVocabularySize: Int, layerNormEpsilon: Float
    ) {
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.heads = heads
        self.intermediateSize = intermediateSize
        self.vocabularySize = vocabularySize
        self.maxPositions = maxPositions
        self.typeVocabularySize = typeVocabularySize
        self.layerNormEpsilon = layerNormEpsilon
    }

    /// Reads `config.json`.
    ///
    /// - Throws: ``VecDBError/Code/notFound`` for a missing file, ``VecDBError/Code/malformedFile``
    ///   for one that is not a BERT configuration this encoder runs: a missing or non-positive
    ///   size, a width the heads do not divide, an activation other than the exact `gelu`, or
    ///   position embeddings other than `absolute`.
    public init(file path: String) throws(VecDBError) {
        let text = try WordPieceTokenizer.readText(path)
        func bad(_ why: String) -> VecDBError { VecDBError(.malformedFile, "\(path): \(why)", path: path) }
        guard let data = text.data(using: .utf8), let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw bad("not a JSON object")
        }
        func int(_ key: String) throws(VecDBError) -> Int {
            guard let n = o[key] as? NSNumber, n.doubleValue == n.doubleValue.rounded(), n.intValue > 0, n.intValue < 1 << 24 else {
                throw bad("'\(key)' is missing or not a positive integer")
            }
            return n.intValue
        }
        if let type = o["model_type"] as? String, type != "bert" { throw bad("model_type '\(type)' is not bert") }
        if let act = o["hidden_act"] as? String, act != "gelu" {
            throw bad("hidden_act '\(act)' is not supported; this encoder runs the exact (erf) 'gelu'")
        }
        if let pos = o["position_embedding_type"] as? String, pos != "absolute" {
            throw bad("position_embedding_type '\(pos)' is not supported; only 'absolute'")
        }
        let eps = (o["layer_norm_eps"] as? NSNumber)?.doubleValue ?? 1e-12
        guard eps > 0, eps < 1 else { throw bad("layer_norm_eps \(eps) is not in (0, 1)") }
        self.init(
            hiddenSize: try int("hidden_size"), layers: try int("num_hidden_layers"), heads: try int("num_attention_heads"),
            intermediateSize: try int("intermediate_size"), vocabularySize: try int("vocab_size"),
            maxPositions: try int("max_position_embeddings"), typeVocabularySize: (o["type_vocab_size"] as? Int) ?? 2,
            layerNormEpsilon: Float(eps))
        guard hiddenSize % heads == 0 else { throw bad("hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(heads)") }
        guard typeVocabularySize >= 1 else { throw bad("type_vocab_size must be at least 1") }
    }

    /// The tensors a checkpoint of this shape holds, with their shapes, by name.
    public var expectedTensors: [(name: String, shape: [Int])] {
        let h = hiddenSize
        let i = intermediateSize
        var out: [(String, [Int])] = [
            ("embeddings.word_embeddings.weight", [vocabularySize, h]),
            ("embeddings.position_embeddings.weight", [maxPositions, h]),
            ("embeddings.token_type_embeddings.weight", [typeVocabularySize, h]),
            ("embeddings.LayerNorm.weight", [h]), ("embeddings.LayerNorm.bias", [h]),
        ]
        for l in 0..<layers {
            let p = "encoder.layer.\(l)."
            for part in ["query", "key", "value"] {
                out.append((p + "attention.self.\(part).weight", [h, h]))
                out.append((p + "attention.self.\(part).bias", [h]))
            }
            out += [
                (p + "attention.output.dense.weight", [h, h]), (p + "attention.output.dense.bias", [h]),
                (p + "attention.output.LayerNorm.weight", [h]), (p + "attention.output.LayerNorm.bias", [h]),
                (p + "intermediate.dense.weight", [i, h]), (p + "intermediate.dense.bias", [i]),
                (p + "output.dense.weight", [h, i]), (p + "output.dense.bias", [h]),
                (p + "output.LayerNorm.weight", [h]), (p + "output.LayerNorm.bias", [h]),
            ]
        }
        return out
    }
}
