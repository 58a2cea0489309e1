@_exported import VecDBKernels
@_exported import VecDBStorage

/// A vector with its key and optional payload.
public struct Record: Hashable, Sendable {
    public var key: Key
    public var vector: [Float]
    public var payload: Payload?

    public init(key: Key, vector: [Float], payload: Payload? = nil) {
        self.key = key
        self.vector = vector
        self.payload = payload
    }
}

/// One search hit: a key, its distance to the query (smaller is closer) and its payload.
public struct SearchResult: Hashable, Sendable {
    public var key: Key
    public var distance: Float
    public var payload: Payload?

    public init(key: Key, distance: Float, payload: Payload?) {
        self.key = key
        self.distance = distance
        self.payload = payload
    }
}

/// Counters of one collection, for `vecdb stats`.
public struct CollectionStats: Codable, Sendable, Hashable {
    public struct Segment: Codable, Sendable, Hashable {
        public var id: UInt64
        public var rows: Int
        public var deletedRows: Int
        public var vectorFileBytes: Int
        public var payloadRawBytes: Int
        public var payloadFileBytes: Int
    }

    public var name: String
    public var dimension: Int
    public var metric: Metric
    public var elementType: ElementType
    /// Live records.
    public var count: Int
    public var memtableRows: Int
    public var memtableDeletedRows: Int
    public var segmentCount: Int
    public var deletedRows: Int
    public var walBytes: Int
    public var diskBytes: Int
    /// Raw payload bytes over compressed payload file bytes (sealed segments only; 0 when none).
    public var payloadCompressionRatio: Double
    public var segments: [Segment]
    /// The index kept ("hnsw M=16 efConstruction=200", "ivf-pq nlist=1024 m=16"), or nil.
    public var index: String? = nil
    /// Segments with their index built.
    public var indexedSegments: Int = 0
    /// For IVF: see ``Collection/indexDrift``.
    public var indexDrift: Double? = nil
}

/// How a ``Database`` is opened.
public struct DatabaseOptions: Sendable {
    /// When a write is durable; `.fsync` by default.
    public var durability: Durability
    /// Rows a collection's memtable holds before it is sealed into a segment.
    public var memtableRows: Int
    /// Open without writing anything: shares the lock with other read-only openers, and fails
    /// while a writer holds the database.
    public var readOnly: Bool
    /// Check every checksum (vectors and payload blocks too) while opening. Slower: reads all data.
    public var verifyChecksumsOnOpen: Bool
    /// How long `open` keeps retrying a lock held elsewhere before it throws
    /// ``VecDBError/Code/locked`` (default 250 ms; 0 fails at once).
    public var lockWaitMilliseconds: Int = 250
    /// The file layer (tests inject faults through it).
    package var fileSystem: FileSystem = .system

    public init(durability: Durability = .fsync, memtableRows: Int = 65_536, readOnly: Bool = false, verifyChecksumsOnOpen: Bool = false) {
        self.durability = durability
        self.memtableRows = memtableRows
        self.readOnly = readOnly
        self.verifyChecksumsOnOpen = verifyChecksumsOnOpen
    }

    var storeOptions: StoreOptions {
        var o = StoreOptions()
        o.durability = durability
        o.memtableRows = max(1, memtableRows)
        o.readOnly = readOnly
        o.verifyOnOpen = verifyChecksumsOnOpen
        o.fileSystem = fileSystem
        return o
    }
}
