// The storage engine of one collection: a directory holding
//
//   MANIFEST                  the live file set (Manifest.swift), replaced atomically
//   wal-GGGGGGGGGGGGGGGG.log  the write-ahead log of the current generation (WriteAheadLog.swift)
//   seg-IIIIIIIIIIIIIIII.vec  immutable segments: vectors, keys, row flags (Segment.swift)
//   seg-IIIIIIIIIIIIIIII.pay  their LZ4 payload blocks (PayloadFile.swift)
//
// Write path: a batch is encoded as one WAL frame and appended; once the frame is durable (fsync,
// shared between concurrent writers) the batch is applied to the memtable and published as a new
// snapshot. When the memtable holds `memtableRows` rows it is sealed: its live rows are written
// to a new segment, a new WAL generation is started, the manifest switches to both (and records
// the rows deleted from older segments), and the old WAL is removed.
//
// Recovery: read the manifest, map its segments, replay its WAL (cutting a torn tail), and
// remove files that the manifest does not name.
//
// Compaction: merge the segments of a snapshot into one, without the writer lock; then, under
// the lock, carry over the rows deleted meanwhile and switch the manifest. Readers keep their
// snapshots (and mappings); the old files are removed after the switch.
import Dispatch
import Synchronization
import VecDBKernels

/// When a write is durable.
public enum Durability: Sendable, Equatable, Codable {
    /// A write returns after its WAL frame is fsynced (the default). Concurrent writers share fsyncs.
    case fsync
    /// A write returns after its WAL frame is written; the WAL is fsynced every `milliseconds`.
    /// A power loss (not a process crash) loses at most the writes of the last `milliseconds`.
    case periodic(milliseconds: Int)
}

/// Settings of a ``CollectionStore``.
package struct StoreOptions: Sendable {
    package var durability: Durability = .fsync
    /// Rows in the memtable that trigger a seal into a segment.
    package var memtableRows: Int = 65_536
    package var readOnly = false
    package var verifyOnOpen = false
    /// Check a segment's vectors checksum before its first search or read (see
    /// ``Segment/verifyOnFirstUse()``); when false, only `verify()` and `verifyOnOpen` check it.
    package var verifyOnFirstUse = true
    package var fileSystem: FileSystem = .system

    package init() {}
}

/// Counters for `stats()`.
package struct StoreStatistics: Sendable {
    package struct SegmentInfo: Sendable {
        package var id: UInt64
        package var rows: Int
        package var deletedRows: Int
        package var vectorBytes: Int
        package var payloadRawBytes: Int
        package var payloadFileBytes: Int
    }

    package var liveRows: Int
    package var memtableRows: Int
    package var memtableDeletedRows: Int
    package var segments: [SegmentInfo]
    package var walBytes: Int
    package var walGeneration: UInt64
}

package final class CollectionStore: @unchecked Sendable {
    // Sendable: every mutable field is inside `state` (a Mutex). Readers take the current
    // `Snapshot` under the lock and then work without it; compaction holds `compactionGate`
    // while it merges, and takes `state` only to switch the manifest.
    package let directory: String
    package let dimension: Int
    package let metric: Metric
    package let elementType: ElementType
    let options: StoreOptions
    var fs: FileSystem { options.fileSystem }
    package var fileSystem: FileSystem { options.fileSystem }
    package var isReadOnly: Bool { options.readOnly }

    struct State {
        var manifest: Manifest
        var wal: WriteAheadLog?
        var segments: [SegmentView]
        var memtable: MemtableBuffer
        var memDead = Bitset()
        var snapshot: Snapshot
        var keyMap: [Key: RowRef]?
        var pending: [(ticket: UInt64, end: Int, batch: WALBatch)] = []
        var results: [UInt64: Result<Int, VecDBError>] = [:]
        var nextTicket: UInt64 = 1
        var failure: VecDBError?
        var closed = false
        var lastSealError: VecDBError?
    }

    let state: Lock<State>
    let compactionGate = Lock<Void>(())
    let timer: Lock<PeriodicTimer?> = Lock(nil)

    // MARK: Creating and opening

    /// Writes an empty collection (WAL generation 1 and a manifest) into `directory`, which exists.
    package static func create(fs: FileSystem, directory: String, dimension: Int, metric: Metric, elementType: ElementType)
        throws(VecDBError)
    {
        let m = Manifest(dimension: dimension, metric: metric, elementType: elementType)
        let wal = try WriteAheadLog.create(
            fs: fs, path: directory + "/" + WriteAheadLog.fileName(generation: m.walGeneration), dimension: dimension,
            generation: m.walGeneration)
        wal.close()
        try fs.replaceAtomically(directory + "/" + Manifest.fileName, with: m.encode())
    }

    /// Opens the collection in `directory`: reads the manifest, maps the segments, replays the WAL.
    package init(directory: String, options: StoreOptions) throws(VecDBError) {
        self.directory = directory
        self.options = options
        let fs = options.fileSystem
        let manifestPath = directory + "/" + Manifest.fileName
        guard fs.exists(manifestPath) else {
            throw VecDBError(.corruptFile, "collection directory '\(directory)' has no manifest", path: manifestPath)
        }
        let manifest = try Manifest.decode(try fs.readAll(manifestPath), path: manifestPath)
        dimension = manifest.dimension
        metric = manifest.metric
        elementType = manifest.elementType
        guard dimension > 0 else { throw VecDBError(.corruptFile, "manifest '\(manifestPath)' gives dimension 0", path: manifestPath) }

        if !options.readOnly { try Self.removeLeftovers(fs: fs, directory: directory, manifest: manifest) }

        var views: [SegmentView] = []
        for e in manifest.segments {
            let s = try Segment(
                fs: fs, directory: directory, id: e.id, dimension: dimension, elementType: elementType, metric: metric,
                expectedRows: e.rowCount)
            if options.verifyOnOpen { try s.verify() } else if !options.verifyOnFirstUse { s.markChecked() }
            views.append(SegmentView(segment: s, dead: Bitset(rows: e.deletedRows)))
        }

        let walPath = directory + "/" + WriteAheadLog.fileName(generation: manifest.walGeneration)
        guard fs.exists(walPath) else {
            throw VecDBError(.corruptFile, "write-ahead log '\(walPath)' named by the manifest is missing", path: walPath)
        }
        let replay = try WriteAheadLog.replay(fs: fs, path: walPath, dimension: dimension, generation: manifest.walGeneration)
        let replayRows = replay.batches.reduce(0) { $0 + $1.keys.count }
        let mem = MemtableBuffer(dimension: dimension, capacity: max(options.memtableRows, replayRows) + 1)
        let snap = Snapshot(segments: views, memtable: mem, memCount: 0, memDead: Bitset(), metric: metric)
        state = Lock(State(manifest: manifest, wal: nil, segments: views, memtable: mem, snapshot: snap))
        try state.withLock { (s: inout State) throws(VecDBError) in
            for b in replay.batches { _ = try self.apply(b, to: &s) }
            if !options.readOnly {
                s.wal = try WriteAheadLog.openForAppend(
                    fs: fs, path: walPath, dimension: dimension, generation: manifest.walGeneration, replay: replay)
            }
            self.publish(&s)
        }
        if case .periodic(let ms) = options.durability, !options.readOnly { startTimer(milliseconds: ms) }
    }

    /// Removes files of this directory that the manifest does not name (from an interrupted seal,
    /// compaction or WAL switch).
    static func removeLeftovers(fs: FileSystem, directory: String, manifest: Manifest) throws(VecDBError) {
        var keep: Set<String> = [Manifest.fileName, WriteAheadLog.fileName(generation: manifest.walGeneration)]
        for e in manifest.segments {
            keep.insert(Segment.fileName(id: e.id))
            keep.insert(Segment.payloadFileName(id: e.id))
        }
        var removed = false
        for name in try fs.list(directory) where !keep.contains(name) {
            if name.hasPrefix("seg-") || name.hasPrefix("wal-") || name.hasSuffix(".tmp") {
                try fs.unlink(directory + "/" + name)
                removed = true
            }
        }
        if removed { try fs.syncDirectory(directory) }
    }

    func startTimer(milliseconds: Int) {
        let t = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
        let interval = DispatchTimeInterval.milliseconds(max(1, milliseconds))
        t.schedule(deadline: .now() + interval, repeating: interval)
        t.setEventHandler { [weak self] in self?.periodicSync() }
        t.resume()
        let box = PeriodicTimer(source: t)
        timer.withLock { $0 = box }
    }

    func periodicSync() {
        guard let wal = state.withLock({ $0.closed ? nil : $0.wal }) else { return }
        do throws(VecDBError) {
            try wal.syncAll()
        } catch {
            state.withLock { if $0.failure == nil { $0.failure = error } }
        }
    }

    /// Flushes the WAL and stops accepting writes. Readers holding snapshots may go on.
    package func close() {
        timer.withLock { t in
            t?.source.cancel()
            t = nil
        }
        let wal = state.withLock { s -> WriteAheadLog? in
            let w = s.wal
            s.closed = true
            s.wal = nil
            return w
        }
        try? wal?.syncAll()
    }

    // MARK: Reading

    /// The current snapshot.
    package func snapshot() -> Snapshot { state.withLock { $0.snapshot } }

    /// The record stored under `key`, if any.
    package func get(_ key: Key) throws(VecDBError) -> StoredRecord? {
        let (snap, ref) = state.withLock { s -> (Snapshot, RowRef?) in
            Self.ensureKeyMap(&s)
            return (s.snapshot, s.keyMap?[key])
        }
        guard let ref else { return nil }
        return try snap.get(key, hint: ref)
    }

    /// Whether `key` is stored, and where.
    package func location(of key: Key) -> RowRef? {
        state.withLock { s in
            Self.ensureKeyMap(&s)
            return s.keyMap?[key]
        }
    }

    package func statistics() -> StoreStatistics {
        state.withLock { s in
            StoreStatistics(
                liveRows: s.snapshot.liveCount, memtableRows: s.memtable.count, memtableDeletedRows: s.memDead.count,
                segments: s.segments.map {
                    StoreStatistics.SegmentInfo(
                        id: $0.segment.id, rows: $0.segment.count, deletedRows: $0.dead.count,
                        vectorBytes: $0.segment.fileSize, payloadRawBytes: Int($0.segment.payloads.rawBytes),
                        payloadFileBytes: $0.segment.payloads.fileSize)
                },
                // A read-only store has no WAL writer; the file's size is the figure then.
                walBytes: s.wal?.size ?? fs.fileSize(directory + "/" + WriteAheadLog.fileName(generation: s.manifest.walGeneration)) ?? 0,
                walGeneration: s.manifest.walGeneration)
        }
    }

    /// Checks every checksum of every segment, vectors and payload blocks included.
    package func verify() throws(VecDBError) {
        for v in snapshot().segments { try v.segment.verify() }
    }

    // MARK: Writing

    func checkWritable(_ s: State) throws(VecDBError) {
        if s.closed { throw VecDBError(.closed, "collection at '\(directory)' is closed") }
        if options.readOnly { throw VecDBError(.readOnly, "collection at '\(directory)' was opened read-only") }
        if let f = s.failure { throw f }
    }

    /// Commits `batch` atomically: its deletes, then its upserts.
    ///
    /// - Returns: the number of deleted keys that existed, plus the number of upserted records.
    /// - Throws: ``VecDBError/Code/diskFull`` or ``VecDBError/Code/io`` when the WAL cannot be
    ///   written (nothing of the batch is stored, nothing before it is lost).
    package func commit(_ batch: WALBatch) throws(VecDBError) -> Int {
        guard batch.vectors.count == batch.keys.count * dimension, batch.payloads.count == batch.keys.count else {
            throw VecDBError(
                .invalidArgument,
                "batch has \(batch.keys.count) keys, \(batch.payloads.count) payloads and \(batch.vectors.count) floats for dimension \(dimension)"
            )
        }
        if batch.isEmpty { return 0 }
        var frame = batch.encodeFrame(dimension: dimension)
        if case .periodic = options.durability {
            return try state.withLock { (s: inout State) throws(VecDBError) -> Int in
                try checkWritable(s)
                guard let wal = s.wal else { throw VecDBError(.closed, "collection at '\(directory)' is closed") }
                _ = try wal.append(frame: &frame)
                let n = try apply(batch, to: &s)
                publish(&s)
                sealIfFull(&s)
                return n
            }
        }
        let (ticket, end, wal) = try state.withLock { (s: inout State) throws(VecDBError) -> (UInt64, Int, WriteAheadLog) in
            try checkWritable(s)
            guard let wal = s.wal else { throw VecDBError(.closed, "collection at '\(directory)' is closed") }
            let end = try wal.append(frame: &frame)
            let t = s.nextTicket
            s.nextTicket += 1
            s.pending.append((t, end, batch))
            return (t, end, wal)
        }
        var syncError: VecDBError?
        do throws(VecDBError) { try wal.sync(through: end) } catch { syncError = error }
        return try state.withLock { (s: inout State) throws(VecDBError) -> Int in
            if let e = syncError {
                // Whether the pending frames reached the disk is unknown: refuse further writes.
                if s.failure == nil { s.failure = e }
                for p in s.pending { s.results[p.ticket] = .failure(e) }
                s.pending.removeAll()
            }
            applyDurable(&s, syncedEnd: wal === s.wal ? end : Int.max)
            sealIfFull(&s)
            guard let r = s.results.removeValue(forKey: ticket) else {
                throw VecDBError(.io, "internal error: batch \(ticket) of '\(directory)' was neither applied nor failed")
            }
            return try r.get()
        }
    }

    /// Applies, in WAL order, the pending batches whose frames are durable.
    func applyDurable(_ s: inout State, syncedEnd: Int) {
        var changed = false
        while let p = s.pending.first, p.end <= syncedEnd || isDurable(s, p.end) {
            s.pending.removeFirst()
            do throws(VecDBError) {
                s.results[p.ticket] = .success(try apply(p.batch, to: &s))
            } catch {
                s.results[p.ticket] = .failure(error)
            }
            changed = true
        }
        if changed { publish(&s) }
    }

    func isDurable(_ s: State, _ end: Int) -> Bool {
        guard let wal = s.wal else { return false }
        return wal.state.withLock { $0.syncedEnd >= end }
    }

    /// Applies a batch to the memtable, the deleted-row sets and the key map.
    func apply(_ batch: WALBatch, to s: inout State) throws(VecDBError) -> Int {
        Self.ensureKeyMap(&s)
        var keyMap = s.keyMap ?? [:]
        s.keyMap = nil
        defer { s.keyMap = keyMap }
        var n = 0
        for k in batch.deletes {
            if let ref = keyMap.removeValue(forKey: k) {
                markDead(ref, &s)
                n += 1
            }
        }
        let u = batch.keys.count
        if keyMap.capacity < keyMap.count + u {
            keyMap.reserveCapacity(max(keyMap.capacity * 2, keyMap.count + u))
        }
        if u > 0 {
            if s.memtable.count + u > s.memtable.capacity {
                s.memtable = s.memtable.grown(to: max(s.memtable.capacity * 2, s.memtable.count + u))
            }
            let d = dimension
            batch.vectors.withUnsafeBufferPointer { vp in
                guard let base = vp.baseAddress else { return }
                for i in 0..<u {
                    let k = batch.keys[i]
                    if let old = keyMap[k] { markDead(old, &s) }
                    let r = s.memtable.append(key: k, vector: base + i * d, payload: batch.payloads[i])
                    keyMap[k] = RowRef(segment: RowRef.memtable, row: UInt32(r))
                }
            }
            n += u
        }
        return n
    }

    func markDead(_ ref: RowRef, _ s: inout State) {
        if ref.segment == RowRef.memtable {
            s.memDead.insert(Int(ref.row))
        } else if let i = s.segments.firstIndex(where: { $0.segment.id == ref.segment }) {
            s.segments[i].dead.insert(Int(ref.row))
        }
    }

    /// Builds the key → row map on first need: O(rows), so opening does not pay for it.
    static func ensureKeyMap(_ s: inout State) {
        guard s.keyMap == nil else { return }
        var m: [Key: RowRef] = [:]
        m.reserveCapacity(s.segments.reduce(0) { $0 + $1.liveCount } + s.memtable.count)
        for v in s.segments {
            let seg = v.segment
            for r in 0..<seg.count where !v.dead.contains(r) {
                m[seg.key(at: r)] = RowRef(segment: seg.id, row: UInt32(r))
            }
        }
        for r in 0..<s.memtable.count where !s.memDead.contains(r) {
            m[s.memtable.key(at: r)] = RowRef(segment: RowRef.memtable, row: UInt32(r))
        }
        s.keyMap = m
    }

    func publish(_ s: inout State) {
        s.snapshot = Snapshot(segments: s.segments, memtable: s.memtable, memCount: s.memtable.count, memDead: s.memDead, metric: metric)
    }

    func sealIfFull(_ s: inout State) {
        guard s.memtable.count >= options.memtableRows, s.failure == nil, !s.closed else { return }
        do throws(VecDBError) {
            try seal(&s)
            s.lastSealError = nil
        } catch {
            // The batches are durable in the WAL; the seal is retried after the next write.
            s.lastSealError = error
        }
    }

    /// Seals the memtable now (if it holds anything) and starts a new WAL generation.
    package func flush() throws(VecDBError) {
        try state.withLock { (s: inout State) throws(VecDBError) in
            try checkWritable(s)
            try seal(&s)
        }
    }

    /// Writes the memtable's live rows to a new segment and switches the manifest to it and to a
    /// new WAL. On failure before the manifest is renamed, the new files are removed and nothing
    /// changes; after it, the collection refuses writes until it is reopened.
    func seal(_ s: inout State) throws(VecDBError) {
        guard let oldWAL = s.wal else { throw VecDBError(.closed, "collection at '\(directory)' is closed") }
        if !s.pending.isEmpty {
            try oldWAL.syncAll()
            applyDurable(&s, syncedEnd: Int.max)
        }
        let mem = s.memtable
        let memCount = mem.count
        if memCount == 0 && oldWAL.size <= WriteAheadLog.headerSize { return }
        let live = (0..<memCount).filter { !s.memDead.contains($0) }
        var m = s.manifest
        var newFiles: [String] = []
        let segID = m.nextSegmentID
        let gen = m.nextWALGeneration
        let newWAL: WriteAheadLog
        do throws(VecDBError) {
            if !live.isEmpty {
                let vecPath = directory + "/" + Segment.fileName(id: segID)
                let payPath = directory + "/" + Segment.payloadFileName(id: segID)
                newFiles += [vecPath, payPath]
                try SegmentWriter.write(
                    fs: fs, path: vecPath, dimension: dimension, elementType: elementType, metric: metric,
                    count: live.count, vector: { UnsafePointer(mem.vectors + live[$0] * self.dimension) },
                    key: { mem.key(at: live[$0]) }, hasPayload: { mem.payload(at: live[$0]) != nil })
                try Self.writePayloads(fs: fs, path: payPath, count: live.count) { i in mem.payload(at: live[i]) }
                m.nextSegmentID += 1
            }
            let walPath = directory + "/" + WriteAheadLog.fileName(generation: gen)
            newFiles.append(walPath)
            newWAL = try WriteAheadLog.create(fs: fs, path: walPath, dimension: dimension, generation: gen)
            m.walGeneration = gen
            m.nextWALGeneration += 1
            m.segments = s.segments.map {
                Manifest.SegmentEntry(id: $0.segment.id, rowCount: $0.segment.count, deletedRows: $0.dead.members)
            }
            if !live.isEmpty { m.segments.append(Manifest.SegmentEntry(id: segID, rowCount: live.count, deletedRows: [])) }
        } catch {
            for f in newFiles { try? fs.unlink(f) }
            throw error
        }
        try switchManifest(m, &s, newFiles: newFiles)
        do throws(VecDBError) {
            if !live.isEmpty {
                let seg = try Segment(
                    fs: fs, directory: directory, id: segID, dimension: dimension, elementType: elementType, metric: metric,
                    expectedRows: live.count)
                seg.markChecked()
                s.segments.append(SegmentView(segment: seg, dead: Bitset()))
                if var km = s.keyMap {
                    s.keyMap = nil
                    for (newRow, memRow) in live.enumerated() {
                        km[mem.key(at: memRow)] = RowRef(segment: segID, row: UInt32(newRow))
                    }
                    s.keyMap = km
                }
            }
        } catch {
            s.failure = VecDBError(
                error.code, "sealed segment of '\(directory)' cannot be opened (\(error.message)); reopen the database", path: error.path,
                errno: error.errno)
            throw error
        }
        s.memtable = MemtableBuffer(dimension: dimension, capacity: options.memtableRows + 1)
        s.memDead = Bitset()
        s.wal = newWAL
        publish(&s)
        try? fs.unlink(oldWAL.path)
    }

    static func writePayloads(fs: FileSystem, path: String, count: Int, payload: (Int) throws(VecDBError) -> [UInt8]?) throws(VecDBError) {
        let h = try fs.open(path, writable: true, create: true, truncate: true)
        defer { h.close() }
        var w = PayloadFileWriter(handle: h)
        for i in 0..<count {
            if let p = try payload(i) {
                try typed { try p.withUnsafeBytes { raw in try w.append(raw) } }
            } else {
                try w.append(nil)
            }
        }
        try w.finish()
    }

    /// Replaces the manifest: temp file, fsync, rename, directory fsync. A failure before the
    /// rename leaves everything as it was (the new files are removed); a failure after it leaves
    /// the outcome to the next open, so writes are refused until then.
    func switchManifest(_ m: Manifest, _ s: inout State, newFiles: [String]) throws(VecDBError) {
        let path = directory + "/" + Manifest.fileName
        let tmp = path + ".tmp"
        do throws(VecDBError) {
            let h = try fs.open(tmp, writable: true, create: true, truncate: true)
            defer { h.close() }
            try h.write(m.encode(), at: 0)
            try h.sync()
            try fs.rename(tmp, to: path)
        } catch {
            try? fs.unlink(tmp)
            for f in newFiles { try? fs.unlink(f) }
            throw error
        }
        do throws(VecDBError) {
            try fs.syncDirectory(directory)
        } catch {
            s.failure = VecDBError(
                error.code,
                "manifest of '\(directory)' was replaced but its directory could not be synced (\(error.message)); reopen the database",
                path: error.path, errno: error.errno)
            throw error
        }
        s.manifest = m
    }
}

/// Holds the timer of `.periodic` durability.
final class PeriodicTimer: @unchecked Sendable {
    // Sendable: DispatchSource is thread-safe; the reference is only used to cancel it.
    let source: any DispatchSourceTimer
    init(source: any DispatchSourceTimer) { self.source = source }
}
