import VecDBEngine
import VecDBKernels
import VecDBStorage

/// A collection's payload indexes: their definitions (`PAYLOAD_INDEXES`), one immutable file
/// per field per segment (`pidx-<segment>.<number>.pix`, built when first needed and kept by
/// the writer), and for the memtable an index kept in memory and extended as rows arrive.
///
/// Index files are derived data: a missing or damaged one is rebuilt from the segment's
/// payloads (a read-only handle builds it in memory and writes nothing), and a file whose
/// segment or definition is gone is removed by the writer. Thread-safe.
final class PayloadIndexes: Sendable {
    static let fileName = "PAYLOAD_INDEXES"
    static let magic = Array("VECDBPXD".utf8)
    static let version: UInt32 = 1

    let fs: FileSystem
    let directory: String
    let readOnly: Bool
    struct State {
        var definitions: [PayloadIndexDefinition] = []
        var nextNumber: UInt32 = 1
        /// By segment id, then definition number.
        var segments: [UInt64: [UInt32: SegmentPayloadIndex]] = [:]
        var memtable: MemtablePayloadIndex?
        /// The last filters resolved, newest last, each with the snapshot it was resolved on.
        var resolved: [(filter: Filter, snapshot: Snapshot, rows: FilterRows)] = []
    }
    /// How many resolved filters are kept.
    static let resolvedCapacity = 8
    let state = Lock(State())
    /// Serialises builds, so two threads never write the same file.
    let building = Lock<Void>(())

    init(fs: FileSystem, directory: String, readOnly: Bool) throws(VecDBError) {
        self.fs = fs
        self.directory = directory
        self.readOnly = readOnly
        let (defs, next) = try Self.readDefinitions(fs: fs, directory: directory)
        state.withLock {
            $0.definitions = defs
            $0.nextNumber = next
        }
    }

    var definitions: [PayloadIndexDefinition] { state.withLock { $0.definitions } }

    func definition(for path: [String]) -> PayloadIndexDefinition? { definitions.first { $0.path == path } }

    static func fileName(segment id: UInt64, number: UInt32) -> String {
        "pidx-" + String(Segment.fileName(id: id).dropFirst(4).dropLast(4)) + ".\(number).pix"
    }

    // MARK: Definitions

    static func readDefinitions(fs: FileSystem, directory: String) throws(VecDBError) -> ([PayloadIndexDefinition], UInt32) {
        let path = directory + "/" + fileName
        guard fs.exists(path) else { return ([], 1) }
        let bytes = try fs.readAll(path)
        func damaged(_ why: String) -> VecDBError { VecDBError(.corruptFile, "\(path) is damaged: \(why)", path: path) }
        guard bytes.count >= 24, Array(bytes[0..<8]) == magic else { throw damaged("wrong magic number or too short") }
        let stored = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: bytes.count - 4, as: UInt32.self).littleEndian }
        guard CRC32C.checksum(bytes[0..<(bytes.count - 4)]) == stored else { throw damaged("checksum mismatch") }
        var at = 8
        func take(_ n: Int) throws(VecDBError) -> ArraySlice<UInt8> {
            guard n <= bytes.count - 4 - at else { throw damaged("truncated at byte \(at)") }
            defer { at += n }
            return bytes[at..<(at + n)]
        }
        func u32() throws(VecDBError) -> UInt32 { try take(4).reversed().reduce(0) { $0 << 8 | UInt32($1) } }
        let v = try u32()
        guard v == version else { throw damaged("format version \(v), this build reads \(version)") }
        let count = Int(try u32())
        let next = try u32()
        guard count <= 4096 else { throw damaged("\(count) indexes") }
        var defs: [PayloadIndexDefinition] = []
        for _ in 0..<count {
            let number = try u32()
            guard let kind = PayloadIndexKind(code: try take(1).first ?? 0) else { throw damaged("unknown index kind") }
            let length = Int(try take(2).reversed().reduce(0) { $0 << 8 | UInt16($1) })
            let field = String(decoding: try take(length), as: UTF8.self)
            defs.append(PayloadIndexDefinition(path: field.split(separator: ".").map(String.init), kind: kind, number: number))
        }
        guard at == bytes.count - 4 else { throw damaged("\(bytes.count - 4 - at) bytes after the last index") }
        return (defs, next)
    }

    func writeDefinitions(_ defs: [PayloadIndexDefinition], next: UInt32) throws(VecDBError) {
        var w = ByteWriter()
        w.append(Self.magic)
        w.u32(Self.version)
        w.u32(UInt32(defs.count))
        w.u32(next)
        for d in defs {
            let field = Array(d.field.utf8)
            w.u32(d.number)
            w.u8(d.kind.code)
            w.u16(UInt16(field.count))
            w.append(field)
        }
        w.u32(CRC32C.checksum(w.bytes))
        try fs.replaceAtomically(directory + "/" + Self.fileName, with: w.bytes)
    }

    /// Adds an index definition (replacing one of another kind on the same field) and returns
    /// it; the files are built by ``prepare(_:)``.
    func add(path: [String], kind: PayloadIndexKind) throws(VecDBError) -> (PayloadIndexDefinition, replaced: PayloadIndexDefinition?) {
        try building.withLock { (_: inout Void) throws(VecDBError) -> (PayloadIndexDefinition, replaced: PayloadIndexDefinition?) in
            var (defs, next) = state.withLock { ($0.definitions, $0.nextNumber) }
            if let same = defs.first(where: { $0.path == path && $0.kind == kind }) { return (same, nil) }
            let replaced = defs.first { $0.path == path }
            defs.removeAll { $0.path == path }
            let d = PayloadIndexDefinition(path: path, kind: kind, number: next)
            defs.append(d)
            try writeDefinitions(defs, next: next + 1)
            state.withLock { s in
                s.definitions = defs
                s.nextNumber = next + 1
                s.memtable = nil
                if let replaced { for id in s.segments.keys { s.segments[id]?[replaced.number] = nil } }
            }
            return (d, replaced)
        }
    }

    /// Removes the index on `path`; returns whether there was one.
    func remove(path: [String]) throws(VecDBError) -> Bool {
        try building.withLock { (_: inout Void) throws(VecDBError) -> Bool in
            var (defs, next) = state.withLock { ($0.definitions, $0.nextNumber) }
            guard let gone = defs.first(where: { $0.path == path }) else { return false }
            defs.removeAll { $0.path == path }
            try writeDefinitions(defs, next: next)
            state.withLock { s in
                s.definitions = defs
                s.memtable = nil
                for id in s.segments.keys { s.segments[id]?[gone.number] = nil }
            }
            return true
        }
    }

    // MARK: Segment indexes

    /// The index of `definition` over `segment`: from the cache, its file, or built now (and
    /// written, unless read-only). A damaged file is rebuilt.
    func index(_ definition: PayloadIndexDefinition, segment: Segment) throws(VecDBError) -> SegmentPayloadIndex {
        if let hit = state.withLock({ $0.segments[segment.id]?[definition.number] }) { return hit }
        return try building.withLock { (_: inout Void) throws(VecDBError) -> SegmentPayloadIndex in
            if let hit = state.withLock({ $0.segments[segment.id]?[definition.number] }) { return hit }
            let index = try loadOrBuild(definition, segment: segment)
            state.withLock { $0.segments[segment.id, default: [:]][definition.number] = index }
            return index
        }
    }

    func loadOrBuild(_ definition: PayloadIndexDefinition, segment: Segment) throws(VecDBError) -> SegmentPayloadIndex {
        let path = directory + "/" + Self.fileName(segment: segment.id, number: definition.number)
        if fs.exists(path), let loaded = try? load(path, definition: definition, segment: segment) { return loaded }
        let bytes = try Self.buildBytes(definition, segment: segment)
        if !readOnly {
            try fs.replaceAtomically(path, with: bytes)
            return try load(path, definition: definition, segment: segment)
        }
        return try SegmentPayloadIndex.inMemory(bytes, segmentID: segment.id, rowCount: segment.count, definition: definition)
    }

    func load(_ path: String, definition: PayloadIndexDefinition, segment: Segment) throws(VecDBError) -> SegmentPayloadIndex {
        let h = try fs.open(path, writable: false)
        defer { h.close() }
        let region = try h.mapReadOnly(count: try h.size())
        return try SegmentPayloadIndex.open(
            region.bytes, owner: region, path: path, expectSegment: segment.id, rowCount: segment.count, definition: definition)
    }

    static func buildBytes(_ definition: PayloadIndexDefinition, segment: Segment) throws(VecDBError) -> [UInt8] {
        var values: [Payload?] = []
        values.reserveCapacity(segment.count)
        for r in 0..<segment.count {
            guard segment.hasPayload(r) else {
                values.append(nil)
                continue
            }
            let bytes = try segment.payloads.payload(row: r)
            values.append(try bytes.map { (b: [UInt8]) throws(VecDBError) in try Payload(encoded: b) }?[path: definition.path])
        }
        return SegmentPayloadIndex.build(kind: definition.kind, path: definition.path, segmentID: segment.id, values: values)
    }

    /// Builds (or loads) every index of every segment of `snapshot` now.
    func prepare(_ snapshot: Snapshot) throws(VecDBError) {
        for d in definitions {
            for v in snapshot.segments { _ = try index(d, segment: v.segment) }
        }
    }

    /// Loads every index file of `snapshot`'s segments and rebuilds (written by a writer, kept
    /// in memory by a reader) those damaged or missing. Returns the damage found: one error per
    /// damaged file, naming it (a missing file is not damage: it is built when first needed).
    func checkAll(_ snapshot: Snapshot) throws(VecDBError) -> [VecDBError] {
        var damaged: [VecDBError] = []
        for d in definitions {
            for v in snapshot.segments {
                let path = directory + "/" + Self.fileName(segment: v.segment.id, number: d.number)
                do throws(VecDBError) {
                    guard fs.exists(path) else { throw VecDBError(.notFound, "missing") }
                    let index = try load(path, definition: d, segment: v.segment)
                    state.withLock { $0.segments[v.segment.id, default: [:]][d.number] = index }
                    continue
                } catch {
                    if error.code != .notFound { damaged.append(error) }
                }
                try building.withLock { (_: inout Void) throws(VecDBError) in
                    let index = try loadOrBuild(d, segment: v.segment)
                    state.withLock { $0.segments[v.segment.id, default: [:]][d.number] = index }
                }
            }
        }
        return damaged
    }

    /// Forgets indexes of segments not in `live`, and (writer only) removes their files, files of
    /// indexes no longer defined, and leftovers of interrupted writes.
    func removeOrphans(live: Set<UInt64>) {
        state.withLock { s in s.segments = s.segments.filter { live.contains($0.key) } }
        guard !readOnly else { return }
        // Under the build lock: a build in flight has a temporary file this must not remove.
        building.withLock { _ in
            let numbers = Set(definitions.map(\.number))
            guard let names = try? fs.list(directory) else { return }
            var keep: Set<String> = []
            for id in live { for n in numbers { keep.insert(Self.fileName(segment: id, number: n)) } }
            for name in names where name.hasPrefix("pidx-") && !keep.contains(name) {
                try? fs.unlink(directory + "/" + name)
            }
        }
    }

    /// Bytes of the index files of `live` segments.
    func diskBytes(_ snapshot: Snapshot) -> Int {
        var total = 0
        for d in definitions {
            for v in snapshot.segments {
                total += fs.fileSize(directory + "/" + Self.fileName(segment: v.segment.id, number: d.number)) ?? 0
            }
        }
        return total
    }

    // MARK: Resolved filters

    /// The rows `filter` was resolved to on this very snapshot, if it is among the last kept.
    func resolved(_ filter: Filter, snapshot: Snapshot) -> FilterRows? {
        state.withLock { s in s.resolved.last { $0.snapshot === snapshot && $0.filter == filter }?.rows }
    }

    /// Keeps a resolution; entries of older snapshots are dropped first.
    func remember(_ filter: Filter, snapshot: Snapshot, rows: FilterRows) {
        state.withLock { s in
            s.resolved.removeAll { $0.snapshot !== snapshot || $0.filter == filter }
            s.resolved.append((filter, snapshot, rows))
            if s.resolved.count > Self.resolvedCapacity { s.resolved.removeFirst(s.resolved.count - Self.resolvedCapacity) }
        }
    }

    // MARK: Memtable

    /// The memtable's index over the snapshot's rows (extended first when rows were added).
    func memtable(_ snapshot: Snapshot) -> MemtablePayloadIndex.View {
        let defs = definitions
        return state.withLock { s in
            let m: MemtablePayloadIndex
            if let cached = s.memtable, cached.buffer === snapshot.memtable {
                m = cached
            } else {
                m = MemtablePayloadIndex(buffer: snapshot.memtable)
                s.memtable = m
            }
            m.extend(to: snapshot.memCount, definitions: defs)
            return m.view(rows: snapshot.memCount)
        }
    }
}

/// The memtable's payload index: each row's payload decoded once, and for each indexed field
/// the rows by value (equality and `in` in O(1)) and its values by row (ranges by a scan that
/// reads no payload). Rows are only ever appended to a memtable buffer, so it grows with it.
final class MemtablePayloadIndex: @unchecked Sendable {
    // Sendable: mutated only under PayloadIndexes.state's lock; queries read a copy of its
    // arrays taken under the same lock (``view(rows:)``; copy-on-write makes it cheap).
    let buffer: MemtableBuffer
    private(set) var rowCount = 0
    private(set) var payloads: [Payload?] = []
    private(set) var columns: [[String]: [Payload?]] = [:]
    private(set) var byValue: [[String]: [Payload: [UInt32]]] = [:]

    init(buffer: MemtableBuffer) { self.buffer = buffer }

    /// What a query reads: rows `0 ..< rows`; the arrays may hold rows added after the
    /// query's snapshot, which it ignores.
    struct View {
        var rows: Int
        var payloads: [Payload?]
        var columns: [[String]: [Payload?]]
        var byValue: [[String]: [Payload: [UInt32]]]
    }

    func view(rows: Int) -> View { View(rows: rows, payloads: payloads, columns: columns, byValue: byValue) }

    func extend(to rows: Int, definitions: [PayloadIndexDefinition]) {
        guard rows > rowCount else { return }
        for r in rowCount..<rows {
            let p = buffer.payload(at: r).flatMap { try? Payload(encoded: $0) }
            payloads.append(p)
            for d in definitions {
                let v = p?[path: d.path]
                columns[d.path, default: []].append(v)
                if let v { byValue[d.path, default: [:]][v, default: []].append(UInt32(r)) }
            }
        }
        for d in definitions where columns[d.path] == nil {
            columns[d.path] = payloads.map { $0?[path: d.path] }
            var map: [Payload: [UInt32]] = [:]
            for (r, v) in (columns[d.path] ?? []).enumerated() { if let v { map[v, default: []].append(UInt32(r)) } }
            byValue[d.path] = map
        }
        rowCount = rows
    }
}
