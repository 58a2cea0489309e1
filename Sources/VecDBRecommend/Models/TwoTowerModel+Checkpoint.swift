import VecDBKernels
import VecDBNN

/// Checkpoints: a safetensors file (``VecDBNN/Checkpoint``) holding the user tower
/// (`user.history` `[items, width]`, `user1`, `user2` as `.weight`/`.bias`) and the item tower's
/// outputs (`item.vectors` `[items, dimension]`), with `__metadata__` keys `model` ("two-tower"),
/// `model_format_version` ("1") and the training hyper-parameters as `param.NAME`.
extension TwoTowerModel {
    /// The version of the checkpoint layout this code writes and reads.
    public static let checkpointFormatVersion = "1"

    /// Writes the model to `path` atomically.
    ///
    /// - Throws: ``VecDBError/Code/io`` from the file layer.
    public func save(to path: String) throws(VecDBError) {
        try Checkpoint.save(try checkpointTensors(), metadata: checkpointMetadata, to: path)
    }

    /// The checkpoint's bytes, as ``save(to:)`` writes them (serving keeps them in its version
    /// files).
    public func checkpointBytes() throws(VecDBError) -> [UInt8] {
        Checkpoint.encode(try checkpointTensors(), metadata: checkpointMetadata)
    }

    /// Reads a model from ``checkpointBytes()``.
    ///
    /// - Throws: as ``load(from:)``.
    public static func load(checkpoint bytes: [UInt8]) throws(VecDBError) -> TwoTowerModel {
        try model(from: try Checkpoint.decode(bytes), path: "<checkpoint>")
    }

    func checkpointTensors() throws(VecDBError) -> [String: Tensor] {
        var tensors = user1.tensors("user1").merging(user2.tensors("user2")) { a, _ in a }
        tensors["user.history"] = try Tensor(shape: [itemCount, embeddingWidth], storage: historyEmbedding)
        tensors["item.vectors"] = try Tensor(shape: [itemCount, dimension], storage: itemVectors)
        return tensors
    }

    var checkpointMetadata: [String: String] {
        var metadata = ["model": "two-tower", "model_format_version": Self.checkpointFormatVersion]
        for (k, v) in params { metadata["param." + k] = String(v) }
        return metadata
    }

    /// Reads a model written by ``save(to:)``.
    ///
    /// - Throws: ``VecDBError/Code/malformedFile`` for another model or format version, a
    ///   missing tensor or sizes that disagree; file errors from ``VecDBNN/Checkpoint/load(_:)``.
    public static func load(from path: String) throws(VecDBError) -> TwoTowerModel {
        try model(from: try Checkpoint.load(path), path: path)
    }

    static func model(from contents: Checkpoint.Contents, path: String) throws(VecDBError) -> TwoTowerModel {
        guard contents.metadata["model"] == "two-tower" else {
            throw VecDBError(
                .malformedFile, "\(path): not a two-tower checkpoint (model '\(contents.metadata["model"] ?? "none")')", path: path)
        }
        guard contents.metadata["model_format_version"] == checkpointFormatVersion else {
            throw VecDBError(
                .malformedFile,
                "\(path): checkpoint format version '\(contents.metadata["model_format_version"] ?? "none")', "
                    + "this build reads '\(checkpointFormatVersion)'", path: path)
        }
        func tensor(_ n: String) throws(VecDBError) -> Tensor {
            guard let t = contents.tensors[n] else { throw VecDBError(.malformedFile, "\(path): checkpoint lacks '\(n)'", path: path) }
            return t
        }
        var params: [String: Double] = [:]
        for (k, v) in contents.metadata where k.hasPrefix("param.") { params[String(k.dropFirst(6))] = Double(v) }
        do throws(VecDBError) {
            let history = try tensor("user.history")
            guard history.rank == 2 else { throw VecDBError(.malformedFile, "user.history is not a matrix") }
            return try TwoTowerModel(
                itemCount: history.shape[0], embeddingWidth: history.shape[1], historyEmbedding: history.storage,
                user1: DenseLayerWeights(weight: tensor("user1.weight"), bias: tensor("user1.bias"), activation: .relu, name: "user1"),
                user2: DenseLayerWeights(
                    weight: tensor("user2.weight"), bias: tensor("user2.bias"), activation: .identity, name: "user2"),
                itemVectors: tensor("item.vectors").storage, params: params)
        } catch {
            throw VecDBError(.malformedFile, "\(path): \(error.message)", path: path)
        }
    }
}
