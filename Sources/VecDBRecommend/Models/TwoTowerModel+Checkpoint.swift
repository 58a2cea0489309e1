import VecDBKernels
import VecDBNN

/// Checkpoints: a safetensors file (``VecDBNN/Checkpoint``) holding both towers' weights.
///
/// ```
///   user.history      [items, d]        the user tower's history-item table
///   user.id           [users, d]        the user-id table (absent when the model reads no id)
///   user.features     [users, fu]       user feature rows (absent when fu = 0)
///   user.known        [users]           1 for a user trained on, 0 for one scored as unseen
///   user1.weight/.bias                  the user tower's first layer [h, d? + d + fu]
///   user.bn.weight/.bias/.running_mean/.running_var   its batch norm (absent without)
///   user2.weight/.bias                  the user tower's output layer [k, h]
///   item.id           [items, d]        the item-id table
///   item.features     [items, fi]       item feature rows (absent when fi = 0)
///   item1.*, item.bn.*, item2.*         the item tower, laid out as the user tower
/// ```
///
/// `__metadata__` holds `model` ("two-tower"), `model_format_version` ("2"), the training
/// hyper-parameters as `param.NAME`, and the fitted feature encoders, when the model has them,
/// as `item_features.encoder` and `user_features.encoder` (``FeatureEncoder/serialized()``).
/// Item vectors are not stored: loading evaluates the item tower on every item. Version 1 (the
/// user tower plus the item tower's outputs only) is no longer read.
extension TwoTowerModel {
    /// The version of the checkpoint layout this code writes and reads.
    public static let checkpointFormatVersion = "2"

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
        var tensors: [String: Tensor] = [:]
        func add(_ t: [String: Tensor]) { tensors.merge(t) { a, _ in a } }
        for (name, tower) in [("user", userTower), ("item", itemTower)] {
            add(tower.first.tensors(name + "1"))
            add(tower.second.tensors(name + "2"))
            if let n = tower.norm { add(n.tensors(name + ".bn")) }
        }
        let d = embeddingWidth
        tensors["user.history"] = try Tensor(shape: [itemCount, d], storage: historyEmbedding)
        tensors["item.id"] = try Tensor(shape: [itemCount, d], storage: itemIDEmbedding)
        tensors["user.known"] = try Tensor(shape: [userCount], storage: knownUsers.map { $0 ? 1 : 0 })
        if usesUserID { tensors["user.id"] = try Tensor(shape: [userCount, d], storage: userIDEmbedding) }
        if userFeatureWidth > 0 { tensors["user.features"] = try Tensor(shape: [userCount, userFeatureWidth], storage: userFeatures) }
        if itemFeatureWidth > 0 { tensors["item.features"] = try Tensor(shape: [itemCount, itemFeatureWidth], storage: itemFeatures) }
        return tensors
    }

    var checkpointMetadata: [String: String] {
        var metadata = ["model": "two-tower", "model_format_version": Self.checkpointFormatVersion]
        for (k, v) in params { metadata["param." + k] = String(v) }
        if let itemFeatureEncoder { metadata["item_features.encoder"] = itemFeatureEncoder.serialized() }
        if let userFeatureEncoder { metadata["user_features.encoder"] = userFeatureEncoder.serialized() }
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
        try contents.requireFormatVersion(checkpointFormatVersion, path: path)
        func tensor(_ n: String) throws(VecDBError) -> Tensor {
            guard let t = contents.tensors[n] else { throw VecDBError(.malformedFile, "\(path): checkpoint lacks '\(n)'", path: path) }
            return t
        }
        func matrix(_ n: String, rows: Int) throws(VecDBError) -> (values: [Float], width: Int) {
            guard let t = contents.tensors[n] else { return ([], 0) }
            guard t.rank == 2, t.shape[0] == rows else { throw VecDBError(.malformedFile, "\(n) is not a [\(rows), *] matrix") }
            return (t.storage, t.shape[1])
        }
        func tower(_ name: String) throws(VecDBError) -> TowerWeights {
            let hasNorm = contents.tensors[name + ".bn.weight"] != nil
            return TowerWeights(
                first: try DenseLayerWeights(
                    weight: tensor(name + "1.weight"), bias: tensor(name + "1.bias"), activation: .identity, name: name + "1"),
                norm: hasNorm ? try BatchNormWeights(tensors: tensor, name: name + ".bn") : nil,
                second: try DenseLayerWeights(
                    weight: tensor(name + "2.weight"), bias: tensor(name + "2.bias"), activation: .identity, name: name + "2"))
        }
        var params: [String: Double] = [:]
        for (k, v) in contents.metadata where k.hasPrefix("param.") { params[String(k.dropFirst(6))] = Double(v) }
        do throws(VecDBError) {
            let history = try tensor("user.history")
            guard history.rank == 2 else { throw VecDBError(.malformedFile, "user.history is not a matrix") }
            let (items, d) = (history.shape[0], history.shape[1])
            let known = try tensor("user.known")
            let users = known.count
            let userFeatures = try matrix("user.features", rows: users)
            let itemFeatures = try matrix("item.features", rows: items)
            var model = try TwoTowerModel(
                Parts(
                    embeddingWidth: d, historyEmbedding: history.storage, userIDEmbedding: try matrix("user.id", rows: users).values,
                    userFeatures: userFeatures.values, userFeatureWidth: userFeatures.width, knownUsers: known.storage.map { $0 != 0 },
                    userTower: try tower("user"), itemIDEmbedding: try tensor("item.id").storage, itemFeatures: itemFeatures.values,
                    itemFeatureWidth: itemFeatures.width, itemTower: try tower("item")),
                params: params)
            model.itemFeatureEncoder = try contents.metadata["item_features.encoder"].map { (s: String) throws(VecDBError) in
                try FeatureEncoder(serialized: s)
            }
            model.userFeatureEncoder = try contents.metadata["user_features.encoder"].map { (s: String) throws(VecDBError) in
                try FeatureEncoder(serialized: s)
            }
            return model
        } catch {
            throw VecDBError(.malformedFile, "\(path): \(error.message)", path: path)
        }
    }
}
