import Synchronization
import VecDB
import VecDBKernels
import VecDBVision

/// Images in serving: an image encoder per recommender (`.recommenders/NAME/image-encoder.safetensors`),
/// each item's image embedding in the collection `NAME.images` (metric inner product, HNSW), and
/// the `image` embedding space of every snapshot built from it. Visual similarity works for any
/// model; a two-tower model also reads the image embedding as item features, so an item added
/// with only an image is placed in users' recommendations at once.
extension Recommender {
    /// The collection of item image embeddings: `NAME.images`.
    public var imageCollectionName: String { name + ".images" }

    var imageEncoderPath: String { directory + "/image-encoder.safetensors" }

    /// Stores `encoder` as this recommender's image encoder (atomically; replacing one set
    /// before). Images added later are embedded with it; embeddings made by an earlier encoder
    /// are not recomputed.
    ///
    /// - Throws: ``VecDBError/Code/io``.
    public func setImageEncoder(_ encoder: ImageEncoder) throws(VecDBError) {
        try encoder.save(to: imageEncoderPath)
        loadedImageEncoder.withLock { $0 = encoder }
    }

    /// The image encoder set with ``setImageEncoder(_:)``, read from its checkpoint once.
    ///
    /// - Throws: ``VecDBError/Code/notFound`` when none was set; checkpoint errors.
    public func imageEncoder() throws(VecDBError) -> ImageEncoder {
        if let encoder = loadedImageEncoder.withLock({ $0 }) { return encoder }
        guard fileSystem.exists(imageEncoderPath) else {
            throw VecDBError(.notFound, "recommender '\(name)' has no image encoder; set one first (vecdb recommend add-item --encoder F)")
        }
        let encoder = try ImageEncoder.load(from: imageEncoderPath)
        loadedImageEncoder.withLock { $0 = encoder }
        return encoder
    }

    /// Adds or replaces items' images: embeds each with the image encoder, stores the embedding
    /// in `NAME.images`, gives an item that has no stored features an empty record (so it joins
    /// the catalogue), and republishes the current version with the new `image` space, so the
    /// items are at once findable by visual similarity and, for a two-tower model, placed in
    /// recommendations.
    ///
    /// - Parameter images: items and their images.
    /// - Throws: ``VecDBError/Code/notFound`` without an image encoder; collection errors.
    public func addImages(_ images: [(key: Key, image: GreyImage)]) throws(VecDBError) {
        guard !images.isEmpty else { return }
        let encoder = try imageEncoder()
        let vectors = try encoder.embed(images.map(\.image))
        let existing = try? database.collection(imageCollectionName)
        let c: Collection
        if let existing {
            c = existing
        } else {
            c = try database.createCollection(imageCollectionName, dimension: encoder.dimension, metric: .ip)
        }
        guard c.dimension == encoder.dimension else {
            throw VecDBError(
                .dimensionMismatch,
                "the image encoder gives \(encoder.dimension)-d embeddings, '\(imageCollectionName)' holds \(c.dimension)-d ones")
        }
        try c.upsert(zip(images, vectors).map { Record(key: $0.key, vector: $1) })
        try c.flush()
        if existing == nil { try c.createIndex(.hnsw(HNSWIndexOptions())) }
        let payloads = try itemPayloads()
        let missing = images.map(\.key).filter { payloads[$0] == nil }
        try store(missing.map { EntityRecord(key: $0) }, in: itemCollectionName)
        try republish()
    }

    /// Items whose images look like `image`: the nearest image embeddings by inner product
    /// (cosine: they are unit length), among the items of the current version.
    ///
    /// - Throws: ``VecDBError/Code/notFound`` without an image encoder or images;
    ///   ``VecDBError/Code/invalidArgument`` for `k` < 1.
    public func similarItems(toImage image: GreyImage, k: Int, filter: Filter? = nil) throws(VecDBError) -> RecommendationList {
        let q = try imageEncoder().embed([image])[0]
        return try snapshot().similarItems(toVector: q, k: k, filter: filter, space: "image")
    }

    /// Image embeddings by item key, from `NAME.images`.
    func imageEmbeddings() throws(VecDBError) -> (dimension: Int, vectors: [Key: [Float]], collection: Collection)? {
        try storedVectors(imageCollectionName)
    }

    /// Every vector of the collection `name` by key, or nil when there is no such collection.
    func storedVectors(_ name: String) throws(VecDBError) -> (dimension: Int, vectors: [Key: [Float]], collection: Collection)? {
        guard let c = try? database.collection(name) else { return nil }
        var out: [Key: [Float]] = [:]
        for r in try c.snapshot().records() { out[r.key] = r.vector }
        return (c.dimension, out, c)
    }

    /// The `image` space of a snapshot whose items are `keys`: zero vectors for items without an image.
    func imageSpace(keys: [Key]) throws(VecDBError) -> EmbeddingSpace? {
        guard let (d, vectors, c) = try imageEmbeddings(), !vectors.isEmpty else { return nil }
        var flat = [Float](repeating: 0, count: keys.count * d)
        for (i, key) in keys.enumerated() {
            if let v = vectors[key], v.count == d { for j in 0..<d { flat[i * d + j] = v[j] } }
        }
        return EmbeddingSpace(name: "image", dimension: d, vectors: flat, collection: c)
    }
}
