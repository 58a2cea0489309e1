import Foundation
import VecDB
import VecDBKernels
import VecDBText

/// Title embeddings in serving: the collection `NAME.titles`, created with a text embedder
/// (all-MiniLM-L6-v2), holds the embedding of every item's title. Once it exists, a two-tower
/// model reads each item's title embedding as content features, between the encoded stored
/// features and the image embedding; titles of items ingested or added later are embedded as
/// they are stored, so an item added with only a title is placed by its meaning, not just its
/// spelling.
extension Recommender {
    /// The collection of title embeddings: `NAME.titles`.
    public var titleCollectionName: String { name + ".titles" }

    /// Embeds the titles of all stored items with `embedder` into `NAME.titles` (created with
    /// it; an existing one must have been created with the same model), so that the next
    /// training of a two-tower model reads them. Republishes the current version.
    ///
    /// - Throws: ``VecDBError/Code/invalidArgument`` when `NAME.titles` holds another model's
    ///   embeddings; what the embedder and the collection throw.
    public func enableTitleEmbeddings(_ embedder: any TextEmbedder) throws(VecDBError) {
        let c: Collection
        if let existing = try? database.collection(titleCollectionName) {
            try existing.attach(embedder)
            c = existing
        } else {
            c = try database.createCollection(titleCollectionName, embedder: embedder)
        }
        let records = try itemPayloads().map { Self.record(key: $0.key, payload: $0.value) }
        try storeTitles(records, in: c)
        try republish()
    }

    /// Embeds and stores the titles of `records` when title embeddings are enabled.
    func storeTitles(_ records: [EntityRecord]) throws(VecDBError) {
        guard let c = try? database.collection(titleCollectionName) else { return }
        try storeTitles(records, in: c)
    }

    func storeTitles(_ records: [EntityRecord], in c: Collection) throws(VecDBError) {
        if c.embedder == nil, let id = c.embedderIdentity { try c.attach(try Self.titleEmbedder(id)) }
        let texts = records.compactMap { r in r.title.flatMap { $0.isEmpty ? nil : TextRecord(key: r.key, text: $0) } }
        guard !texts.isEmpty else { return }
        try c.upsert(texts: texts)
        try c.flush()
    }

    /// Title embeddings by item key, from `NAME.titles`.
    func titleEmbeddings() throws(VecDBError) -> (dimension: Int, vectors: [Key: [Float]])? {
        try storedVectors(titleCollectionName).map { ($0.dimension, $0.vectors) }
    }

    /// The embedder a `NAME.titles` collection was created with, loaded once per process.
    static func titleEmbedder(_ id: EmbedderIdentity) throws(VecDBError) -> any TextEmbedder {
        guard id.modelName == TextEncoder.miniLMName else {
            throw VecDBError(.unsupported, "title embeddings were made with \(id), which this build cannot load")
        }
        if let e = loadedTitleEncoder.withLock({ $0 }) { return e }
        let e = try TextEncoder.miniLM(threads: ProcessInfo.processInfo.activeProcessorCount)
        loadedTitleEncoder.withLock { $0 = e }
        return e
    }
}

/// all-MiniLM-L6-v2, loaded by the first recommender that needs it.
let loadedTitleEncoder = Lock<TextEncoder?>(nil)
