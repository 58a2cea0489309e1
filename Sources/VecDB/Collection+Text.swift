import Dispatch
import Synchronization
import VecDBKernels
import VecDBStorage

/// A record given as text, for a collection created with an embedder.
public struct TextRecord: Hashable, Sendable {
    /// The record's key.
    public var key: Key
    /// The text whose embedding is stored; kept in the payload under ``Collection/textField``.
    public var text: String
    /// Other metadata: an object, to which the text is added.
    public var payload: Payload?

    /// A record from its key, text and optional payload object.
    public init(key: Key, text: String, payload: Payload? = nil) {
        self.key = key
        self.text = text
        self.payload = payload
    }
}

extension Collection {
    /// The payload field a text record's text is stored under.
    public static let textField = "text"
    /// Texts embedded per step of ``upsert(texts:)``; one step's batch is written while the
    /// next is embedded.
    public static let textBatch = 256

    /// The embedder attached to this handle: the one the collection was created or opened with.
    public var embedder: (any TextEmbedder)? { attachedEmbedder.withLock { $0 } }

    /// Attaches `embedder` for ``upsert(texts:)`` and ``search(text:k:options:)``.
    ///
    /// - Throws: `VecDBError.Code.invalidArgument` when the collection was not created with an
    ///   embedder, or was created with another model (name, checksum or dimension differ).
    public func attach(_ embedder: any TextEmbedder) throws(VecDBError) {
        let given = EmbedderIdentity(embedder)
        guard let stored = embedderIdentity else {
            throw VecDBError(
                .invalidArgument, "\(what) was created without an embedder; it stores vectors, not text (create one with --embed)")
        }
        guard stored == given else {
            throw VecDBError(
                .invalidArgument,
                "\(what) was created with the embedder \(stored); refusing \(given): vectors of two models are not comparable")
        }
        attachedEmbedder.withLock { $0 = embedder }
    }

    func requireEmbedder() throws(VecDBError) -> any TextEmbedder {
        if let e = embedder { return e }
        if let stored = embedderIdentity {
            throw VecDBError(
                .invalidArgument, "\(what) embeds text with \(stored); open it with that embedder (Database.collection(_:embedder:))")
        }
        throw VecDBError(.invalidArgument, "\(what) was created without an embedder; insert and search it with vectors")
    }

    /// Embeds `texts` and inserts or replaces them, with each text in its payload's
    /// ``textField``.
    ///
    /// Records are embedded and written ``textBatch`` at a time, and batch i+1 is embedded while
    /// batch i is written; each batch is atomic (as a `[Record]` batch given to `upsert(_:)`), the whole call is not.
    /// Every payload is checked before anything is embedded.
    ///
    /// - Throws: `VecDBError.Code.invalidArgument` without an attached embedder or for a
    ///   payload that is not an object, what the embedder throws, and what `upsert(_:)` throws for a batch of records.
    public func upsert(texts records: [TextRecord]) throws(VecDBError) {
        let embedder = try requireEmbedder()
        for r in records {
            if let p = r.payload, case .object = p {
            } else if r.payload != nil {
                throw VecDBError(.invalidArgument, "\(what): the payload of key \(r.key) must be an object to hold its text")
            }
        }
        let batches = stride(from: 0, to: records.count, by: Self.textBatch).map {
            Array(records[$0..<min($0 + Self.textBatch, records.count)])
        }
        guard !batches.isEmpty else { return }
        var vectors = try embedder.embed(batches[0].map(\.text))
        for (i, batch) in batches.enumerated() {
            let next = i + 1 < batches.count ? batches[i + 1] : nil
            let ahead = EmbeddingAhead()
            let group = DispatchGroup()
            if let next {
                DispatchQueue.global().async(group: group) {
                    ahead.result = Result { () throws(VecDBError) -> [[Float]] in try embedder.embed(next.map(\.text)) }
                }
            }
            guard vectors.count == batch.count else {
                group.wait()
                throw VecDBError(.io, "the embedder \(embedder.modelName) returned \(vectors.count) vectors for \(batch.count) texts")
            }
            let written = Result { () throws(VecDBError) in
                try upsert(zip(batch, vectors).map { r, v in Record(key: r.key, vector: v, payload: Self.payload(r)) })
            }
            group.wait()
            try written.get()
            if next != nil { vectors = try ahead.get() }
        }
    }

    /// Embeds one text and inserts or replaces it (see ``upsert(texts:)``).
    public func upsert(key: Key, text: String, payload: Payload? = nil) throws(VecDBError) {
        try upsert(texts: [TextRecord(key: key, text: text, payload: payload)])
    }

    /// The `k` records nearest to the embedding of `text`.
    ///
    /// - Throws: `VecDBError.Code.invalidArgument` without an attached embedder, what the
    ///   embedder throws, and what ``search(_:k:options:)`` throws.
    public func search(text: String, k: Int, options: SearchOptions = .init()) throws(VecDBError) -> [SearchResult] {
        let embedder = try requireEmbedder()
        guard let q = try embedder.embed([text]).first else {
            throw VecDBError(.io, "the embedder \(embedder.modelName) returned no vector")
        }
        return try search(q, k: k, options: options)
    }

    static func payload(_ r: TextRecord) -> Payload {
        var fields: [String: Payload] = [:]
        if case .object(let o)? = r.payload { fields = o }
        fields[textField] = .string(r.text)
        return .object(fields)
    }
}

/// The next batch's vectors, computed on another thread.
private final class EmbeddingAhead: @unchecked Sendable {
    // Safe: written by the one task before the group is left, read after `wait()`.
    var result: Result<[[Float]], VecDBError> = .success([])

    func get() throws(VecDBError) -> [[Float]] { try result.get() }
}

/// The `EMBEDDER` file of a collection created with an embedder: which model its vectors come
/// from. Written once, inside the collection's directory before it is renamed into place.
///
/// ```
///   0   8  magic "VECDBEMB"
///   8   4  format version, 1
///  12   4  body length N
///  16   N  body: u32 dimension, then two strings (u32 length, UTF-8): model name, checksum
///  16+N 4  CRC-32C of bytes 0..<16+N
/// ```
enum EmbedderFile {
    static let name = "EMBEDDER"
    static let magic = Array("VECDBEMB".utf8)

    static func encode(_ id: EmbedderIdentity) -> [UInt8] {
        var body = ByteWriter()
        body.u32(UInt32(id.dimension))
        for s in [id.modelName, id.modelChecksum] {
            let bytes = Array(s.utf8)
            body.u32(UInt32(bytes.count))
            body.append(bytes)
        }
        var w = ByteWriter()
        w.append(magic)
        w.u32(1)
        w.u32(UInt32(body.bytes.count))
        w.append(body.bytes)
        w.u32(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    /// The identity stored in `directory`, or nil when the collection has none.
    ///
    /// - Throws: `VecDBError.Code.corruptFile` for a damaged file.
    static func read(fs: FileSystem, directory: String) throws(VecDBError) -> EmbedderIdentity? {
        let path = directory + "/" + name
        guard fs.exists(path) else { return nil }
        let bytes = try fs.readAll(path)
        func bad(_ why: String) -> VecDBError { VecDBError(.corruptFile, "embedder file '\(path)': \(why)", path: path) }
        guard bytes.count >= 20, Array(bytes[0..<8]) == magic else { throw bad("bad magic or too short") }
        guard
            CRC32C.checksum(bytes[0..<(bytes.count - 4)])
                == bytes.suffix(4).withUnsafeBytes({ UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) })
        else { throw bad("checksum mismatch") }
        let parsed = bytes.withUnsafeBytes { raw -> Result<(Int, [String]), VecDBError> in
            Result { () throws(VecDBError) -> (Int, [String]) in
                var r = ByteReader(raw, offset: 8, what: "embedder file '\(path)'", path: path)
                guard try r.u32() == 1 else { throw bad("unknown format version") }
                _ = try r.u32()
                let dimension = Int(try r.u32())
                var strings: [String] = []
                for _ in 0..<2 {
                    let n = Int(try r.u32())
                    strings.append(String(decoding: try r.array(n), as: UTF8.self))
                }
                return (dimension, strings)
            }
        }
        let (dimension, strings) = try parsed.get()
        return EmbedderIdentity(modelName: strings[0], modelChecksum: strings[1], dimension: dimension)
    }
}
