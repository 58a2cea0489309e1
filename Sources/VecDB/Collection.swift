import Dispatch
import VecDBKernels
import VecDBStorage

/// A named set of records with a fixed dimension, metric and element type.
///
/// Thread-safe: its only state is the storage engine, which serialises writers with a mutex
/// and gives readers immutable snapshots. Many threads may search while one writes.
public final class Collection: Sendable {
    public let name: String
    public let dimension: Int
    public let metric: Metric
    public let elementType: ElementType
    let store: CollectionStore
    let indexes: SegmentIndexes

    init(name: String, store: CollectionStore) throws(VecDBError) {
        self.name = name
        self.store = store
        dimension = store.dimension
        metric = store.metric
        elementType = store.elementType
        indexes = SegmentIndexes(directory: store.directory, metric: store.metric, dimension: store.dimension, fs: store.fileSystem)
        let snapshot = store.snapshot()
        try indexes.load(snapshot)
        refreshIndexesInBackground(snapshot)
    }

    var what: String { "collection '\(name)'" }

    /// Live records.
    public var count: Int { store.snapshot().liveCount }

    /// The vector as stored: unit length for cosine, rounded to half precision for Float16.
    func prepared(_ v: [Float]) -> [Float] {
        var x = metric == .cosine ? ExactSearch.normalized(v) : v
        if elementType == .float16 { x = x.map { HalfFloat.value(HalfFloat.bits($0)) } }
        return x
    }

    /// Inserts or replaces `records` as one atomic batch.
    ///
    /// Every record is checked before anything is written, so one bad vector rejects the whole
    /// batch. With `.fsync` durability the batch is on disk when this returns. A key repeated in
    /// the batch keeps its last record.
    ///
    /// - Throws: ``VecDBError/Code/dimensionMismatch``, ``VecDBError/Code/nonFiniteValue``,
    ///   ``VecDBError/Code/invalidArgument`` (key or payload too large), ``VecDBError/Code/diskFull``,
    ///   ``VecDBError/Code/io``, ``VecDBError/Code/closed``, ``VecDBError/Code/readOnly``.
    /// - Complexity: O(records × dimension), plus a seal when the memtable fills.
    public func upsert(_ records: [Record]) throws(VecDBError) {
        var batch = WALBatch()
        batch.keys.reserveCapacity(records.count)
        batch.payloads.reserveCapacity(records.count)
        batch.vectors.reserveCapacity(records.count * dimension)
        for (i, r) in records.enumerated() {
            try VectorValidation.check(r.vector, dimension: dimension, what: "\(what), record \(i) (key \(r.key))")
            try r.key.validate()
            let p = r.payload?.encoded()
            if let p, p.count > Payload.maximumEncodedBytes {
                throw VecDBError(.invalidArgument, "\(what), record \(i) (key \(r.key)): payload of \(p.count) bytes exceeds \(Payload.maximumEncodedBytes)")
            }
            batch.keys.append(r.key)
            batch.payloads.append(p)
            if metric == .cosine || elementType == .float16 {
                batch.vectors.append(contentsOf: prepared(r.vector))
            } else {
                batch.vectors.append(contentsOf: r.vector)
            }
        }
        _ = try store.commit(batch)
        refreshIndexesInBackground(store.snapshot())
    }

    /// Inserts or replaces one record.
    public func upsert(_ record: Record) throws(VecDBError) { try upsert([record]) }

    /// The record stored under `key`, or `nil`.
    ///
    /// - Throws: ``VecDBError/Code/corruptFile`` when its payload block is damaged.
    public func get(_ key: Key) throws(VecDBError) -> Record? {
        guard let r = try store.get(key) else { return nil }
        return Record(key: r.key, vector: r.vector, payload: try r.payload.map { (b: [UInt8]) throws(VecDBError) in try Payload(encoded: b) })
    }

    /// Deletes `keys` as one atomic batch. Returns how many existed.
    public func delete(_ keys: [Key]) throws(VecDBError) -> Int {
        guard !keys.isEmpty else { return 0 }
        return try store.commit(WALBatch(deletes: keys))
    }

    /// Deletes every record whose payload matches `filter`, as one atomic batch. Returns how many.
    public func delete(where filter: Filter) throws(VecDBError) -> Int {
        var keys: [Key] = []
        try store.snapshot().forEachLive { (key: Key, bytes: [UInt8]?) throws(VecDBError) in
            let p = try bytes.map { (b: [UInt8]) throws(VecDBError) in try Payload(encoded: b) }
            if filter.matches(p) { keys.append(key) }
        }
        return try delete(keys)
    }

    /// The `k` records nearest to `query` among those that pass `filter`, nearest first.
    ///
    /// Exact: every live row of every segment and of the memtable is compared, over one
    /// consistent snapshot.
    ///
    /// - Throws: ``VecDBError/Code/dimensionMismatch``, ``VecDBError/Code/nonFiniteValue``,
    ///   ``VecDBError/Code/corruptFile`` (a payload block the filter needs is damaged).
    /// - Complexity: O(count × dimension).
    /// With an index, indexed segments are searched through it, and the rest (the memory
    /// buffer, segments whose index is still being built) exactly; without one, every row is
    /// compared.
    /// - HNSW: candidate list size `ef`, by default the collection's (``searchEF``).
    /// - IVF: `nprobe` lists scanned, by default the collection's (``searchNprobe``).
    public func search(_ query: [Float], k: Int, filter: Filter? = nil, ef: Int? = nil, nprobe: Int? = nil) throws(VecDBError) -> [SearchResult] {
        try CollectionSnapshot(collection: self, snapshot: store.snapshot()).search(query, k: k, filter: filter, ef: ef, nprobe: nprobe)
    }

    /// A consistent, read-only view of the collection as it is now.
    public func snapshot() -> CollectionSnapshot {
        CollectionSnapshot(collection: self, snapshot: store.snapshot())
    }

    /// Seals the memtable into a segment now.
    public func flush() throws(VecDBError) {
        try store.flush()
        refreshIndexesInBackground(store.snapshot())
    }

    /// Merges all segments into one without deleted rows. Readers are not blocked.
    public func compact() throws(VecDBError) {
        try store.compact()
        refreshIndexesInBackground(store.snapshot())
    }

    /// Runs ``compact()`` on a background thread. Readers and writers carry on meanwhile.
    public func compactInBackground() async throws {
        try await withCheckedThrowingContinuation { (k: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global(qos: .utility).async {
                do {
                    try self.compact()
                    k.resume()
                } catch {
                    k.resume(throwing: error)
                }
            }
        }
    }

    /// Checks every checksum of every file, vector data and payload blocks included.
    public func verify() throws(VecDBError) { try store.verify() }

    public func stats() -> CollectionStats {
        let s = store.statistics()
        let raw = s.segments.reduce(0) { $0 + $1.payloadRawBytes }
        let file = s.segments.reduce(0) { $0 + $1.payloadFileBytes }
        var out = CollectionStats(
            name: name, dimension: dimension, metric: metric, elementType: elementType, count: s.liveRows,
            memtableRows: s.memtableRows, memtableDeletedRows: s.memtableDeletedRows, segmentCount: s.segments.count,
            deletedRows: s.segments.reduce(s.memtableDeletedRows) { $0 + $1.deletedRows },
            walBytes: s.walBytes, diskBytes: s.walBytes + s.segments.reduce(0) { $0 + $1.vectorBytes + $1.payloadFileBytes },
            payloadCompressionRatio: file > 0 ? Double(raw) / Double(file) : 0,
            segments: s.segments.map {
                CollectionStats.Segment(id: $0.id, rows: $0.rows, deletedRows: $0.deletedRows, vectorFileBytes: $0.vectorBytes,
                                        payloadRawBytes: $0.payloadRawBytes, payloadFileBytes: $0.payloadFileBytes)
            })
        out.index = index.map(\.summary)
        out.indexedSegments = indexedSegments.indexed
        out.indexDrift = indexDrift
        return out
    }
}

/// A collection frozen at one moment: searches and reads see exactly its records, whatever
/// writers do meanwhile.
public struct CollectionSnapshot: Sendable {
    public let collection: Collection
    let snapshot: Snapshot

    init(collection: Collection, snapshot: Snapshot) {
        self.collection = collection
        self.snapshot = snapshot
    }

    public var count: Int { snapshot.liveCount }

    /// See ``Collection/search(_:k:filter:ef:nprobe:)``.
    public func search(_ query: [Float], k: Int, filter: Filter? = nil, ef: Int? = nil, nprobe: Int? = nil) throws(VecDBError) -> [SearchResult] {
        if let ef, ef < 1 { throw VecDBError(.invalidArgument, "ef must be at least 1, got \(ef)") }
        if let nprobe, nprobe < 1 { throw VecDBError(.invalidArgument, "nprobe must be at least 1, got \(nprobe)") }
        try VectorValidation.check(query, dimension: collection.dimension, what: "search in \(collection.what): query")
        guard k > 0 else {
            if k < 0 { throw VecDBError(.invalidArgument, "k must be positive, got \(k)") }
            return []
        }
        let accept: (([UInt8]?) -> Bool)? = filter.map { f in
            { bytes in
                guard let bytes else { return f.matches(nil) }
                guard let p = try? Payload(encoded: bytes) else { return false }
                return f.matches(p)
            }
        }
        let indexed = collection.indexes.searcher(ef: ef ?? collection.searchEF, nprobe: nprobe ?? collection.searchNprobe, k: k,
                                                  filtered: filter != nil)
        return try snapshot.search(query, k: k, accept: accept, indexed: indexed).map { h throws(VecDBError) in
            SearchResult(key: h.key, distance: h.distance, payload: try h.payload.map { (b: [UInt8]) throws(VecDBError) in try Payload(encoded: b) })
        }
    }

    /// The record stored under `key` in this snapshot.
    public func get(_ key: Key) throws(VecDBError) -> Record? {
        guard let r = try snapshot.get(key, hint: collection.store.location(of: key)) else { return nil }
        return Record(key: r.key, vector: r.vector, payload: try r.payload.map { (b: [UInt8]) throws(VecDBError) in try Payload(encoded: b) })
    }

    /// Every live record, in storage order.
    public func records() throws(VecDBError) -> [Record] {
        try snapshot.allRecords().map { r throws(VecDBError) in
            Record(key: r.key, vector: r.vector, payload: try r.payload.map { (b: [UInt8]) throws(VecDBError) in try Payload(encoded: b) })
        }
    }
}
