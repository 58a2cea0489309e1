// On-disk layout of a recommender NAME in the database directory DB (see docs/recommender.md):
//
//   DB/NAME.items                    collection: one record per item (vector [0], dimension 1),
//                                    payload {title, genres, genre.G: true, year, …}
//   DB/NAME.users                    collection: one record per user with features (payloads)
//   DB/NAME.items.SPACE.vVERSION     collection per embedding space of an embedding model's
//                                    version (metric ip, HNSW index), payloads copied
//   DB/.recommenders/NAME/           (a dot directory, so Database.open skips it)
//     interactions.log               the InteractionLog: every recorded interaction
//     model-VVVVVVVV.bin             one file per kept model version (ModelCheckpoint.swift)
//     MODELS                         the current version (RecommenderManifest.swift); its
//                                    atomic replacement publishes a version
import Synchronization
import VecDB
import VecDBKernels
import VecDBStorage
import VecDBVision

/// A recommender bound to a ``Database``: its interactions, item catalogue and features, and
/// versioned models, served through snapshots.
///
/// Open one per name with ``open(_:in:)``. ``record(_:)`` stores interactions durably;
/// ``ingestItems(_:)`` stores item features as payloads; ``train(model:threads:)`` fits a
/// registered model kind on every recorded interaction and publishes it as a new version;
/// ``refresh(threads:)`` does the same for the current kind, warm-started from the current
/// model. Queries go to ``snapshot()``, or through the forwarding methods here to the newest
/// version. A reader keeps a ``RecommenderSnapshot`` as long as it needs one version.
///
/// Thread-safe: publishing is serialised by a `Mutex`, the current snapshot is read under
/// another, and snapshots are immutable.
public final class Recommender: Sendable {
    /// The recommender's name (a valid collection name).
    public let name: String
    /// The database it lives in.
    public let database: Database
    /// `DB/.recommenders/NAME`.
    public let directory: String
    /// The durable interactions.
    public let log: InteractionLog
    let fileSystem: FileSystem
    let histories: UserHistoryTable
    let reclaimer: VersionReclaimer
    let published = Lock<RecommenderSnapshot?>(nil)
    let publishing = Lock<Void>(())
    /// The image encoder once loaded from its checkpoint (``imageEncoder()``).
    let loadedImageEncoder = Lock<ImageEncoder?>(nil)

    /// The collection of item features: `NAME.items`.
    public var itemCollectionName: String { name + ".items" }

    init(name: String, database: Database, directory: String, log: InteractionLog, fileSystem: FileSystem) {
        self.name = name
        self.database = database
        self.directory = directory
        self.log = log
        self.fileSystem = fileSystem
        histories = UserHistoryTable(log.interactions)
        reclaimer = VersionReclaimer(database: database, directory: directory, fileSystem: fileSystem)
    }

    /// Opens (creating when missing) the recommender `name` in `database`: replays its
    /// interaction log and loads its current model version, if any.
    ///
    /// Files of versions that are not current (left by a crash during training, or by readers
    /// that still held them when the process ended) are removed.
    ///
    /// - Parameters:
    ///   - name: 1 to 100 of `A-Z a-z 0-9 _ . -`, not starting with `.`.
    ///   - database: an open, writable database.
    /// - Returns: the recommender.
    /// - Throws: ``VecDBError/Code/invalidArgument`` for a bad name,
    ///   ``VecDBError/Code/corruptFile`` for a damaged log, manifest or model file,
    ///   ``VecDBError/Code/locked`` when another handle has it open, I/O errors.
    /// - Complexity: O(interactions + model size).
    public static func open(_ name: String, in database: Database) throws(VecDBError) -> Recommender {
        guard Database.isValidName(name), name.utf8.count <= 100 else {
            throw VecDBError(.invalidArgument, "recommender name '\(name)' must be 1 to 100 of A-Z a-z 0-9 _ . - and not start with '.'")
        }
        let fs = FileSystem.system
        let directory = database.path + "/.recommenders/" + name
        let log = try InteractionLog.open(directory: directory, fileSystem: fs)
        let r = Recommender(name: name, database: database, directory: directory, log: log, fileSystem: fs)
        let manifest = try RecommenderManifest.read(directory: directory, fileSystem: fs)
        try r.removeStale(keeping: manifest?.version)
        if let manifest {
            let path = directory + "/" + ModelCheckpoint.fileName(version: manifest.version)
            let cp = try ModelCheckpoint.decode(try fs.readAll(path), path: path)
            let kind = try ModelRegistry.kind(named: cp.kind)
            let model = try kind.decode(cp.body)
            r.reclaimer.publish(cp.version)
            let snap = try r.makeSnapshot(cp, model: model, space: kind.space, build: false)
            r.published.withLock { $0 = snap }
        }
        return r
    }

    /// The newest published version.
    ///
    /// - Returns: its snapshot; hold it to keep that version while newer ones are published.
    /// - Throws: ``VecDBError/Code/notFound`` when no model was trained yet.
    public func snapshot() throws(VecDBError) -> RecommenderSnapshot {
        guard let s = published.withLock({ $0 }) else {
            throw VecDBError(.notFound, "recommender '\(name)' has no trained model; train one first")
        }
        return s
    }

    /// The newest published version number, or `nil` before the first training.
    public var version: UInt64? { published.withLock { $0?.version } }

    /// Records interactions durably (one atomic, fsynced batch) and adds them to the users'
    /// histories at once; models see them at the next ``train(model:threads:)`` or
    /// ``refresh(threads:)``.
    ///
    /// - Parameter interactions: the batch; nothing is recorded when one is invalid.
    /// - Throws: the ``InteractionLog/record(_:)`` errors.
    /// - Complexity: O(batch), plus one fsync.
    public func record(_ interactions: [Interaction]) throws(VecDBError) {
        try log.record(interactions)
        histories.add(interactions)
    }

    /// Closes the interaction log (the database stays open); later ``record(_:)`` calls throw
    /// ``VecDBError/Code/closed``. Snapshots keep answering queries.
    public func close() { log.close() }

    /// The users with recorded interactions, sorted.
    public func users() -> [Key] { histories.users() }

    /// The items a user interacted with, in time order (by timestamp, ties in recording order,
    /// each item once at its earliest time; most recent last), or `nil` for an unknown user.
    ///
    /// - Parameter user: the user's key.
    public func history(of user: Key) -> [Key]? { histories.items(of: user) }

    // MARK: Training and publishing

    /// Trains a registered model kind on every recorded interaction and publishes it as the
    /// next version.
    ///
    /// The version file is written first, then (for an ``EmbeddingScorer``) its embedding
    /// collection with an HNSW index, then the manifest is replaced atomically: a crash before
    /// that leaves the previous version current.
    ///
    /// - Parameters:
    ///   - model: a name in ``ModelRegistry`` (`popularity`, `itemknn`, `ease`, …).
    ///   - threads: threads for training and index building.
    ///   - progress: receives a report after each epoch of a deep model's training.
    /// - Returns: the new version's snapshot.
    /// - Throws: ``VecDBError/Code/invalidArgument`` for an unknown model or no interactions,
    ///   the trainer's errors, I/O errors.
    /// - Complexity: the model's training, plus O(items) writes.
    @discardableResult
    public func train(
        model: String, threads: Int = 1, progress: @escaping @Sendable (TrainingProgress) -> Void = { _ in }
    ) throws(VecDBError) -> RecommenderSnapshot {
        try train(model: model, warmStart: false, threads: threads, progress: progress)
    }

    /// Retrains the current model kind on every recorded interaction, warm-started from the
    /// current version where the kind supports it (the baselines refit), and publishes the
    /// result as a new version. Readers holding the old version keep it.
    ///
    /// - Parameters:
    ///   - threads: threads for training and index building.
    ///   - progress: receives a report after each epoch of a deep model's training.
    /// - Returns: the new version's snapshot.
    /// - Throws: ``VecDBError/Code/notFound`` when nothing was trained yet; as
    ///   ``train(model:threads:)``.
    @discardableResult
    public func refresh(
        threads: Int = 1, progress: @escaping @Sendable (TrainingProgress) -> Void = { _ in }
    ) throws(VecDBError) -> RecommenderSnapshot {
        try train(model: try snapshot().kind, warmStart: true, threads: threads, progress: progress)
    }

    func train(
        model name: String, warmStart: Bool, threads: Int, progress: @escaping @Sendable (TrainingProgress) -> Void
    ) throws(VecDBError) -> RecommenderSnapshot {
        let kind = try ModelRegistry.kind(named: name)
        return try publishing.withLock { (_: inout Void) throws(VecDBError) -> RecommenderSnapshot in
            let previous = published.withLock { $0 }
            let interactions = log.interactions
            let data = InteractionMatrix(interactions)
            guard data.userCount > 0, data.itemCount > 0 else {
                throw VecDBError(.invalidArgument, "recommender '\(self.name)' has no interactions to train on")
            }
            var input = TrainingInput(
                data: data, previous: warmStart ? previous?.model : nil,
                previousItemKeys: warmStart ? previous?.itemKeys ?? [] : [], previousParams: warmStart ? previous?.params ?? [:] : [:],
                threads: threads, progress: progress)
            input.sequences = NextItemSplit.sequences(interactions, userKeys: data.userKeys, itemKeys: data.itemKeys)
            (input.itemRecords, input.userRecords) = try featureRecords()
            input.itemImages = try imageEmbeddings()?.vectors ?? [:]
            input.itemTitles = try titleEmbeddings()?.vectors ?? [:]
            let (model, params) = try kind.train(input)
            guard model.itemCount == data.itemCount else {
                throw VecDBError(.invalidArgument, "model '\(kind.name)' scores \(model.itemCount) items, the data has \(data.itemCount)")
            }
            let version = (previous?.version ?? 0) + 1
            let cp = ModelCheckpoint(
                version: version, kind: kind.name, params: params, itemKeys: data.itemKeys, body: try kind.encode(model))
            try fileSystem.replaceAtomically(directory + "/" + ModelCheckpoint.fileName(version: version), with: cp.encoded())
            let snap = try makeSnapshot(cp, model: model, space: kind.space, build: true)
            try RecommenderManifest(version: version, kind: kind.name).write(directory: directory, fileSystem: fileSystem)
            reclaimer.publish(version)
            published.withLock { $0 = snap }
            return snap
        }
    }

    func makeSnapshot(_ cp: ModelCheckpoint, model: any ItemScorer, space: String, build: Bool) throws(VecDBError) -> RecommenderSnapshot {
        guard model.itemCount == cp.itemKeys.count else {
            throw VecDBError(.corruptFile, "model version \(cp.version) scores \(model.itemCount) items but lists \(cp.itemKeys.count)")
        }
        let payloads = try itemPayloads()
        let images = try imageEmbeddings()
        let titleWidth = Int(cp.params["title_width"] ?? 0)
        let (served, keys, added) = try placingNewItems(
            model, keys: cp.itemKeys, payloads: payloads, titles: titleWidth > 0 ? try titleEmbeddings()?.vectors : nil,
            titleWidth: titleWidth, images: images?.vectors)
        var spaces: [String: EmbeddingSpace] = [:]
        if let e = served as? any EmbeddingScorer {
            spaces[space] = try embeddingSpace(
                e, space: space, version: cp.version, keys: keys, payloads: payloads, build: build, added: added)
        }
        if let image = try imageSpace(keys: keys) { spaces["image"] = image }
        return RecommenderSnapshot(
            version: cp.version, kind: cp.kind, params: cp.params, model: served, itemKeys: keys, payloads: payloads,
            spaces: spaces, histories: histories, reclaimer: reclaimer, trained: (model, cp.itemKeys))
    }

    /// Cold start in serving: items with stored features that the model was not trained on
    /// (added after training, or never interacted with) are appended to a content-aware model
    /// (a two-tower with its item feature encoder), placed by its item tower from their features
    /// alone, so they can be recommended and found at once; a refresh later trains on their
    /// interactions. Other models serve their trained catalogue.
    func placingNewItems(
        _ model: any ItemScorer, keys: [Key], payloads: [Key: Payload], titles: [Key: [Float]]? = nil, titleWidth: Int = 0,
        images: [Key: [Float]]?
    ) throws(VecDBError) -> (model: any ItemScorer, keys: [Key], added: [Key]) {
        guard let tower = model as? TwoTowerModel, tower.itemFeatureWidth > 0 else { return (model, keys, []) }
        let known = Set(keys)
        let added = Set(payloads.keys).union(images?.keys ?? [:].keys).subtracting(known).sorted()
        guard !added.isEmpty else { return (model, keys, []) }
        var records: [Key: EntityRecord] = [:]
        for key in added { records[key] = payloads[key].map { Self.record(key: key, payload: $0) } }
        let rows = Self.featureRows(
            added, encoder: tower.itemFeatureEncoder, records: records, titles: titles, titleWidth: titleWidth, images: images,
            imageWidth: tower.itemFeatureWidth - (tower.itemFeatureEncoder?.width ?? 0) - titleWidth)
        return (try tower.addingItems(features: rows), keys + added, added)
    }

    /// Item feature rows as the two-tower reads them: the encoded stored features, then the
    /// title embedding and the image embedding when the model was trained with them
    /// (`titleWidth`, `imageWidth` > 0; zeros for an item without a title or an image).
    static func featureRows(
        _ keys: [Key], encoder: FeatureEncoder?, records: [Key: EntityRecord], titles: [Key: [Float]]? = nil, titleWidth: Int = 0,
        images: [Key: [Float]]?, imageWidth: Int
    ) -> [[Float]] {
        keys.map { key in
            var row = encoder?.encode(records[key]) ?? []
            if titleWidth > 0 {
                let v = titles?[key] ?? []
                row += v.count == titleWidth ? v : [Float](repeating: 0, count: titleWidth)
            }
            if imageWidth > 0 {
                let v = images?[key] ?? []
                row += v.count == imageWidth ? v : [Float](repeating: 0, count: imageWidth)
            }
            return row
        }
    }

    func embeddingSpace(
        _ model: any EmbeddingScorer, space: String, version: UInt64, keys: [Key], payloads: [Key: Payload], build: Bool,
        added: [Key] = []
    ) throws(VecDBError) -> EmbeddingSpace {
        let d = model.dimension
        let rows = model.itemEmbeddings()
        guard d >= 1, rows.count == keys.count, rows.allSatisfy({ $0.count == d }) else {
            throw VecDBError(.dimensionMismatch, "model version \(version): item embeddings are not \(keys.count) × \(d)")
        }
        let collectionName = "\(name).items.\(space).v\(version)"
        var collection = try? database.collection(collectionName)
        if build || collection == nil {
            if collection != nil { try database.dropCollection(collectionName) }
            let c = try database.createCollection(collectionName, dimension: d, metric: .ip)
            try c.upsert(zip(keys, rows).map { Record(key: $0, vector: $1, payload: payloads[$0]) })
            try c.flush()
            try c.createIndex(.hnsw(HNSWIndexOptions()))
            collection = c
        } else if let c = collection, !added.isEmpty {
            // Items placed since the collection was built (upserts of the same vectors are idempotent).
            let start = keys.count - added.count
            try c.upsert(added.enumerated().map { Record(key: $1, vector: rows[start + $0], payload: payloads[$1]) })
            try c.flush()
        }
        return EmbeddingSpace(name: space, dimension: d, vectors: rows.flatMap { $0 }, collection: collection)
    }

    /// Removes version files and embedding collections other than `version`'s.
    func removeStale(keeping version: UInt64?) throws(VecDBError) {
        let keep = version.map { ModelCheckpoint.fileName(version: $0) }
        for f in try fileSystem.list(directory) where (f.hasPrefix("model-") && f != keep) || f.hasSuffix(".tmp") {
            try? fileSystem.unlink(directory + "/" + f)
        }
        let suffix = version.map { ".v\($0)" }
        for c in database.collectionNames() where c.hasPrefix(name + ".items.") && !(suffix.map { c.hasSuffix($0) } ?? false) {
            try database.dropCollection(c)
        }
    }
}
