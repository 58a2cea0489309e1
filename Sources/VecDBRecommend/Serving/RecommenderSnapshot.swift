import VecDB
import VecDBKernels

/// One published model version of a ``Recommender``, immutable, with everything a query needs:
/// the model, the item catalogue (item index ↔ key), the items' payloads and, for an
/// ``EmbeddingScorer``, its item embeddings and their HNSW-indexed collection.
///
/// A reader that holds a snapshot keeps its version: publishing a newer one changes what
/// ``Recommender/current`` returns, not this object, and the version's files are deleted only
/// after the last snapshot of it is released. Users' seen items are shared and live, so a
/// held snapshot still excludes items recorded after it was published.
///
/// Thread-safe: every stored property is immutable (the shared history table has its own lock).
public final class RecommenderSnapshot: Sendable {
    /// The model version (1 for the first training, then +1 per training or refresh).
    public let version: UInt64
    /// The model kind's registry name.
    public let kind: String
    /// The model's hyper-parameters by name.
    public let params: [String: Double]
    /// The model.
    public let model: any ItemScorer
    /// The item catalogue: the key of each item index the model scores.
    public let itemKeys: [Key]
    let itemIndex: [Key: Int32]
    let payloads: [Payload?]
    let spaces: [String: EmbeddingSpace]
    let histories: UserHistoryTable
    let reclaimer: VersionReclaimer?
    /// The model as trained and its catalogue, before items were placed by content in serving.
    let trainedModel: any ItemScorer
    let trainedItemKeys: [Key]

    init(
        version: UInt64, kind: String, params: [String: Double], model: any ItemScorer, itemKeys: [Key],
        payloads: [Key: Payload], spaces: [String: EmbeddingSpace], histories: UserHistoryTable, reclaimer: VersionReclaimer?,
        trained: (model: any ItemScorer, itemKeys: [Key])? = nil
    ) {
        trainedModel = trained?.model ?? model
        trainedItemKeys = trained?.itemKeys ?? itemKeys
        self.version = version
        self.kind = kind
        self.params = params
        self.model = model
        self.itemKeys = itemKeys
        var index: [Key: Int32] = [:]
        index.reserveCapacity(itemKeys.count)
        for (i, k) in itemKeys.enumerated() { index[k] = Int32(i) }
        itemIndex = index
        self.payloads = itemKeys.map { payloads[$0] }
        self.spaces = spaces
        self.histories = histories
        self.reclaimer = reclaimer
        reclaimer?.retain(version: version)
    }

    deinit {
        // The image space's collection is shared by every version: never the version's to drop.
        reclaimer?.release(version: version, collections: spaces.filter { $0.key != "image" }.values.compactMap { $0.collection?.name })
    }

    /// The embedding spaces this version serves (`collab` for an ``EmbeddingScorer``), sorted.
    public var spaceNames: [String] { spaces.keys.sorted() }

    /// The number of items in the catalogue.
    public var itemCount: Int { itemKeys.count }

    /// The payload of an item, when it has one.
    ///
    /// - Parameter key: the item's key.
    /// - Returns: its payload, or `nil` for an item without one or not in the catalogue.
    public func payload(of key: Key) -> Payload? {
        itemIndex[key].flatMap { payloads[Int($0)] }
    }

    /// Maps keys to item indices; unknown keys are appended to `skipped`.
    func indices(of keys: [Key], skipped: inout [Key]) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(keys.count)
        for k in keys {
            if let i = itemIndex[k] { out.append(i) } else if !skipped.contains(k) { skipped.append(k) }
        }
        return out
    }

    /// The `k` best items by `scores`, skipping items where `allowed` is false and items whose
    /// payload fails `filter`; ties go to the lower index. NaN scores are never chosen.
    ///
    /// - Complexity: O(items × log k) comparisons; the filter is evaluated only on items that
    ///   would enter the current top k.
    func top(_ k: Int, scores: UnsafeBufferPointer<Float>, allowed: [Bool], filter: Filter?) -> [Recommendation] {
        guard k > 0 else { return [] }
        var best: [(index: Int, score: Float)] = []
        best.reserveCapacity(k + 1)
        for i in 0..<scores.count where allowed[i] {
            let s = scores[i]
            if s.isNaN { continue }
            if best.count == k, let last = best.last, s <= last.score { continue }
            if let filter, !filter.matches(payloads[i]) { continue }
            var lo = 0
            var hi = best.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if best[mid].score >= s { lo = mid + 1 } else { hi = mid }
            }
            best.insert((i, s), at: lo)
            if best.count > k { best.removeLast() }
        }
        return best.map { Recommendation(key: itemKeys[$0.index], score: $0.score, payload: payloads[$0.index]) }
    }

    /// The embedding space `name`, or the model's own space when `name` is `nil`.
    ///
    /// - Throws: ``VecDBError/Code/notFound`` naming the spaces served.
    func space(_ name: String?) throws(VecDBError) -> EmbeddingSpace {
        if let name {
            guard let s = spaces[name] else {
                throw VecDBError(
                    .notFound,
                    "embedding space '\(name)' is not served by model version \(version) (\(kind)); spaces: "
                        + (spaceNames.isEmpty ? "none" : spaceNames.joined(separator: ", ")))
            }
            return s
        }
        // The model's own space: every space but the shared `image` one.
        let own = spaces.filter { $0.key != "image" }
        guard own.count == 1, let only = own.values.first else {
            throw VecDBError(
                .notFound, "model version \(version) (\(kind)) serves \(spaces.count) embedding spaces; name one")
        }
        return only
    }
}
