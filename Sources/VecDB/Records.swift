import VecDBKernels
import VecDBStorage

/// A vector with its key and optional payload.
public struct Record: Hashable, Sendable {
    /// The record's key, unique in its collection.
    public var key: Key
    /// The vector, `dimension` finite components.
    public var vector: [Float]
    /// Metadata stored LZ4-compressed beside the vector, and filtered on by searches.
    public var payload: Payload?

    /// Creates a record; `vector` must have the collection's dimension and finite components.
    public init(key: Key, vector: [Float], payload: Payload? = nil) {
        self.key = key
        self.vector = vector
        self.payload = payload
    }
}

/// One search hit: a key, its distance to the query (smaller is closer) and its payload.
public struct SearchResult: Hashable, Sendable {
    /// The key of the record found.
    public var key: Key
    /// Its distance to the query (smaller is closer).
    public var distance: Float
    /// Its payload.
    public var payload: Payload?

    /// Creates a hit.
    public init(key: Key, distance: Float, payload: Payload?) {
        self.key = key
        self.distance = distance
        self.payload = payload
    }
}

/// Counters of one collection, for `vecdb stats`.
public struct CollectionStats: Codable, Sendable, Hashable {
    /// Counters of one sealed segment.
    public struct Segment: Codable, Sendable, Hashable {
        /// The segment's id (its file is `seg-<id in hex>.vec`).
        public var id: UInt64
        /// Rows written, deleted ones included.
        public var rows: Int
        /// Rows deleted since the segment was sealed.
        public var deletedRows: Int
        /// Size of the vector file.
        public var vectorFileBytes: Int
        /// Payload bytes before compression.
        public var payloadRawBytes: Int
        /// Size of the LZ4-compressed payload file.
        public var payloadFileBytes: Int
    }

    /// The collection's name.
    public var name: String
    /// Components per vector.
    public var dimension: Int
    /// The distance.
    public var metric: Metric
    /// How components are stored.
    public var elementType: ElementType
    /// Live records.
    public var count: Int
    /// Rows in the memory buffer (not yet sealed into a segment), deleted ones included.
    public var memtableRows: Int
    /// Deleted rows in the memory buffer.
    public var memtableDeletedRows: Int
    /// Sealed segments.
    public var segmentCount: Int
    /// Deleted rows still stored (until compaction).
    public var deletedRows: Int
    /// Size of the write-ahead log.
    public var walBytes: Int
    /// Log, vector and payload files together (index files not included).
    public var diskBytes: Int
    /// Raw payload bytes over compressed payload file bytes (sealed segments only; 0 when none).
    public var payloadCompressionRatio: Double
    /// Every sealed segment.
    public var segments: [Segment]
    /// The index kept ("hnsw M=16 efConstruction=200", "ivf-pq nlist=1024 m=16"), or nil.
    public var index: String? = nil
    /// Segments with their index built.
    public var indexedSegments: Int = 0
    /// For IVF: see ``Collection/indexDrift``.
    public var indexDrift: Double? = nil
    /// The text embedder the collection was created with ("all-MiniLM-L6-v2 (checksum …, 384-d)"), or nil.
    public var embedder: String? = nil
    /// The payload indexes, as "field (kind)", by field.
    public var payloadIndexes: [String] = []
    /// Size of the payload index files of the sealed segments (not in ``diskBytes``).
    public var payloadIndexBytes: Int = 0
}

/// How a ``Database`` is opened.
public struct DatabaseOptions: Sendable {
    /// When a write is durable; `.fsync` by default.
    public var durability: Durability
    /// Rows a collection's memtable holds before it is sealed into a segment.
    public var memtableRows: Int
    /// Open without writing anything and without a lock: a reader sees a consistent snapshot,
    /// the last write committed when it opened, while a writer in another process goes on.
    public var readOnly: Bool
    /// Check every checksum (vectors and payload blocks too) while opening. Slower: reads all data.
    public var verifyChecksumsOnOpen: Bool
    /// Check a segment's vectors checksum before the first search or read that uses it (once
    /// per segment and process), so damaged vectors are never returned (default true). Opening
    /// checks every other checksum; payload blocks are checked as they are read.
    public var verifyChecksumsOnFirstUse = true
    /// How long `open` keeps retrying a lock held elsewhere before it throws
    /// `VecDBError.Code.locked` (default 250 ms; 0 fails at once).
    public var lockWaitMilliseconds: Int = 250
    /// The file layer (tests inject faults through it).
    package var fileSystem: FileSystem = .system

    /// Creates options; the defaults are durable (fsync per write) and read-write.
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
        o.verifyOnFirstUse = verifyChecksumsOnFirstUse
        o.fileSystem = fileSystem
        return o
    }
}
