import VecDBKernels
import VecDBNN

/// A two-tower retrieval model (Yi et al., 2019; the TFRS retrieval task): a user tower and an
/// item tower map into one space, and a user's score for an item is the cosine of their vectors.
///
/// ```
///   user: [user-id embedding d ‖ mean of history-item embeddings d ‖ user features fu]
///           ─► user1 [→h] ─► batch norm ─► relu ─► (dropout) ─► user2 [h→k] ─► L2 ─► u
///   item: [item-id embedding d ‖ item features fi]
///           ─► item1 [→h] ─► batch norm ─► relu ─► (dropout) ─► item2 [h→k] ─► L2 ─► v
///   score(u, i) = u · v_i
/// ```
///
/// The user-id embedding and the user features are optional (``TwoTowerConfiguration``). A user
/// the model was not trained on, and every call that gives only a history
/// (``score(history:into:)``, ``userEmbedding(history:)``: fold-in), reads a zero id embedding
/// and zero features, a case training covers by dropping the id and features of a share of the
/// pairs. ``score(user:history:into:)`` scores a user of the training matrix with their id and
/// features. The model keeps the item tower's weights, so an item with no interactions gets a
/// vector from its features alone (``itemVector(features:)``), and the item vectors
/// (``itemEmbeddings()``) are the item tower evaluated once on every item.
public struct TwoTowerModel: EmbeddingModel {
    public let itemCount: Int
    /// The users of the training matrix (indices `0..<userCount`).
    public let userCount: Int
    /// The width of the id and history embeddings.
    let embeddingWidth: Int
    /// `[itemCount, embeddingWidth]`, row-major: the user tower's item table.
    let historyEmbedding: [Float]
    /// `[userCount, embeddingWidth]`, row-major; empty when the model has no user-id embedding.
    let userIDEmbedding: [Float]
    /// `[userCount, userFeatureWidth]`, row-major.
    let userFeatures: [Float]
    /// The width of a user feature row (0: none).
    public let userFeatureWidth: Int
    /// Per user: trained on (their id and features are used), or treated as unseen.
    let knownUsers: [Bool]
    let userTower: TowerWeights
    /// `[itemCount, embeddingWidth]`, row-major: the item tower's id table.
    let itemIDEmbedding: [Float]
    /// `[itemCount, itemFeatureWidth]`, row-major.
    let itemFeatures: [Float]
    /// The width of an item feature row (0: none).
    public let itemFeatureWidth: Int
    let itemTower: TowerWeights
    /// `[itemCount, dimension]`, row-major, unit rows: the item tower's outputs.
    let itemVectors: [Float]
    /// The encoder that made the item feature rows, when known: it encodes a new item's record.
    public var itemFeatureEncoder: FeatureEncoder?
    /// The encoder that made the user feature rows, when known.
    public var userFeatureEncoder: FeatureEncoder?
    /// The hyper-parameters the model was trained with, for checkpoints and reports.
    public let params: [String: Double]

    /// The parts of a model; the item vectors are computed here.
    struct Parts {
        var embeddingWidth: Int
        var historyEmbedding: [Float]
        var userIDEmbedding: [Float]
        var userFeatures: [Float]
        var userFeatureWidth: Int
        var knownUsers: [Bool]
        var userTower: TowerWeights
        var itemIDEmbedding: [Float]
        var itemFeatures: [Float]
        var itemFeatureWidth: Int
        var itemTower: TowerWeights
    }

    init(_ p: Parts, params: [String: Double]) throws(VecDBError) {
        let d = p.embeddingWidth
        let users = p.knownUsers.count
        let items = d > 0 ? p.historyEmbedding.count / d : 0
        let idWidth = p.userIDEmbedding.isEmpty ? 0 : d
        guard items > 0, p.historyEmbedding.count == items * d, p.itemIDEmbedding.count == items * d,
            p.userIDEmbedding.isEmpty || p.userIDEmbedding.count == users * d,
            p.userFeatures.count == users * p.userFeatureWidth, p.itemFeatures.count == items * p.itemFeatureWidth,
            p.userTower.inputs == idWidth + d + p.userFeatureWidth, p.itemTower.inputs == d + p.itemFeatureWidth,
            p.userTower.outputs == p.itemTower.outputs, p.userTower.isConsistent, p.itemTower.isConsistent
        else {
            throw VecDBError(
                .dimensionMismatch,
                "two-tower: sizes do not agree (embedding width \(d), history table \(p.historyEmbedding.count), "
                    + "item ids \(p.itemIDEmbedding.count), user ids \(p.userIDEmbedding.count), \(users) users, "
                    + "features \(p.userFeatureWidth)/\(p.itemFeatureWidth), towers \(p.userTower.inputs)→\(p.userTower.outputs) "
                    + "and \(p.itemTower.inputs)→\(p.itemTower.outputs))")
        }
        itemCount = items
        userCount = users
        embeddingWidth = d
        historyEmbedding = p.historyEmbedding
        userIDEmbedding = p.userIDEmbedding
        userFeatures = p.userFeatures
        userFeatureWidth = p.userFeatureWidth
        knownUsers = p.knownUsers
        userTower = p.userTower
        itemIDEmbedding = p.itemIDEmbedding
        itemFeatures = p.itemFeatures
        itemFeatureWidth = p.itemFeatureWidth
        itemTower = p.itemTower
        self.params = params
        // The item tower on every item, in blocks.
        let w = d + p.itemFeatureWidth
        var vectors: [Float] = []
        vectors.reserveCapacity(items * p.itemTower.outputs)
        var first = 0
        while first < items {
            let rows = min(1024, items - first)
            var x = [Float](repeating: 0, count: rows * w)
            for r in 0..<rows {
                let i = first + r
                for j in 0..<d { x[r * w + j] = p.itemIDEmbedding[i * d + j] }
                for j in 0..<p.itemFeatureWidth { x[r * w + d + j] = p.itemFeatures[i * p.itemFeatureWidth + j] }
            }
            vectors += p.itemTower.apply(x, rows: rows)
            first += rows
        }
        itemVectors = vectors
    }

    /// The width of the user and item vectors.
    public var dimension: Int { itemTower.outputs }

    /// Whether the user tower reads a user-id embedding.
    public var usesUserID: Bool { !userIDEmbedding.isEmpty }

    /// The user tower: `user` (a known training user) or nil (unseen: zero id and features).
    func userVector(_ history: ArraySlice<Int32>, user: Int? = nil) -> [Float] {
        let d = embeddingWidth
        let idWidth = usesUserID ? d : 0
        var x = [Float](repeating: 0, count: userTower.inputs)
        var n = 0
        for i in history where i >= 0 && Int(i) < itemCount {
            let o = Int(i) * d
            for j in 0..<d { x[idWidth + j] += historyEmbedding[o + j] }
            n += 1
        }
        if n > 0 { for j in 0..<d { x[idWidth + j] /= Float(n) } }
        if let u = user, u >= 0, u < userCount, knownUsers[u] {
            for j in 0..<idWidth { x[j] = userIDEmbedding[u * d + j] }
            let f = userFeatureWidth
            for j in 0..<f { x[idWidth + d + j] = userFeatures[u * f + j] }
        }
        return userTower.apply(x, rows: 1)
    }

    /// Scores every item against a unit user vector.
    func score(vector u: [Float], into scores: inout [Float]) {
        innerProducts(u, rows: itemVectors, count: itemCount, into: &scores)
    }

    public func score(history: ArraySlice<Int32>, into scores: inout [Float]) {
        score(vector: userVector(history), into: &scores)
    }

    /// Scores every item for user `user` of the training matrix, with their id embedding and
    /// features; a user the model was not trained on is scored from `history` alone.
    public func score(user: Int, history: ArraySlice<Int32>, into scores: inout [Float]) {
        score(vector: userVector(history, user: user), into: &scores)
    }

    public func itemEmbeddings() -> [[Float]] {
        let k = dimension
        return (0..<itemCount).map { Array(itemVectors[($0 * k)..<(($0 + 1) * k)]) }
    }

    public func userEmbedding(history: [Int32]) throws(VecDBError) -> [Float] {
        for i in history where i < 0 || Int(i) >= itemCount {
            throw VecDBError(.invalidArgument, "two-tower: item index \(i) is outside 0..<\(itemCount)")
        }
        return userVector(history[...])
    }

    /// The item tower on a feature row with a zero id embedding: the vector of an item with no
    /// interactions (cold start), comparable with ``itemEmbeddings()``.
    ///
    /// - Parameter features: ``itemFeatureWidth`` values, encoded as the training rows were.
    /// - Returns: ``dimension`` floats, unit length unless the tower maps the row to zero.
    /// - Throws: ``VecDBError/Code/dimensionMismatch`` for a row of another width.
    public func itemVector(features: [Float]) throws(VecDBError) -> [Float] {
        guard features.count == itemFeatureWidth else {
            throw VecDBError(
                .dimensionMismatch, "two-tower: item features have \(features.count) values, the model reads \(itemFeatureWidth)")
        }
        return itemTower.apply([Float](repeating: 0, count: embeddingWidth) + features, rows: 1)
    }

    /// The cold-start vector of an item record, encoded by ``itemFeatureEncoder``.
    ///
    /// - Throws: ``VecDBError/Code/invalidArgument`` when the model has no item feature encoder.
    public func itemVector(record: EntityRecord) throws(VecDBError) -> [Float] {
        guard let itemFeatureEncoder else {
            throw VecDBError(.invalidArgument, "two-tower: the model has no item feature encoder to encode item '\(record.key)'")
        }
        return try itemVector(features: itemFeatureEncoder.encode(record))
    }

    /// The model with items appended after the trained ones, each placed from its features
    /// alone (a zero id embedding, as ``itemVector(features:)``; a zero row in the history
    /// table, so it adds nothing to a history it appears in). Nothing is retrained: the vectors
    /// of the existing items are unchanged.
    ///
    /// - Parameter features: one row of ``itemFeatureWidth`` values per new item.
    /// - Throws: ``VecDBError/Code/dimensionMismatch`` for a row of another width,
    ///   ``VecDBError/Code/nonFiniteValue`` for NaN or infinity.
    public func addingItems(features: [[Float]]) throws(VecDBError) -> TwoTowerModel {
        for row in features {
            guard row.count == itemFeatureWidth else {
                throw VecDBError(
                    .dimensionMismatch, "two-tower: item features have \(row.count) values, the model reads \(itemFeatureWidth)")
            }
            guard row.allSatisfy(\.isFinite) else {
                throw VecDBError(.nonFiniteValue, "two-tower: an item's features hold NaN or infinity")
            }
        }
        let zeros = [Float](repeating: 0, count: features.count * embeddingWidth)
        var model = try TwoTowerModel(
            Parts(
                embeddingWidth: embeddingWidth, historyEmbedding: historyEmbedding + zeros, userIDEmbedding: userIDEmbedding,
                userFeatures: userFeatures, userFeatureWidth: userFeatureWidth, knownUsers: knownUsers, userTower: userTower,
                itemIDEmbedding: itemIDEmbedding + zeros, itemFeatures: itemFeatures + features.flatMap { $0 },
                itemFeatureWidth: itemFeatureWidth, itemTower: itemTower), params: params)
        model.itemFeatureEncoder = itemFeatureEncoder
        model.userFeatureEncoder = userFeatureEncoder
        return model
    }
}

/// One tower's frozen layers: `first` (affine), batch norm when trained with it, relu, `second`,
/// then L2 normalisation of each output row.
struct TowerWeights: Sendable, Equatable {
    let first: DenseLayerWeights
    let norm: BatchNormWeights?
    let second: DenseLayerWeights

    var inputs: Int { first.inputs }
    var outputs: Int { second.outputs }
    var isConsistent: Bool { first.outputs == second.inputs && (norm?.channels ?? first.outputs) == first.outputs }

    /// The unit output rows of `rows` input rows.
    func apply(_ x: [Float], rows: Int) -> [Float] {
        var h = first.apply(x, rows: rows)
        norm?.apply(&h, rows: rows)
        for j in h.indices { h[j] = max(h[j], 0) }
        var y = second.apply(h, rows: rows)
        let k = outputs
        for r in 0..<rows {
            var sq: Float = 0
            for j in 0..<k { sq += y[r * k + j] * y[r * k + j] }
            let norm = sq.squareRoot()
            if norm > 1e-12 { for j in 0..<k { y[r * k + j] /= norm } }
        }
        return y
    }
}
