import Testing
import VecDBKernels
import VecDBTestSupport

@testable import VecDB
@testable import VecDBStorage

#if canImport(Glibc)
    import Glibc
#endif

/// A database with two sealed segments and a WAL of two frames:
/// keys 0..<100 in segments (50 each), 100..<110 and 110..<120 in the WAL.
func buildDamageFixture(_ dir: TemporaryDirectory) throws -> [Record] {
    let db = try Database.open(at: dir.path, options: DatabaseOptions(memtableRows: 50))
    let c = try db.createCollection("c", dimension: 8, metric: .l2)
    var g = SeededGenerator(seed: 77)
    let rs = (0..<120).map { i in
        Record(
            key: .int(UInt64(i)), vector: g.vector(8),
            payload: ["i": .number(Double(i)), "text": .string(String(repeating: "lorem ipsum ", count: 1 + i % 7))])
    }
    for start in stride(from: 0, to: 100, by: 25) { try c.upsert(Array(rs[start..<(start + 25)])) }
    try c.upsert(Array(rs[100..<110]))
    try c.upsert(Array(rs[110..<120]))
    #expect(c.stats().segmentCount == 2)
    db.close()
    return rs
}

func files(_ dir: TemporaryDirectory, _ suffix: String) throws -> [String] {
    try FileSystem.system.list(dir.path + "/c").filter { $0.hasSuffix(suffix) }.map { dir.path + "/c/" + $0 }
}

func flip(_ path: String, at offset: Int) throws {
    var bytes = try FileSystem.system.readAll(path)
    bytes[offset] ^= 0x5A
    try FileSystem.system.open(path, writable: true, truncate: true).write(bytes, at: 0)
}

func truncate(_ path: String, to n: Int) throws {
    try FileSystem.system.open(path, writable: true).truncate(to: n)
}

func expectOpenFails(
    _ dir: TemporaryDirectory, naming path: String, verify: Bool = false, sourceLocation: SourceLocation = #_sourceLocation
) {
    // The database opens; the damaged collection is reported by name and refuses use.
    let name = String(path.dropFirst(dir.path.count + 1).split(separator: "/")[0])
    let e = #expect(throws: VecDBError.self, sourceLocation: sourceLocation) {
        let db = try Database.open(at: dir.path, options: DatabaseOptions(verifyChecksumsOnOpen: verify))
        defer { db.close() }
        #expect(db.damagedCollections[name]?.path == path, sourceLocation: sourceLocation)
        _ = try db.collection(name)
    }
    #expect(e?.code == .corruptFile, sourceLocation: sourceLocation)
    #expect(e?.path == path, sourceLocation: sourceLocation)
    #expect(e?.message.contains(path) == true, sourceLocation: sourceLocation)
}

@Suite struct CorruptionTests {
    @Test func damagedManifestIsNamed() throws {
        for (i, offset) in [0, 9, 14, 20, 30, 45].enumerated() {
            let dir = TemporaryDirectory()
            _ = try buildDamageFixture(dir)
            let m = dir.path + "/c/MANIFEST"
            if i == 5 { try truncate(m, to: 30) } else { try flip(m, at: offset) }
            expectOpenFails(dir, naming: m)
        }
    }

    @Test func damagedWALIsNamedOrItsTornTailDropped() throws {
        // A damaged first frame, followed by a valid one: refused.
        var dir = TemporaryDirectory()
        _ = try buildDamageFixture(dir)
        var wal = try #require(try files(dir, ".log").first)
        try flip(wal, at: 32 + 40)
        expectOpenFails(dir, naming: wal)
        // A damaged header: refused.
        dir = TemporaryDirectory()
        _ = try buildDamageFixture(dir)
        wal = try #require(try files(dir, ".log").first)
        try truncate(wal, to: 20)
        expectOpenFails(dir, naming: wal)
        // A damaged (torn) last frame: dropped, everything else kept.
        dir = TemporaryDirectory()
        let rs = try buildDamageFixture(dir)
        wal = try #require(try files(dir, ".log").first)
        let size = try #require(FileSystem.system.fileSize(wal))
        try truncate(wal, to: size - 7)
        let db = try Database.open(at: dir.path)
        let c = try db.collection("c")
        #expect(c.count == 110)
        for r in rs.prefix(110) { #expect(try c.get(r.key) == r) }
        #expect(try c.get(115) == nil)
        db.close()
    }

    @Test func damagedSegmentIsNamed() throws {
        // Header, keys, truncation: opening refuses.
        for mode in 0..<3 {
            let dir = TemporaryDirectory()
            _ = try buildDamageFixture(dir)
            let seg = try files(dir, ".vec")[1]
            let size = try #require(FileSystem.system.fileSize(seg))
            switch mode {
            case 0: try flip(seg, at: 17)
            case 1: try flip(seg, at: 128 + 50 * 8 * 4 + 3)  // the key offsets
            default: try truncate(seg, to: size / 2)
            }
            expectOpenFails(dir, naming: seg)
        }
        // Vector bytes: found by verification (opening does not read vectors).
        let dir = TemporaryDirectory()
        _ = try buildDamageFixture(dir)
        let seg = try files(dir, ".vec")[0]
        try flip(seg, at: 128 + 100)
        expectOpenFails(dir, naming: seg, verify: true)
        let db = try Database.open(at: dir.path)
        let e = #expect(throws: VecDBError.self) { try db.collection("c").verify() }
        #expect(e?.path == seg)
        db.close()
    }

    @Test func damagedPayloadBlockIsNamedAndTheRestStaysReadable() throws {
        let dir = TemporaryDirectory()
        let rs = try buildDamageFixture(dir)
        let pay = try files(dir, ".pay")[0]
        try flip(pay, at: 64 + 16 + 40)
        expectOpenFails(dir, naming: pay, verify: true)
        let db = try Database.open(at: dir.path)
        let c = try db.collection("c")
        let e = #expect(throws: VecDBError.self) { try c.get(3) }
        #expect(e?.code == .corruptFile)
        #expect(e?.path == pay)
        for r in rs[50...] { #expect(try c.get(r.key) == r) }
        // A filtered search over the damaged block reports it; an unfiltered one works.
        #expect(throws: VecDBError.self) { try c.search(rs[0].vector, k: 3, options: SearchOptions(filter: Filter(parsing: "i >= 0"))) }
        #expect(try c.search(rs[60].vector, k: 1).first?.key == rs[60].key)
        // Truncated payload file: opening refuses.
        db.close()
        try truncate(pay, to: 100)
        expectOpenFails(dir, naming: pay)
    }
}

@Suite struct FaultInjectionTests {
    func open(_ dir: TemporaryDirectory, _ faults: FaultPlan, memtableRows: Int = 40) throws -> Database {
        var o = DatabaseOptions(memtableRows: memtableRows)
        o.fileSystem = faults.fileSystem
        return try Database.open(at: dir.path, options: o)
    }

    @Test func diskFullDuringAWriteLosesNothingStored() throws {
        let dir = TemporaryDirectory()
        let faults = FaultPlan()
        var db = try open(dir, faults)
        let c = try db.createCollection("f", dimension: 4, metric: .l2)
        var g = SeededGenerator(seed: 12)
        var model = Model(metric: .l2)
        for round in 0..<6 {
            let rs = makeRecords(&g, keys: (round * 15)..<(round * 15 + 15), dimension: 4)
            if round % 2 == 1 {
                faults.failNext(.write, pathContaining: "wal-", with: round == 3 ? .shortWrite(bytes: 30) : .fail(errno: ENOSPC))
                let e = #expect(throws: VecDBError.self) { try c.upsert(rs) }
                #expect(e?.code == .diskFull)
                #expect(e?.errno == ENOSPC)
                #expect(e?.path?.contains("wal-") == true)
            } else {
                try c.upsert(rs)
                model.upsert(rs)
            }
            #expect(c.count == model.records.count)
        }
        // ENOSPC while sealing: the batch is durable in the WAL, the seal is retried later.
        faults.failNext(.write, pathContaining: ".vec", with: .fail(errno: ENOSPC))
        let rs = makeRecords(&g, keys: 500..<540, dimension: 4)
        try c.upsert(rs)
        model.upsert(rs)
        #expect(c.count == model.records.count)
        faults.failNext(.write, pathContaining: ".pay", with: .fail(errno: ENOSPC))
        let e = #expect(throws: VecDBError.self) { try c.flush() }
        #expect(e?.code == .diskFull)
        try c.flush()
        db.close()
        db = try Database.open(at: dir.path)
        let c2 = try db.collection("f")
        #expect(c2.count == model.records.count)
        for (k, r) in model.records { #expect(try c2.get(k) == r) }
        #expect(try FileSystem.system.list(dir.path + "/f").filter { $0.hasSuffix(".tmp") }.isEmpty)
        db.close()
    }

    /// Writes that land while compaction merges (deletes of rows being merged, new rows) are
    /// carried over when it switches the manifest.
    @Test func writesDuringTheMergeAreKept() async throws {
        let dir = TemporaryDirectory()
        let faults = FaultPlan()
        let db = try open(dir, faults, memtableRows: 30)
        let c = try db.createCollection("m", dimension: 4, metric: .l2)
        var g = SeededGenerator(seed: 55)
        var model = Model(metric: .l2)
        for b in 0..<4 {
            let rs = makeRecords(&g, keys: (b * 30)..<(b * 30 + 30), dimension: 4)
            try c.upsert(rs)
            model.upsert(rs)
        }
        _ = try c.delete([.int(5), .int(6)])
        _ = model.delete([.int(5), .int(6)])
        let late = makeRecords(&g, keys: 500..<510, dimension: 4)
        let lateDeletes: [Key] = [.int(1), .int(33), .string("s64"), .int(119)]
        // Just before compaction writes its merged payload file (the merge phase, no lock held),
        // another writer deletes rows that are being merged and adds new ones.
        faults.onNext(.open, pathContaining: ".pay") {
            _ = try? c.delete(lateDeletes)
            try? c.upsert(late)
        }
        try await c.compactInBackground()
        _ = model.delete(lateDeletes)
        model.upsert(late)
        #expect(c.count == model.records.count)
        for (k, r) in model.records { #expect(try c.get(k) == r) }
        for k in lateDeletes { #expect(try c.get(k) == nil) }
        let q = g.vector(4)
        expectAgrees(try c.search(q, k: 8), model.nearest(q, k: 8, filter: nil))
        db.close()
        let re = try Database.open(at: dir.path)
        let c2 = try re.collection("m")
        #expect(c2.count == model.records.count)
        for (k, r) in model.records { #expect(try c2.get(k) == r) }
        re.close()
    }

    /// Every system call of a seal and of a compaction, in turn, is made the point where the
    /// process "dies" (that call and all after it fail); reopening must show the data intact.
    @Test(arguments: ["flush", "compact"])
    func aCrashAtAnyCallLeavesAConsistentDatabase(_ operation: String) throws {
        var g = SeededGenerator(seed: 99)
        let first = makeRecords(&g, keys: 0..<70, dimension: 4)
        let second = makeRecords(&g, keys: 50..<95, dimension: 4)
        var model = Model(metric: .l2)
        model.upsert(first)
        model.upsert(second)
        _ = model.delete([.int(1), .int(2), .string("s60")])
        let queries = (0..<3).map { _ in g.vector(4) }

        func fixture() throws -> (TemporaryDirectory, Database, FaultPlan) {
            let dir = TemporaryDirectory()
            let faults = FaultPlan()
            let db = try open(dir, faults, memtableRows: 60)
            let c = try db.createCollection("x", dimension: 4, metric: .l2)
            try c.upsert(first)
            try c.upsert(second)
            _ = try c.delete([.int(1), .int(2), .string("s60")])
            return (dir, db, faults)
        }
        func run(_ db: Database) throws {
            let c = try db.collection("x")
            if operation == "flush" { try c.flush() } else { try c.compact() }
        }
        // How many calls the operation makes.
        let (dir0, db0, f0) = try fixture()
        let before = f0.calls
        try run(db0)
        let total = f0.calls - before
        db0.close()
        _ = dir0
        #expect(total > 5)
        for k in 0...total {
            let (dir, db, faults) = try fixture()
            faults.failEverything(after: k)
            _ = try? run(db)
            db.close()
            let re = try Database.open(at: dir.path)
            let c = try re.collection("x")
            #expect(c.count == model.records.count, "crash after \(k) of \(total) calls")
            for (key, r) in model.records { #expect(try c.get(key) == r, "crash after \(k)") }
            for q in queries { expectAgrees(try c.search(q, k: 5), model.nearest(q, k: 5, filter: nil)) }
            re.close()
        }
    }
}
