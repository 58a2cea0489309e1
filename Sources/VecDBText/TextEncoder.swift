import Foundation
import VecDB
import VecDBDatasets
import VecDBKernels
import VecDBStorage

/// A sentence-embedding model ready to use: a WordPiece tokenizer and a BERT encoder read from
/// a Hugging Face model directory (`config.json`, `model.safetensors`, `vocab.txt`,
/// `tokenizer.json`), such as all-MiniLM-L6-v2 (``miniLM(catalog:)``).
///
/// ```swift
/// let encoder = try TextEncoder.miniLM()
/// let vectors = try encoder.embed(["The weather is lovely today.", "It's so sunny outside!"])
/// ```
public final class TextEncoder: TextEmbedder {
    /// The tokenizer.
    public let tokenizer: WordPieceTokenizer
    /// The encoder.
    public let encoder: SentenceEncoder
    /// The model's name.
    public let modelName: String
    /// CRC-32C (hex) of `model.safetensors`, `config.json` and `vocab.txt`, in that order.
    public let modelChecksum: String
    /// Workers ``embed(_:)`` uses.
    public let threads: Int

    /// The name all-MiniLM-L6-v2 is stored under.
    public static let miniLMName = "all-MiniLM-L6-v2"
    /// The longest input, in tokens with `[CLS]` and `[SEP]` (sentence-transformers' setting for
    /// all-MiniLM-L6-v2).
    public static let maxTokens = 256

    /// Reads a model directory.
    ///
    /// - Throws: ``VecDBError/Code/notFound`` for a missing file, ``VecDBError/Code/malformedFile``
    ///   or ``VecDBError/Code/corruptFile`` for files that do not hold a BERT model of the shape
    ///   `config.json` describes.
    public init(directory: String, name: String? = nil, threads: Int = 1, maxTokens: Int = TextEncoder.maxTokens) throws(VecDBError) {
        let tokenizerFile = directory + "/tokenizer.json"
        tokenizer = try WordPieceTokenizer(
            vocabularyFile: directory + "/vocab.txt",
            tokenizerFile: FileManager.default.fileExists(atPath: tokenizerFile) ? tokenizerFile : nil, maxLength: maxTokens)
        encoder = try SentenceEncoder(directory: directory)
        guard tokenizer.vocabularySize == encoder.configuration.vocabularySize else {
            throw VecDBError(
                .malformedFile,
                "\(directory)/vocab.txt has \(tokenizer.vocabularySize) entries, config.json says vocab_size \(encoder.configuration.vocabularySize)",
                path: directory)
        }
        guard maxTokens <= encoder.configuration.maxPositions else {
            throw VecDBError(.invalidArgument, "maxTokens \(maxTokens) exceeds the model's \(encoder.configuration.maxPositions) positions")
        }
        var crc: UInt32 = 0
        for file in ["model.safetensors", "config.json", "vocab.txt"] {
            guard let data = FileManager.default.contents(atPath: directory + "/" + file) else {
                throw VecDBError(.io, "cannot read \(directory)/\(file)", path: directory + "/" + file)
            }
            crc = data.withUnsafeBytes { CRC32C.checksum($0, seed: crc) }
        }
        modelChecksum = String(format: "%08x", crc)
        modelName = name ?? (directory as NSString).lastPathComponent
        self.threads = max(1, threads)
    }

    /// all-MiniLM-L6-v2 from the data-set cache, fetched there first when missing.
    public static func miniLM(catalog: DatasetCatalog = DatasetCatalog(), threads: Int = 1) throws(VecDBError) -> TextEncoder {
        try TextEncoder(directory: try catalog.fetch("minilm"), name: miniLMName, threads: threads)
    }

    /// Components of each vector.
    public var dimension: Int { encoder.dimension }

    /// One unit-length vector per text, in order, on ``threads`` workers.
    public func embed(_ texts: [String]) throws(VecDBError) -> [[Float]] {
        try embed(texts, threads: threads)
    }

    /// One unit-length vector per text, in order.
    ///
    /// - Parameters:
    ///   - threads: workers for the encoder (tokenisation runs on the caller's thread).
    ///   - profile: receives the time of tokenisation and of each part of the forward pass.
    public func embed(_ texts: [String], threads: Int, profile: EncoderProfile? = nil) throws(VecDBError) -> [[Float]] {
        let start = DispatchTime.now().uptimeNanoseconds
        let ids = texts.map(tokenizer.encode)
        profile?.add("tokenize", Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        return try encoder.embed(tokenIDs: ids, threads: threads, profile: profile)
    }
}
