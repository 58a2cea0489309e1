import VecDBKernels
import VecDBNN

/// Checkpoints: a safetensors file (``VecDBNN/Checkpoint``) holding `enc1`, `enc2`, `dec1` and
/// `dec2` (`.weight` `[outputs, inputs]` and `.bias` `[outputs]`), with `__metadata__` keys
/// `model` ("mult-dae" or "mult-vae") and `model_format_version` ("1").
extension MultVAEModel {
    /// The version of the checkpoint layout this code writes and reads.
    public static let checkpointFormatVersion = "1"

    /// Writes the model to `path` atomically.
    ///
    /// - Throws: ``VecDBError/Code/io`` from the file layer.
    public func save(to path: String) throws(VecDBError) {
        try Checkpoint.save(checkpointTensors, metadata: checkpointMetadata, to: path)
    }

    /// The checkpoint's bytes, as ``save(to:)`` writes them (serving keeps them in its version
    /// files).
    public func checkpointBytes() -> [UInt8] {
        Checkpoint.encode(checkpointTensors, metadata: checkpointMetadata)
    }

    /// Reads a model from ``checkpointBytes()``.
    ///
    /// - Throws: as ``load(from:)``.
    public static func load(checkpoint bytes: [UInt8]) throws(VecDBError) -> MultVAEModel {
        try model(from: try Checkpoint.decode(bytes), path: "<checkpoint>")
    }

    var checkpointTensors: [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        for (name, layer) in [("enc1", enc1), ("enc2", enc2), ("dec1", dec1), ("dec2", dec2)] {
            tensors.merge(layer.tensors(name)) { a, _ in a }
        }
        return tensors
    }

    var checkpointMetadata: [String: String] {
        ["model": variant.rawValue, "model_format_version": Self.checkpointFormatVersion]
    }

    /// Reads a model written by ``save(to:)``.
    ///
    /// - Throws: ``VecDBError/Code/malformedFile`` for another model or format version, a
    ///   missing tensor or sizes that do not chain; file errors from ``VecDBNN/Checkpoint/load(_:)``.
    public static func load(from path: String) throws(VecDBError) -> MultVAEModel {
        try model(from: try Checkpoint.load(path), path: path)
    }

    static func model(from contents: Checkpoint.Contents, path: String) throws(VecDBError) -> MultVAEModel {
        guard let name = contents.metadata["model"], let variant = Variant(rawValue: name) else {
            throw VecDBError(
                .malformedFile, "\(path): not a Mult-DAE/VAE checkpoint (model '\(contents.metadata["model"] ?? "none")')", path: path)
        }
        try contents.requireFormatVersion(checkpointFormatVersion, path: path)
        func layer(_ n: String, _ a: DenseLayerWeights.Activation) throws(VecDBError) -> DenseLayerWeights {
            guard let w = contents.tensors[n + ".weight"], let b = contents.tensors[n + ".bias"] else {
                throw VecDBError(.malformedFile, "\(path): checkpoint lacks layer '\(n)'", path: path)
            }
            return try DenseLayerWeights(weight: w, bias: b, activation: a, name: n)
        }
        do throws(VecDBError) {
            return try MultVAEModel(
                variant: variant, enc1: layer("enc1", .tanh), enc2: layer("enc2", variant == .dae ? .tanh : .identity),
                dec1: layer("dec1", .tanh), dec2: layer("dec2", .identity))
        } catch {
            throw VecDBError(.malformedFile, "\(path): \(error.message)", path: path)
        }
    }
}
