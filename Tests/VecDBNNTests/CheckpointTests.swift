import Foundation
import Testing
import VecDBKernels
import VecDBTestSupport

@testable import VecDBNN

@Suite("Safetensors checkpoints")
struct CheckpointTests {
    @Test func reloadGivesBitIdenticalOutputs() throws {
        let dir = TemporaryDirectory()
        let (images, _) = try TrainingTests.fashionSlice()
        let batch = try Batches.gather(images, rows: Array(0..<8))
        let model = TrainingTests.smallCNN(seed: 1)
        // Move the weights and running statistics off their initial values.
        let opt = Adam(learningRate: 1e-2)
        for _ in 0..<2 {
            opt.zeroGradients(model.parameters)
            let (_, g) = try Loss.softmaxCrossEntropy(logits: model.forward(batch, training: true), labels: [Int32](repeating: 3, count: 8))
            _ = try model.backward(g)
            opt.step(model.parameters)
        }
        let path = dir.file("cnn.safetensors")
        try Checkpoint.save(model.stateParameters, metadata: ["model": "small-cnn"], to: path)
        let copy = TrainingTests.smallCNN(seed: 2)
        #expect(try copy.forward(batch, training: false) != model.forward(batch, training: false))
        try Checkpoint.restore(copy.stateParameters, from: path)
        #expect(try copy.forward(batch, training: false).storage == model.forward(batch, training: false).storage)
        let contents = try Checkpoint.load(path)
        #expect(contents.metadata["model"] == "small-cnn")
        #expect(contents.metadata["format_version"] == Checkpoint.formatVersion)
        #expect(Set(contents.tensors.keys) == Set(model.stateParameters.map(\.name)))
        #expect(contents.tensors["bn1.running_mean"] == model.stateParameters.first { $0.name == "bn1.running_mean" }?.value)
    }

    @Test func layoutFollowsTheFormat() throws {
        let t = try Tensor(shape: [2, 2], storage: [1, 2, 3, 4])
        let bytes = Checkpoint.encode(["w": t, "b": Tensor(zeros: [3])])
        let n = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect((8 + n) % 8 == 0)
        let header = try #require(try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any])
        let w = try #require(header["w"] as? [String: Any])
        #expect(w["dtype"] as? String == "F32")
        #expect((w["shape"] as? [Int]) == [2, 2])
        #expect((w["data_offsets"] as? [Int]) == [12, 28])  // "b" (12 bytes) sorts first
        #expect(bytes.count == 8 + n + 28)
        #expect(Array(bytes[(8 + n + 12)..<(8 + n + 16)]) == [0, 0, 0x80, 0x3F])  // 1.0f little-endian
    }

    @Test func halfPrecisionTensorsLoadAsFloat() throws {
        // A file as another tool writes it: F16 and BF16 tensors, no VecDB metadata.
        let header = #"{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]}}"#
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes += $0 }
        bytes += Array(header.utf8)
        bytes += [0x00, 0x3C, 0x00, 0xC0]  // F16 1.0, -2.0
        bytes += [0x80, 0x3F, 0x40, 0x40]  // BF16 1.0, 3.0
        let c = try Checkpoint.decode(bytes)
        #expect(c.tensors["h"]?.storage == [1, -2])
        #expect(c.tensors["b"]?.storage == [1, 3])
    }

    /// A file written by the `safetensors` Python library (0.8.0, `safetensors.numpy.save_file`).
    @Test func readsFilesWrittenByTheReferenceLibrary() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources").path
        let c = try Checkpoint.load(dir + "/reference.safetensors")
        #expect(c.metadata == ["producer": "safetensors.numpy"])
        #expect(c.tensors["f32"] == (try Tensor(shape: [2, 3], storage: [1.5, -2, 3.25, 0, 1e-3, -7])))
        #expect(c.tensors["f16"]?.storage == [0.5, -1.25, 65504, Float(Float16(6.1e-5))])
        #expect(c.tensors["f64"]?.storage == [1, 2.5])
        #expect(c.tensors["scalar"]?.shape == [])
        #expect(c.tensors["scalar"]?.storage == [4])
    }

    static func file(_ header: String, data: [UInt8], length: UInt64? = nil) -> [UInt8] {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: (length ?? UInt64(header.utf8.count)).littleEndian) { bytes += $0 }
        return bytes + Array(header.utf8) + data
    }

    @Test func malformedFilesAreTypedErrors() throws {
        let four = [UInt8](repeating: 0, count: 8)
        let cases: [(String, [UInt8])] = [
            ("shorter than the 8-byte", [1, 2, 3]),
            ("header length", Self.file("{}", data: [], length: 1 << 40)),
            ("header length", Self.file("{}", data: [], length: 50)),
            ("not JSON", Self.file("{nope", data: [])),
            ("not a JSON object", Self.file("[1]", data: [])),
            ("lacks dtype", Self.file(#"{"a":{"shape":[2]}}"#, data: four)),
            ("unsupported dtype", Self.file(#"{"a":{"dtype":"I8","shape":[8],"data_offsets":[0,8]}}"#, data: four)),
            ("outside", Self.file(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: four)),
            ("needs 3 × 4 bytes", Self.file(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: four)),
            ("bad shape", Self.file(#"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: four)),
            (
                "overlap",
                Self.file(
                    #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                    data: four)
            ),
            ("not a string", Self.file(#"{"__metadata__":{"v":1}}"#, data: [])),
        ]
        for (fragment, bytes) in cases {
            expectVecDBError(.malformedFile, containing: fragment) { try Checkpoint.decode(bytes) }
        }
    }

    @Test func corruptionIsDetected() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("t.safetensors")
        try Checkpoint.save(["w": Tensor(repeating: 2, shape: [4])], to: path)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count - 1] ^= 0x01
        expectVecDBError(.corruptFile, containing: "checksum") { try Checkpoint.decode(bytes) }
        bytes.removeLast(2)
        expectVecDBError(.malformedFile) { try Checkpoint.decode(bytes) }
    }

    @Test func restoreChecksNamesAndShapes() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("m.safetensors")
        var g = SeededGenerator(seed: 1)
        try Checkpoint.save(Linear(4, 3, name: "fc", generator: &g).parameters, to: path)
        expectVecDBError(.dimensionMismatch, containing: "parameter 'fc.weight' has shape [2, 4], checkpoint tensor has [3, 4]") {
            try Checkpoint.restore(Linear(4, 2, name: "fc", generator: &g).parameters, from: path)
        }
        expectVecDBError(.notFound, containing: "no tensor 'other.weight'") {
            try Checkpoint.restore(Linear(4, 3, name: "other", generator: &g).parameters, from: path)
        }
        expectVecDBError(.invalidArgument, containing: "two parameters are named 'fc.weight'") {
            try Checkpoint.save(
                Linear(1, 1, name: "fc", generator: &g).parameters + Linear(1, 1, name: "fc", generator: &g).parameters, to: path)
        }
    }
}
