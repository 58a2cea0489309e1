import Dispatch
import VecDBEngine
import VecDBKernels
import VecDBStorage

/// A named set of records with a fixed dimension, metric and element type.
///
/// Thread-safe: its only state is the storage engine, which serialises writers with a mutex
/// and gives readers immutable snapshots. Many threads may search while one writes.
public final class Collection: Sendable {
    /// The collection's name, unique in its database.
    public let name: String
    /// Components per vector.
    public let dimension: Int
    /// The distance searches rank by.
    public let metric: Metric
    /// How components are stored.
    public let elementType: ElementType
    /// The model the collection's vectors come from, when it was created with an embedder.
    public let embedderIdentity: EmbedderIdentity?
    let attachedEmbedder = Lock<(any TextEmbedder)?>(nil)
    let store: CollectionStore
    let indexes: SegmentIndexes
    let payloadIndexes: PayloadIndexes
    var engine: QueryEngine { QueryEngine(indexes: indexes) }

    init(name: String, store: CollectionStore) throws(VecDBError) {
        self.name = name
        self.store = store
        dimension = store.dimension
        metric = store.metric
        elementType = store.elementType
        embedderIdentity = try EmbedderFile.read(fs: store.fileSystem, directory: store.directory)
        indexes = SegmentIndexes(directory: store.directory, metric: store.metric, dimension: store.dimension, fs: store.fileSystem)
        payloadIndexes = try PayloadIndexes(fs: store.fileSystem, directory: store.directory, readOnly: store.isReadOnly)
        let snapshot = store.snapshot()
        try indexes.load(snapshot)
        payloadIndexes.removeOrphans(live: Set(snapshot.segments.map(\.segment.id)))
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
    /// - Throws: `VecDBError.Code.dimensionMismatch`, `VecDBError.Code.nonFiniteValue`,
    ///   `VecDBError.Code.invalidArgument` (key or payload too large), `VecDBError.Code.diskFull`,
    ///   `VecDBError.Code.io`, `VecDBError.Code.closed`, `VecDBError.Code.readOnly`.
    /// - Complexity: O(records × dimension), plus a seal when the memtable fills.
    public func upsert(_ records: [Record]) throws(VecDBError) {
        var batch = WALBatch()
        batch.keys.reserveCapacity(records.count)
        batch.payloads.reserveCapacity(records.count)
        batch.vectors.reserveCapacity(records.count * dimension)
        for (i, r) in records.enumerated() {
            let p = try check(r, what: "\(what), record \(i) (key \(r.key))")
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

    /// Checks `record` as ``upsert(_:)-([Record])`` would, without writing it: an importer
    /// checks a whole file before it writes its first batch.
    ///
    /// - Throws: what ``upsert(_:)-([Record])`` throws for a bad record, naming its key.
    public func validate(_ record: Record) throws(VecDBError) {
        _ = try check(record, what: "\(what), key \(record.key)")
    }

    /// Checks one record and returns its encoded payload.
    func check(_ r: Record, what: String) throws(VecDBError) -> [UInt8]? {
        try VectorValidation.check(r.vector, dimension: dimension, what: what)
        if elementType != .float32 {
            let v = metric == .cosine ? ExactSearch.normalized(r.vector) : r.vector
            let limit = Self.largestComponent(elementType)
            if let j = v.firstIndex(where: { abs($0) > limit }) {
                throw VecDBError(
                    .invalidArgument, "\(what): component \(j) is \(v[j]), outside the \(elementType.rawValue) range ±\(limit)")
            }
        }
        try r.key.validate()
        let p = r.payload?.encoded()
        if let p, p.count > Payload.maximumEncodedBytes {
            throw VecDBError(.invalidArgument, "\(what): payload of \(p.count) bytes exceeds \(Payload.maximumEncodedBytes)")
        }
        return p
    }

    /// The largest magnitude a component may have in a collection of `elementType`: Float16's
    /// largest finite value, and for Int8 half of Float32's (a segment's per-dimension range,
    /// maximum minus minimum, must stay finite for its 8-bit codes).
    public static func largestComponent(_ elementType: ElementType) -> Float {
        switch elementType {
        case .float32: .greatestFiniteMagnitude
        case .float16: 65504
        case .int8: .greatestFiniteMagnitude / 2
        }
    }

    /// The record stored under `key`, or `nil`.
    ///
    /// - Throws: `VecDBError.Code.corruptFile` when its payload block is damaged.
    public func get(_ key: Key) throws(VecDBError) -> Record? {
        guard let r = try store.get(key) else { return nil }
        return Record(
            key: r.key, vector: r.vector, payload: try r.payload.map { (b: [UInt8]) throws(VecDBError) in try Payload(encoded: b) })
    }

    /// Deletes `keys` as one atomic batch. Returns how many existed.
    public func delete(_ keys: [Key]) throws(VecDBError) -> Int {
        guard !keys.isEmpty else { return 0 }
        return try store.commit(WALBatch(deletes: keys))
    }

    /// Deletes every record whose payload matches `filter`, as one atomic batch. Returns how many.
    ///
    /// The filter is resolved as a search's is, through the payload indexes.
    public func delete(where filter: Filter) throws(VecDBError) -> Int {
        try delete(try snapshot().keys(where: filter))
    }

    /// How many records match `filter`, through the payload indexes where the filter's fields
    /// have them.
    public func count(where filter: Filter) throws(VecDBError) -> Int { try snapshot().count(where: filter) }

    /// The `k` records nearest to `query`, nearest first, among those that pass
    /// `options.filter`.
    ///
    /// The search runs over one consistent snapshot. With an index, indexed segments are
    /// searched through it at `options.width` (HNSW `ef`, IVF `nprobe`; the index's default
    /// when nil), and the rest (the memory buffer, segments whose index is still being built)
    /// exactly; without one, or with `options.exact`, every live row is compared. A filter
    /// that few rows pass is answered by scanning those rows exactly.
    ///
    /// - Parameters:
    ///   - query: `dimension` finite components.
    ///   - k: how many hits at most; 0 returns none.
    ///   - options: filter, index width, exactness.
    /// - Returns: at most `k` hits; fewer when fewer records pass the filter.
    /// - Throws: `VecDBError.Code.dimensionMismatch`, `VecDBError.Code.nonFiniteValue`,
    ///   `VecDBError.Code.invalidArgument` (negative `k`, width below 1),
    ///   `VecDBError.Code.corruptFile` (a payload block the filter or a hit needs is damaged).
    /// - Complexity: exact: O(count × dimension); HNSW: about O(width × log count) per segment;
    ///   IVF: the probed lists' rows.
    public func search(_ query: [Float], k: Int, options: SearchOptions = .init()) throws(VecDBError) -> [SearchResult] {
        try snapshot().search(query, k: k, options: options)
    }

    /// The `k` nearest records of every query in `queries`, over one snapshot, on up to
    /// `threads` threads. Result `i` is what ``search(_:k:options:)`` gives for `queries[i]`.
    ///
    /// - Throws: as ``search(_:k:options:)``; every query is validated before any is run, and
    ///   the error names the query's position.
    public func search(queries: [[Float]], k: Int, options: SearchOptions = .init(), threads: Int = 1) throws(VecDBError)
        -> [[SearchResult]]
    {
        try snapshot().search(queries: queries, k: k, options: options, threads: threads)
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
        let snap = store.snapshot()
        payloadIndexes.removeOrphans(live: Set(snap.segments.map(\.segment.id)))
        refreshIndexesInBackground(snap)
    }

    /// Runs ``compact()`` off the caller's executor. Readers and writers carry on meanwhile.
    ///
    /// Cancellation is cooperative: a task cancelled before the compaction starts throws
    /// `VecDBError.Code.cancelled` and changes nothing; once started, the compaction runs to
    /// its end (it replaces the segments in one atomic step, so there is no partial state to
    /// leave behind).
    ///
    /// - Throws: `VecDBError.Code.cancelled`, and whatever ``compact()`` throws.
    @concurrent
    public func compactInBackground() async throws(VecDBError) {
        if Task.isCancelled { throw VecDBError(.cancelled, "compaction of \(what) was cancelled before it started") }
        try compact()
    }

    /// Checks every checksum of every file, vector data and payload blocks included.
    public func verify() throws(VecDBError) { try store.verify() }

    /// Counters for `vecdb stats`: rows, segments, deletions, bytes on disk, the index.
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
                CollectionStats.Segment(
                    id: $0.id, rows: $0.rows, deletedRows: $0.deletedRows, vectorFileBytes: $0.vectorBytes,
                    payloadRawBytes: $0.payloadRawBytes, payloadFileBytes: $0.payloadFileBytes)
            })
        out.index = index.map(\.summary)
        out.indexedSegments = indexedSegments.indexed
        out.indexDrift = indexDrift
        out.embedder = embedderIdentity?.description
        out.payloadIndexes = payloadIndexDefinitions.map(\.description)
        out.payloadIndexBytes = payloadIndexes.diskBytes(store.snapshot())
        return out
    }
}

/// A collection frozen at one moment: searches and reads see exactly its records, whatever
/// writers do meanwhile.
public struct CollectionSnapshot: Sendable {
    /// The collection this is a snapshot of.
    public let collection: Collection
    let snapshot: Snapshot

    init(collection: Collection, snapshot: Snapshot) {
        self.collection = collection
        self.snapshot = snapshot
    }

    /// Live records in this snapshot.
    public var count: Int { snapshot.liveCount }

    /// See ``Collection/search(_:k:options:)``.
    public func search(_ query: [Float], k: Int, options: SearchOptions = .init()) throws(VecDBError) -> [SearchResult] {
        let index = options.exact ? nil : collection.index
        guard var request = try request(query, k: k, options: options, index: index, what: "query") else { return [] }
        request.rows = try options.filter.map { (f: Filter) throws(VecDBError) in try rows(where: f) }
        return try Self.results(try collection.engine.search(request, in: snapshot))
    }

    /// See ``Collection/search(queries:k:options:threads:)``.
    public func search(queries: [[Float]], k: Int, options: SearchOptions = .init(), threads: Int = 1) throws(VecDBError)
        -> [[SearchResult]]
    {
        if threads < 1 { throw VecDBError(.invalidArgument, "threads must be at least 1, got \(threads)") }
        let index = options.exact ? nil : collection.index
        var requests: [SearchRequest] = []
        requests.reserveCapacity(queries.count)
        for (i, q) in queries.enumerated() {
            guard let r = try request(q, k: k, options: options, index: index, what: "query \(i)") else {
                return queries.map { _ in [] }
            }
            requests.append(r)
        }
        // One filter for the whole batch: resolved to rows once.
        if let f = options.filter {
            let resolved = try rows(where: f)
            for i in requests.indices { requests[i].rows = resolved }
        }
        return try collection.engine.search(requests, in: snapshot, threads: threads).map { h throws(VecDBError) in try Self.results(h) }
    }

    /// Validates a query and compiles its options into the engine's request; nil when `k` is 0.
    /// - Parameter index: the collection's index as read once for the query or batch (nil when
    ///   `options.exact`).
    func request(
        _ query: [Float], k: Int, options: SearchOptions, index: IndexOptions?, what: String, resolved: FilterRows? = nil
    ) throws(VecDBError) -> SearchRequest? {
        if let width = options.width, width < 1 {
            let name: String
            switch index {
            case .hnsw?: name = "ef"
            case .ivf?: name = "nprobe"
            case nil: name = "search width"
            }
            throw VecDBError(.invalidArgument, "\(name) must be at least 1, got \(width)")
        }
        try VectorValidation.check(query, dimension: collection.dimension, what: "search in \(collection.what): \(what)")
        guard k > 0 else {
            if k < 0 { throw VecDBError(.invalidArgument, "k must be positive, got \(k)") }
            return nil
        }
        // A k or width beyond the rows there are asks for every row: clamped, so that no
        // buffer is sized by an unbounded user number.
        let rows = max(1, snapshot.liveCount)
        let width = (options.width ?? index?.defaultWidth).map { min($0, max(rows, 1)) }
        return SearchRequest(
            query: query, k: min(k, rows), rows: resolved,
            ef: width ?? Collection.defaultEF,
            nprobe: width ?? Collection.defaultNprobe, exact: options.exact, payloads: options.includePayloads)
    }

    static func results(_ hits: [StoredHit]) throws(VecDBError) -> [SearchResult] {
        try hits.map { h throws(VecDBError) in
            SearchResult(
                key: h.key, distance: h.distance, payload: try h.payload.map { (b: [UInt8]) throws(VecDBError) in try Payload(encoded: b) })
        }
    }

    /// The rows of this snapshot that `filter` admits, per segment and in the memtable.
    /// Resolutions are kept for the few filters used last on this very snapshot (a service
    /// repeats its filters: in stock, in a region), so a repeated filter costs no resolution
    /// until the next write makes a new snapshot.
    func rows(where filter: Filter) throws(VecDBError) -> FilterRows {
        let cache = collection.payloadIndexes
        if let hit = cache.resolved(filter, snapshot: snapshot) { return hit }
        let rows = try FilterResolver(filter: filter, indexes: cache).resolve(snapshot)
        cache.remember(filter, snapshot: snapshot, rows: rows)
        return rows
    }

    /// How many live records match `filter`.
    public func count(where filter: Filter) throws(VecDBError) -> Int {
        let rows = try rows(where: filter)
        return try liveMatches(rows).count
    }

    /// The keys of the live records that match `filter`, in storage order.
    public func keys(where filter: Filter) throws(VecDBError) -> [Key] {
        try liveMatches(try rows(where: filter)).map { snapshot.key(ordinal: $0.ordinal, row: $0.row) }
    }

    /// The live records that match `filter`, in storage order (an export).
    public func records(where filter: Filter) throws(VecDBError) -> [Record] {
        try liveMatches(try rows(where: filter)).map { (m: (ordinal: Int, row: Int)) throws(VecDBError) -> Record in
            let h = try snapshot.hit(ordinal: m.ordinal, row: m.row, distance: 0)
            let vector =
                m.ordinal == snapshot.segments.count
                ? snapshot.memtable.vector(at: m.row) : snapshot.segments[m.ordinal].segment.vector(at: m.row)
            return Record(
                key: h.key, vector: vector, payload: try h.payload.map { (b: [UInt8]) throws(VecDBError) in try Payload(encoded: b) })
        }
    }

    /// (segment ordinal, row) of each live matching row; the memtable's ordinal is the segment count.
    func liveMatches(_ rows: FilterRows) throws(VecDBError) -> [(ordinal: Int, row: Int)] {
        var out: [(ordinal: Int, row: Int)] = []
        for (ordinal, view) in snapshot.segments.enumerated() {
            guard var bits = rows.segments[view.segment.id] else { continue }
            bits.subtract(view.dead)
            try bits.forEachMember { (r: Int) throws(VecDBError) in out.append((ordinal, r)) }
        }
        var mem = rows.memtable
        mem.subtract(snapshot.memDead)
        let ordinal = snapshot.segments.count
        try mem.forEachMember { (r: Int) throws(VecDBError) in out.append((ordinal, r)) }
        return out
    }

    /// The record stored under `key` in this snapshot.
    public func get(_ key: Key) throws(VecDBError) -> Record? {
        guard let r = try snapshot.get(key, hint: collection.store.location(of: key)) else { return nil }
        return Record(
            key: r.key, vector: r.vector, payload: try r.payload.map { (b: [UInt8]) throws(VecDBError) in try Payload(encoded: b) })
    }

    /// Calls `body` with every live record in storage order, one at a time: an export of any
    /// size in bounded memory.
    public func forEachRecord(_ body: (Record) throws(VecDBError) -> Void) throws(VecDBError) {
        try snapshot.forEachRecord { (r: StoredRecord) throws(VecDBError) in
            try body(
                Record(
                    key: r.key, vector: r.vector, payload: try r.payload.map { (b: [UInt8]) throws(VecDBError) in try Payload(encoded: b) })
            )
        }
    }

    /// Every live record, in storage order.
    public func records() throws(VecDBError) -> [Record] {
        try snapshot.allRecords().map { r throws(VecDBError) in
            Record(key: r.key, vector: r.vector, payload: try r.payload.map { (b: [UInt8]) throws(VecDBError) in try Payload(encoded: b) })
        }
    }
}
