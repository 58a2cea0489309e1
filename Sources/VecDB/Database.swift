// swift-format-ignore-file: AmbiguousTrailingClosureOverload

// (`read` and `write` come in sync and async forms with one name, as GRDB's do: Swift picks the
// async form in an async context, where it must be awaited.)
import Dispatch
import Synchronization
import VecDBKernels
import VecDBStorage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An embedded vector database: a directory of named collections.
///
/// ```
/// DB/
///   LOCK            flock'd exclusively by the one writer process; readers take no lock
///   items/          one directory per collection (see CollectionStore.swift and docs/storage.md)
///     MANIFEST  wal-….log  seg-….vec  seg-….pay
/// ```
///
/// Thread-safe, hence `@unchecked Sendable`: the table of open collections is a `Mutex`, each
/// ``Collection`` serialises its writers and gives readers immutable snapshots, and the scoped
/// ``write(_:)-((Database)->T)`` access is serialised by its own mutex. Use one `Database` per process for a
/// directory; a second process that opens it for writing gets `VecDBError.Code.locked`. Any
/// number of processes may open it read-only meanwhile: each reads a consistent snapshot, the
/// state of the last write committed when it opened, while the writer goes on.
public final class Database: @unchecked Sendable {
    /// The database directory.
    public let path: String
    /// The options it was opened with.
    public let options: DatabaseOptions
    let lock: FileHandle
    var fs: FileSystem { options.fileSystem }

    struct State {
        var collections: [String: Collection] = [:]
        /// Collections that could not be opened, with why; the others work.
        var damaged: [String: VecDBError] = [:]
        var closed = false
    }

    let state = Lock(State())
    let writeGate = Lock<Void>(())

    static let lockFileName = "LOCK"
    static let creatingPrefix = ".creating-"
    static let droppingPrefix = ".dropping-"

    init(path: String, options: DatabaseOptions, lock: FileHandle) {
        self.path = path
        self.options = options
        self.lock = lock
    }

    deinit { close() }

    /// Opens the database at `path`, creating the directory when it is missing (unless read-only).
    ///
    /// Replays every collection's write-ahead log. Segments are memory-mapped, not read.
    ///
    /// - Throws: `VecDBError.Code.locked` when a writer opens it while another process has it
    ///   open for writing (readers never wait), `VecDBError.Code.corruptFile` naming a damaged file,
    ///   `VecDBError.Code.io`.
    public static func open(at path: String, options: DatabaseOptions = .init()) throws(VecDBError) -> Database {
        let fs = options.fileSystem
        let path = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        if options.readOnly {
            guard fs.isDirectory(path) else { throw VecDBError(.notFound, "database at '\(path)' does not exist", path: path) }
        } else {
            try fs.makeDirectories(path)
        }
        let lockPath = path + "/" + lockFileName
        // A directory that holds files but neither a LOCK nor any collection is someone else's:
        // refused, rather than opened as an empty database (and written into).
        if !fs.exists(lockPath) {
            let entries = try fs.list(path)
            if !entries.isEmpty && !entries.contains(where: { fs.exists(path + "/" + $0 + "/" + Manifest.fileName) }) {
                throw VecDBError(
                    .invalidArgument,
                    "'\(path)' is not a VecDB database: it holds \(entries.count) entries but no \(lockFileName) file and no collection",
                    path: path)
            }
        }
        // Readers take no lock: they read a snapshot (see `openCollection`) while the one writer
        // writes, as readers of SQLite in WAL mode and of LMDB do.
        let lock: FileHandle
        if options.readOnly {
            lock = try fs.open(path, writable: false)
        } else {
            lock = try fs.open(lockPath, writable: true, create: true)
            // A lock held by another process is reported after a short grace period: a process
            // that forks (to start a helper) shares its open files with the child until the
            // child's exec closes them, so a lock just released can look held for a moment.
            let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, options.lockWaitMilliseconds)) * 1_000_000
            while try !lock.tryLock(exclusive: true) {
                if DispatchTime.now().uptimeNanoseconds >= deadline {
                    lock.close()
                    throw VecDBError(.locked, "database at \(path) is being written by another process", path: path)
                }
                usleep(5_000)
            }
        }
        let db = Database(path: path, options: options, lock: lock)
        do throws(VecDBError) {
            var names: [String] = []
            for name in try fs.list(path) {
                let full = path + "/" + name
                if name.hasPrefix(creatingPrefix) || name.hasPrefix(droppingPrefix) {
                    if !options.readOnly { try fs.removeTree(full) }
                    continue
                }
                if Self.isValidName(name), fs.isDirectory(full) { names.append(name) }
            }
            // One damaged or stray collection directory does not take the others down: it is
            // reported by name (`damagedCollections`, and `collection(_:)` throws its error).
            var opened: [String: Collection] = [:]
            var damaged: [String: VecDBError] = [:]
            for name in names {
                switch db.openCollection(name) {
                case .opened(let c): opened[name] = c
                case .damaged(let e): damaged[name] = e
                case .gone: break
                }
            }
            db.state.withLock {
                $0.collections = opened
                $0.damaged = damaged
            }
        } catch {
            db.close()
            throw error
        }
        return db
    }

    /// Collection names: 1 to 128 of `A-Z a-z 0-9 _ . -`, not starting with `.`.
    public static func isValidName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 128, name != lockFileName, !name.hasPrefix(".") else { return false }
        return name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2E || c == 0x2D
        }
    }

    func checkOpen(_ s: State) throws(VecDBError) {
        if s.closed { throw VecDBError(.closed, "database at '\(path)' is closed", path: path) }
    }

    /// Creates a collection.
    ///
    /// Atomic: the collection is written in a temporary directory, which is renamed into place.
    ///
    /// - Throws: `VecDBError.Code.alreadyExists`, `VecDBError.Code.invalidArgument` (name,
    ///   dimension), `VecDBError.Code.readOnly`.
    @discardableResult
    public func createCollection(_ name: String, dimension: Int, metric: Metric, elementType: ElementType = .float32) throws(VecDBError)
        -> Collection
    {
        try createCollection(name, dimension: dimension, metric: metric, elementType: elementType, embedder: nil)
    }

    /// Creates a collection whose records are inserted and searched by text: `embedder` computes
    /// the vectors, and its model's name, checksum and dimension are stored with the collection,
    /// so that a later open refuses a different model.
    ///
    /// - Throws: as ``createCollection(_:dimension:metric:elementType:)``.
    @discardableResult
    public func createCollection(
        _ name: String, embedder: any TextEmbedder, metric: Metric = .cosine, elementType: ElementType = .float32
    ) throws(VecDBError) -> Collection {
        try createCollection(name, dimension: embedder.dimension, metric: metric, elementType: elementType, embedder: embedder)
    }

    /// The collection named `name`, with `embedder` attached for text insert and search.
    ///
    /// - Throws: `VecDBError.Code.notFound`; `VecDBError.Code.invalidArgument` when the
    ///   collection was created without an embedder or with another model.
    public func collection(_ name: String, embedder: any TextEmbedder) throws(VecDBError) -> Collection {
        let c = try collection(name)
        try c.attach(embedder)
        return c
    }

    func createCollection(
        _ name: String, dimension: Int, metric: Metric, elementType: ElementType, embedder: (any TextEmbedder)?
    ) throws(VecDBError) -> Collection {
        guard Self.isValidName(name) else {
            throw VecDBError(
                .invalidArgument, "invalid collection name '\(name)': use 1 to 128 letters, digits, '_', '.' or '-', not starting with '.'")
        }
        guard dimension > 0 && dimension <= 65_536 else {
            throw VecDBError(.invalidArgument, "collection '\(name)': dimension must be between 1 and 65536, got \(dimension)")
        }
        if options.readOnly { throw VecDBError(.readOnly, "database at '\(path)' was opened read-only", path: path) }
        return try state.withLock { (s: inout State) throws(VecDBError) -> Collection in
            try checkOpen(s)
            if s.collections[name] != nil { throw VecDBError(.alreadyExists, "collection '\(name)' already exists") }
            if s.damaged[name] != nil {
                throw VecDBError(.alreadyExists, "collection '\(name)' exists but is damaged; drop it first")
            }
            let tmp = path + "/" + Self.creatingPrefix + name
            let final = path + "/" + name
            try fs.removeTree(tmp)
            do throws(VecDBError) {
                try fs.makeDirectory(tmp)
                try CollectionStore.create(fs: fs, directory: tmp, dimension: dimension, metric: metric, elementType: elementType)
                if let embedder {
                    try fs.replaceAtomically(tmp + "/" + EmbedderFile.name, with: EmbedderFile.encode(EmbedderIdentity(embedder)))
                }
                try fs.rename(tmp, to: final)
                try fs.syncDirectory(path)
            } catch {
                try? fs.removeTree(tmp)
                throw error
            }
            let c = try Collection(name: name, store: try CollectionStore(directory: final, options: options.storeOptions))
            if let embedder { try c.attach(embedder) }
            s.collections[name] = c
            return c
        }
    }

    /// The collection named `name`.
    ///
    /// - Throws: `VecDBError.Code.notFound`.
    public func collection(_ name: String) throws(VecDBError) -> Collection {
        try state.withLock { (s: inout State) throws(VecDBError) -> Collection in
            try checkOpen(s)
            if let e = s.damaged[name] {
                throw VecDBError(e.code, "collection '\(name)' could not be opened: \(e.message)", path: e.path)
            }
            guard let c = s.collections[name] else {
                throw VecDBError(.notFound, "collection '\(name)' does not exist in database '\(path)'")
            }
            return c
        }
    }

    /// The names of the collections, sorted (damaged ones left out: see ``damagedCollections``).
    public func collectionNames() -> [String] {
        state.withLock { $0.collections.keys.sorted() }
    }

    /// The collection directories that could not be opened, by name, with the error each met
    /// (a damaged file, a directory that is not a collection). ``collection(_:)`` throws that
    /// error for them; ``dropCollection(_:)`` removes them.
    public var damagedCollections: [String: VecDBError] {
        state.withLock { $0.damaged }
    }

    /// Removes a collection and its files. Handles to it throw `VecDBError.Code.closed` afterwards.
    public func dropCollection(_ name: String) throws(VecDBError) {
        if options.readOnly { throw VecDBError(.readOnly, "database at '\(path)' was opened read-only", path: path) }
        try state.withLock { (s: inout State) throws(VecDBError) in
            try checkOpen(s)
            let c = s.collections[name]
            guard c != nil || s.damaged[name] != nil else {
                throw VecDBError(.notFound, "collection '\(name)' does not exist in database '\(path)'")
            }
            let doomed = path + "/" + Self.droppingPrefix + name
            try fs.removeTree(doomed)
            try fs.rename(path + "/" + name, to: doomed)
            try fs.syncDirectory(path)
            c?.store.close()
            c?.indexes.stopBackgroundBuilds()
            s.collections[name] = nil
            s.damaged[name] = nil
            try? fs.removeTree(doomed)
        }
    }

    enum Opening {
        case opened(Collection)
        case damaged(VecDBError)
        /// Dropped by the writer while a reader was opening it.
        case gone
    }

    /// Opens one collection directory.
    ///
    /// A reader (read-only, holding no lock) may race the writer: a seal or compaction can
    /// switch the manifest and delete the files the old one named while the reader opens them.
    /// Every file is replaced by rename and only ever deleted after the manifest stops naming it,
    /// so the reader retries: an open that failed while the manifest changed under it, or on a
    /// file that vanished, is tried again from the new manifest. The state it ends with is the
    /// manifest it read plus a prefix of that manifest's write-ahead log, a state the writer
    /// committed.
    func openCollection(_ name: String) -> Opening {
        let dir = path + "/" + name
        let manifestPath = dir + "/" + Manifest.fileName
        var attempt = 0
        while true {
            attempt += 1
            guard fs.isDirectory(dir) else { return .gone }
            guard fs.exists(manifestPath) else {
                return .damaged(VecDBError(.corruptFile, "'\(dir)' is not a collection: it has no \(Manifest.fileName)", path: dir))
            }
            let before = options.readOnly ? try? fs.readAll(manifestPath) : nil
            do throws(VecDBError) {
                let store = try CollectionStore(directory: dir, options: options.storeOptions)
                return .opened(try Collection(name: name, store: store))
            } catch {
                guard options.readOnly, attempt < 100 else { return .damaged(error) }
                guard fs.isDirectory(dir) else { return .gone }
                let vanished = error.errno == ENOENT
                if !vanished && (try? fs.readAll(manifestPath)) == before { return .damaged(error) }
                usleep(UInt32(min(attempt, 20)) * 1_000)
            }
        }
    }

    /// Flushes every write-ahead log, closes the collections and releases the lock file.
    /// Further calls throw `VecDBError.Code.closed`. Calling it twice is harmless.
    public func close() {
        let cs = state.withLock { s -> [Collection] in
            if s.closed { return [] }
            s.closed = true
            let all = Array(s.collections.values)
            s.collections = [:]
            return all
        }
        for c in cs {
            c.store.close()
            c.indexes.stopBackgroundBuilds()
        }
        lock.close()
    }

    // MARK: Scoped access (GRDB style)

    /// Runs `body` with a consistent snapshot of every collection: writers may go on, but
    /// `body` sees none of their changes.
    public func read<T>(_ body: (DatabaseSnapshot) throws -> T) throws -> T {
        try body(try snapshot())
    }

    /// Runs `body` with exclusive write access: other `write` blocks wait. (Writes made outside
    /// `write` blocks are not held back. Do not nest `write` calls.)
    public func write<T>(_ body: (Database) throws -> T) throws -> T {
        try writeGate.withLock { _ in try body(self) }
    }

    /// The asynchronous form of ``read(_:)-((DatabaseSnapshot)->T)``: `body` runs off the caller's
    /// executor, on the global concurrent executor, and is not escaping.
    ///
    /// A closure that throws selects this form when it says so,
    /// `try await db.read { (s) throws(VecDBError) in try s.collection("items").count }`: Swift
    /// does not infer a closure's thrown type from its body.
    ///
    /// Cancellation is cooperative: a task cancelled before `body` starts throws
    /// `VecDBError.Code.cancelled` without running it; `body` itself may check
    /// `Task.isCancelled` and throw.
    ///
    /// - Throws: `VecDBError.Code.cancelled`, `VecDBError.Code.closed`, or what `body` throws.
    @concurrent
    public func read<T: Sendable>(_ body: (DatabaseSnapshot) throws(VecDBError) -> T) async throws(VecDBError) -> T {
        if Task.isCancelled { throw VecDBError(.cancelled, "read of database '\(path)' was cancelled before it started") }
        return try body(try snapshot())
    }

    /// The asynchronous form of ``write(_:)-((Database)->T)``: `body` runs off the caller's executor with
    /// exclusive write access, and is not escaping.
    ///
    /// Cancellation is cooperative: a task cancelled before `body` starts (checked again once
    /// the write gate is held) throws `VecDBError.Code.cancelled` without running it. Each
    /// write `body` makes is atomic and durable on its own; a cancellation never undoes one.
    ///
    /// - Throws: `VecDBError.Code.cancelled`, or what `body` throws.
    @concurrent
    public func write<T: Sendable>(_ body: (Database) throws(VecDBError) -> T) async throws(VecDBError) -> T {
        if Task.isCancelled { throw VecDBError(.cancelled, "write to database '\(path)' was cancelled before it started") }
        return try writeGate.withLock { (_: inout ()) throws(VecDBError) -> T in
            if Task.isCancelled { throw VecDBError(.cancelled, "write to database '\(path)' was cancelled before it started") }
            return try body(self)
        }
    }

    /// Snapshots of every collection, taken now.
    public func snapshot() throws(VecDBError) -> DatabaseSnapshot {
        try state.withLock { (s: inout State) throws(VecDBError) -> DatabaseSnapshot in
            try checkOpen(s)
            return DatabaseSnapshot(collections: s.collections.mapValues { $0.snapshot() })
        }
    }
}

/// Every collection of a database frozen at one moment.
public struct DatabaseSnapshot: Sendable {
    let collections: [String: CollectionSnapshot]

    /// The names of the collections in the snapshot, sorted.
    public var collectionNames: [String] { collections.keys.sorted() }

    /// The snapshot of collection `name`.
    ///
    /// - Throws: `VecDBError.Code.notFound` when the database held no such collection.
    public func collection(_ name: String) throws(VecDBError) -> CollectionSnapshot {
        guard let c = collections[name] else { throw VecDBError(.notFound, "collection '\(name)' does not exist") }
        return c
    }
}
