import VecDBKernels
import VecDBNN

extension TwoTowerTrainer {
    /// The towers being trained. Id and item tables are dense parameters: catalogues here are small.
    ///
    /// ```
    ///   user row: [user id d (if configured) ‖ pooled history d ‖ user features fu]
    ///   item row: [item id d ‖ item features fi]
    ///   tower:    Linear ─► BatchNorm (if configured) ─► ReLU ─► Dropout ─► Linear ─► L2
    /// ```
    final class Network {
        let configuration: TwoTowerConfiguration
        let items: Int
        let users: Int
        /// `[items, itemFeatureWidth]`, row-major.
        let itemFeatures: [Float]
        let itemFeatureWidth: Int
        /// `[users, userFeatureWidth]`, row-major.
        let userFeatures: [Float]
        let userFeatureWidth: Int
        /// Per user: has training pairs (or was known to the model fine-tuned from).
        var knownUsers: [Bool]
        /// Per item: has training pairs (or was carried over from the model fine-tuned from). The
        /// id rows of the others are zero in snapshots: such items are placed by content alone.
        var knownItems: [Bool]
        let historyTable: Parameter
        let itemTable: Parameter
        let userTable: Parameter?
        let user: Tower
        let item: Tower

        init(
            items: Int, users: Int, itemFeatures: [[Float]]?, userFeatures: [[Float]]?, configuration c: TwoTowerConfiguration
        ) throws(VecDBError) {
            func flatten(_ rows: [[Float]]?, count: Int, _ what: String) throws(VecDBError) -> (values: [Float], width: Int) {
                guard let rows else { return ([], 0) }
                guard rows.count == count, let w = rows.first?.count, rows.allSatisfy({ $0.count == w }) else {
                    throw VecDBError(.invalidArgument, "two-tower: \(what) features need one row of equal width per \(what) (\(count))")
                }
                let values = rows.flatMap { $0 }
                guard values.allSatisfy(\.isFinite) else {
                    throw VecDBError(.invalidArgument, "two-tower: \(what) features are not finite")
                }
                return (values, w)
            }
            (self.itemFeatures, itemFeatureWidth) = try flatten(itemFeatures, count: items, "item")
            (self.userFeatures, userFeatureWidth) = try flatten(userFeatures, count: users, "user")
            var g = SeededGenerator(seed: c.seed)
            configuration = c
            self.items = items
            self.users = users
            knownUsers = [Bool](repeating: false, count: users)
            knownItems = [Bool](repeating: false, count: items)
            let d = c.embeddingWidth
            historyTable = Parameter(name: "user.history", value: .normal([items, d], std: 0.1, generator: &g))
            itemTable = Parameter(name: "item.id", value: .normal([items, d], std: 0.1, generator: &g))
            userTable = c.userID ? Parameter(name: "user.id", value: .normal([users, d], std: 0.1, generator: &g)) : nil
            user = Tower("user", inputs: (c.userID ? d : 0) + d + userFeatureWidth, c, &g)
            item = Tower("item", inputs: d + itemFeatureWidth, c, &g)
        }

        var parameters: [Parameter] {
            [historyTable, itemTable] + (userTable.map { [$0] } ?? []) + user.parameters + item.parameters
        }

        func zeroGradients() { for p in parameters { p.zeroGradient() } }

        /// Copies `previous`'s weights: every layer, and the table rows of old items and users.
        func load(_ previous: TwoTowerModel, oldItemIndex: [Int?], oldUserIndex: [Int?]) throws(VecDBError) {
            let d = configuration.embeddingWidth
            guard previous.embeddingWidth == d, previous.usesUserID == (userTable != nil),
                previous.itemFeatureWidth == itemFeatureWidth, previous.userFeatureWidth == userFeatureWidth,
                previous.userTower.first.outputs == configuration.hidden, previous.dimension == configuration.output,
                (previous.userTower.norm != nil) == configuration.batchNorm
            else {
                throw VecDBError(
                    .invalidArgument,
                    "two-tower fine-tune: the configuration or features (embedding \(d), hidden \(configuration.hidden), "
                        + "output \(configuration.output), features \(itemFeatureWidth)/\(userFeatureWidth)) do not match the "
                        + "previous model's (embedding \(previous.embeddingWidth), hidden \(previous.userTower.first.outputs), "
                        + "output \(previous.dimension), features \(previous.itemFeatureWidth)/\(previous.userFeatureWidth))")
            }
            func copyRows(_ p: Parameter, from source: [Float], _ map: [Int?]) {
                for (new, old) in map.enumerated() {
                    guard let old else { continue }
                    for j in 0..<d { p.value.storage[new * d + j] = source[old * d + j] }
                }
            }
            copyRows(historyTable, from: previous.historyEmbedding, oldItemIndex)
            copyRows(itemTable, from: previous.itemIDEmbedding, oldItemIndex)
            if let userTable { copyRows(userTable, from: previous.userIDEmbedding, oldUserIndex) }
            for (new, old) in oldUserIndex.enumerated() { if let old { knownUsers[new] = previous.knownUsers[old] } }
            for (new, old) in oldItemIndex.enumerated() where old != nil { knownItems[new] = true }
            user.load(previous.userTower)
            item.load(previous.itemTower)
        }

        /// The user tower's input rows: id embedding (zero for nil users), pooled history, features.
        func userInput(_ ids: [Int32?], _ histories: [[Int32]]) -> Tensor {
            let d = configuration.embeddingWidth
            let idWidth = userTable == nil ? 0 : d
            let f = userFeatureWidth
            let w = idWidth + d + f
            var x = Tensor(zeros: [ids.count, w])
            x.storage.withUnsafeMutableBufferPointer { out in
                historyTable.value.storage.withUnsafeBufferPointer { table in
                    for (r, h) in histories.enumerated() where !h.isEmpty {
                        let scale = 1 / Float(h.count)
                        for i in h {
                            let o = Int(i) * d
                            for j in 0..<d { out[r * w + idWidth + j] += table[o + j] * scale }
                        }
                    }
                }
                for (r, u) in ids.enumerated() {
                    guard let u = u.map(Int.init) else { continue }
                    if let userTable { for j in 0..<d { out[r * w + j] = userTable.value.storage[u * d + j] } }
                    for j in 0..<f { out[r * w + idWidth + d + j] = userFeatures[u * f + j] }
                }
            }
            return x
        }

        /// Scatters the gradient of the user tower's input rows into the id and history tables.
        func userInputBackward(_ ids: [Int32?], _ histories: [[Int32]], _ gx: Tensor) {
            let d = configuration.embeddingWidth
            let idWidth = userTable == nil ? 0 : d
            let w = idWidth + d + userFeatureWidth
            gx.storage.withUnsafeBufferPointer { g in
                historyTable.gradient.storage.withUnsafeMutableBufferPointer { table in
                    for (r, h) in histories.enumerated() where !h.isEmpty {
                        let scale = 1 / Float(h.count)
                        for i in h {
                            let o = Int(i) * d
                            for j in 0..<d { table[o + j] += g[r * w + idWidth + j] * scale }
                        }
                    }
                }
                if let userTable {
                    for (r, u) in ids.enumerated() {
                        guard let u = u.map(Int.init) else { continue }
                        for j in 0..<d { userTable.gradient.storage[u * d + j] += g[r * w + j] }
                    }
                }
            }
        }

        /// The item tower's input rows for `ids`: id embedding (zero where `dropped` says so,
        /// DropoutNet) then features.
        func itemInput(_ ids: [Int32], dropped: [Bool]? = nil) -> Tensor {
            let d = configuration.embeddingWidth
            let f = itemFeatureWidth
            let w = d + f
            var x = Tensor(zeros: [ids.count, w])
            itemTable.value.storage.withUnsafeBufferPointer { table in
                x.storage.withUnsafeMutableBufferPointer { out in
                    for (r, i) in ids.enumerated() {
                        let o = Int(i) * d
                        if dropped?[r] != true { for j in 0..<d { out[r * w + j] = table[o + j] } }
                        for j in 0..<f { out[r * w + d + j] = itemFeatures[Int(i) * f + j] }
                    }
                }
            }
            return x
        }

        func itemInputBackward(_ ids: [Int32], _ gx: Tensor, dropped: [Bool]? = nil) {
            let d = configuration.embeddingWidth
            let w = d + itemFeatureWidth
            gx.storage.withUnsafeBufferPointer { g in
                itemTable.gradient.storage.withUnsafeMutableBufferPointer { table in
                    for (r, i) in ids.enumerated() where dropped?[r] != true {
                        let o = Int(i) * d
                        for j in 0..<d { table[o + j] += g[r * w + j] }
                    }
                }
            }
        }

        /// One forward and backward pass in training mode; gradients accumulate in the parameters.
        ///
        /// - Parameters:
        ///   - users: per pair, the user index, or nil for a pair whose id and features are dropped.
        ///   - histories: per pair, the history items pooled by the user tower.
        ///   - positives: per pair, the positive item.
        ///   - logQ: per pair, log q of the positive (in-batch with correction), or nil.
        ///   - itemDropped: per item index, whether its id embedding is dropped this batch, or nil.
        /// - Returns: the loss.
        func lossAndGradients(
            users ids: [Int32?], histories: [[Int32]], positives: [Int32], logQ: [Float]?, itemDropped: [Bool]? = nil
        ) throws(VecDBError) -> Float {
            let b = positives.count
            let t = configuration.temperature
            let q = try user.forward(userInput(ids, histories), training: true)
            let loss: Float
            let gq: Tensor
            if configuration.softmax == .full {
                let all = (0..<items).map { Int32($0) }
                let v = try item.forward(itemInput(all, dropped: itemDropped), training: true)
                var logits = try Tensor.matmul(q, v, transposeB: true)
                logits.scale(by: 1 / t)
                var (l, g) = try Loss.softmaxCrossEntropy(logits: logits, labels: positives)
                g.scale(by: 1 / t)
                loss = l
                gq = try Tensor.matmul(g, v)
                itemInputBackward(all, try item.backward(try Tensor.matmul(g, q, transposeA: true)), dropped: itemDropped)
            } else {
                let dropped = itemDropped.map { mask in positives.map { mask[Int($0)] } }
                let v = try item.forward(itemInput(positives, dropped: dropped), training: true)
                let r = try Loss.inBatchSampledSoftmax(
                    queries: q, items: v, logQ: logQ ?? [Float](repeating: 0, count: b), temperature: t)
                loss = r.loss
                gq = r.queryGradient
                itemInputBackward(positives, try item.backward(r.itemGradient), dropped: dropped)
            }
            userInputBackward(ids, histories, try user.backward(gq))
            return loss
        }

        /// The item id table with the rows of unknown items zeroed.
        func knownItemIDs() -> [Float] {
            var ids = itemTable.value.storage
            let d = configuration.embeddingWidth
            for i in 0..<items where !knownItems[i] { for j in 0..<d { ids[i * d + j] = 0 } }
            return ids
        }

        /// The current weights as an inference model. Users without training pairs keep zero id
        /// rows and features, so they are scored as unseen users.
        func snapshot() throws(VecDBError) -> TwoTowerModel {
            let c = configuration
            let d = c.embeddingWidth
            var ids = userTable?.value.storage ?? []
            var features = userFeatures
            for u in 0..<users where !knownUsers[u] {
                if !ids.isEmpty { for j in 0..<d { ids[u * d + j] = 0 } }
                for j in 0..<userFeatureWidth { features[u * userFeatureWidth + j] = 0 }
            }
            return try TwoTowerModel(
                TwoTowerModel.Parts(
                    embeddingWidth: d, historyEmbedding: historyTable.value.storage, userIDEmbedding: ids, userFeatures: features,
                    userFeatureWidth: userFeatureWidth, knownUsers: knownUsers, userTower: user.weights,
                    itemIDEmbedding: knownItemIDs(), itemFeatures: itemFeatures, itemFeatureWidth: itemFeatureWidth,
                    itemTower: item.weights),
                params: [
                    "temperature": Double("\(c.temperature)") ?? 0, "embedding": Double(d), "hidden": Double(c.hidden),
                    "output": Double(c.output), "batch": Double(c.batchSize), "features": Double(itemFeatureWidth),
                    "user_features": Double(userFeatureWidth), "user_id": c.userID ? 1 : 0,
                    "id_dropout": Double("\(c.userIDDropout)") ?? 0, "item_id_dropout": Double("\(c.itemIDDropout)") ?? 0,
                    "dropout": Double("\(c.dropout)") ?? 0,
                    "batch_norm": c.batchNorm ? 1 : 0, "weight_decay": Double("\(c.weightDecay)") ?? 0,
                ])
        }
    }

    /// One tower's trainable layers: Linear, BatchNorm, ReLU, Dropout, Linear, L2.
    final class Tower {
        let first: Linear
        let norm: BatchNorm?
        let relu: Activation
        let dropout: Dropout
        let second: Linear
        let l2: L2Normalize

        init(_ name: String, inputs: Int, _ c: TwoTowerConfiguration, _ g: inout SeededGenerator) {
            first = Linear(inputs, c.hidden, name: name + "1", generator: &g)
            norm = c.batchNorm ? BatchNorm(channels: c.hidden, name: name + ".bn") : nil
            relu = Activation(.relu, name: name + ".relu")
            dropout = Dropout(rate: c.dropout, seed: g.next(), name: name + ".dropout")
            second = Linear(c.hidden, c.output, name: name + "2", generator: &g)
            l2 = L2Normalize(name: name + ".l2")
        }

        var parameters: [Parameter] { first.parameters + (norm?.parameters ?? []) + second.parameters }

        func forward(_ x: Tensor, training: Bool) throws(VecDBError) -> Tensor {
            var h = try first.forward(x, training: training)
            if let norm { h = try norm.forward(h, training: training) }
            h = try dropout.forward(try relu.forward(h, training: training), training: training)
            return try l2.forward(try second.forward(h, training: training), training: training)
        }

        func backward(_ g: Tensor) throws(VecDBError) -> Tensor {
            var h = try relu.backward(try dropout.backward(try second.backward(try l2.backward(g))))
            if let norm { h = try norm.backward(h) }
            return try first.backward(h)
        }

        /// The frozen weights (batch norm with its running statistics).
        var weights: TowerWeights {
            TowerWeights(
                first: DenseLayerWeights(first, activation: .identity), norm: norm.map(BatchNormWeights.init),
                second: DenseLayerWeights(second, activation: .identity))
        }

        /// Copies frozen weights of the same shapes into the layers.
        func load(_ w: TowerWeights) {
            first.weight.value.storage = w.first.weight
            first.bias?.value.storage = w.first.bias
            second.weight.value.storage = w.second.weight
            second.bias?.value.storage = w.second.bias
            if let norm, let n = w.norm { n.copy(into: norm) }
        }
    }
}
