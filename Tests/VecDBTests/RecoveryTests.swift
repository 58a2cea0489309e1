import Testing
import VecDBKernels
import VecDBTestSupport

@testable import VecDB
@testable import VecDBStorage

/// Issue 14, classes 4 and 7: a damaged write-ahead log frame is told apart from a torn tail,
/// refused with its offset, and repaired; damaged vectors are found on first use; damaged index
/// files are found by `checkIndex` and rebuilt by `repair`.
@Suite struct RecoveryTests {
    /// The WAL fixture: frames of 10 rows each (keys 100..<110, then 110..<120).
    func walFrames(_ dir: TemporaryDirectory) throws -> (path: String, size: Int, secondFrame: Int) {
        let wal = try #require(try files(dir, ".log").first)
        let bytes = try FileSystem.system.readAll(wal)
        let firstLength = Int(UInt32(bytes[32]) | UInt32(bytes[33]) << 8 | UInt32(bytes[34]) << 16 | UInt32(bytes[35]) << 24)
        return (wal, bytes.count, 32 + 20 + firstLength)
    }

    @Test func aDamagedCompleteLastFrameIsRefusedNotDropped() throws {
        let dir = TemporaryDirectory()
        let rs = try buildDamageFixture(dir)
        let (wal, size, second) = try walFrames(dir)
        // One flipped byte in the body of the last, complete frame: an acknowledged batch.
        try flip(wal, at: size - 5)
        let before = try FileSystem.system.readAll(wal)
        let db = try Database.open(at: dir.path)
        let e = try #require(db.damagedCollections["c"])
        #expect(e.code == .corruptFile && e.path == wal)
        #expect(e.message.contains("is damaged at offset \(second): frame 2 is complete but its body fails its checksum"), "\(e.message)")
        // The bytes are kept as they were: nothing cut the frame.
        #expect(try FileSystem.system.readAll(wal) == before)

        // Repair keeps a copy of the whole log, cuts it before frame 2, and the collection opens
        // with every row of frame 1.
        let report = try db.repair("c")
        #expect(report.repaired)
        #expect(report.droppedLogBytes == size - second)
        let copy = try #require(report.keptCopy)
        #expect(try FileSystem.system.readAll(copy) == before)
        #expect(try FileSystem.system.fileSize(wal) == second)
        let c = try db.collection("c")
        #expect(c.count == 110)
        for r in rs.prefix(110) { #expect(try c.get(r.key) == r) }
        try c.upsert([rs[115]])
        db.close()
        let again = try Database.open(at: dir.path)
        #expect(try again.collection("c").count == 111)
        // The kept copy is not taken for a leftover and removed.
        #expect(FileSystem.system.exists(copy))
        again.close()
    }

    @Test func tornTailsAreDroppedAndDamagedHeadersOfCompleteFramesAreNot() throws {
        // Cut inside the last frame's body, or inside its header: torn, dropped.
        for cut in [7, 30] {
            let dir = TemporaryDirectory()
            _ = try buildDamageFixture(dir)
            let (wal, size, second) = try walFrames(dir)
            try truncate(wal, to: cut == 7 ? size - cut : second + 10)
            let db = try Database.open(at: dir.path)
            #expect(db.damagedCollections.isEmpty)
            #expect(try db.collection("c").count == 110)
            db.close()
        }
        // A zero-filled last frame (a size grown before its data reached the disk): torn.
        do {
            let dir = TemporaryDirectory()
            _ = try buildDamageFixture(dir)
            let (wal, size, second) = try walFrames(dir)
            try FileSystem.system.open(wal, writable: true).write([UInt8](repeating: 0, count: size - second), at: second)
            let db = try Database.open(at: dir.path)
            #expect(try db.collection("c").count == 110)
            db.close()
        }
        // The last frame's header damaged (its sequence number), its length still reaching the
        // end of the file: a complete frame, so corruption.
        let dir = TemporaryDirectory()
        _ = try buildDamageFixture(dir)
        let (wal, _, second) = try walFrames(dir)
        try flip(wal, at: second + 9)
        let db = try Database.open(at: dir.path)
        let e = try #require(db.damagedCollections["c"])
        #expect(e.message.contains("damaged at offset \(second): frame 2 has a damaged header"), "\(e.message)")
        db.close()
    }

    @Test func aDamagedLogHeaderIsReplacedAfterACopy() throws {
        let dir = TemporaryDirectory()
        _ = try buildDamageFixture(dir)
        let (wal, size, _) = try walFrames(dir)
        try flip(wal, at: 3)
        let db = try Database.open(at: dir.path)
        #expect(db.damagedCollections["c"]?.message.contains("bad magic number") == true)
        let report = try db.repair("c")
        #expect(report.repaired && report.droppedLogBytes == size)
        #expect(try db.collection("c").count == 100)
        db.close()
    }

    @Test func damagedVectorsAreFoundOnFirstUse() throws {
        let dir = TemporaryDirectory()
        let rs = try buildDamageFixture(dir)
        let seg = try #require(try files(dir, ".vec").first)
        try flip(seg, at: 128 + 4)
        // Opening does not read the vectors, so it succeeds.
        let db = try Database.open(at: dir.path)
        let c = try db.collection("c")
        // The first search reads them and refuses, naming the file; so does every later one.
        for _ in 0..<2 {
            let e = #expect(throws: VecDBError.self) { try c.search(rs[0].vector, k: 3) }
            #expect(e?.code == .corruptFile && e?.path == seg)
            #expect(e?.message == "segment file '\(seg)' has damaged vectors (checksum mismatch)")
        }
        // A read of a row in that segment too; rows elsewhere are still readable.
        let e = #expect(throws: VecDBError.self) { try c.get(rs[0].key) }
        #expect(e?.path == seg)
        #expect(try c.get(rs[105].key) == rs[105])
        db.close()
        // With the check off, only `verify` finds it.
        var options = DatabaseOptions()
        options.verifyChecksumsOnFirstUse = false
        let unchecked = try Database.open(at: dir.path, options: options)
        #expect(try unchecked.collection("c").search(rs[0].vector, k: 3).count == 3)
        #expect(throws: VecDBError.self) { try unchecked.collection("c").verify() }
        unchecked.close()
    }

    @Test func damagedIndexFilesAreReportedSearchedAroundAndRebuilt() throws {
        let dir = TemporaryDirectory()
        let rs = try buildDamageFixture(dir)
        var db = try Database.open(at: dir.path)
        try db.collection("c").createIndex(.hnsw(HNSWIndexOptions()))
        // Creating the index seals the memtable: three segments, three graphs.
        let first = try db.collection("c").checkIndex()
        #expect(first.soundSegments == 3 && first.problems.isEmpty, "\(first)")
        db.close()
        let graph = try #require(try files(dir, ".idx").first { $0.contains("/hnsw-") })
        let size = try #require(FileSystem.system.fileSize(graph))
        try flip(graph, at: size - 9)
        db = try Database.open(at: dir.path, options: DatabaseOptions(readOnly: true))
        let c = try db.collection("c")
        let check = c.checkIndex()
        #expect(check.soundSegments == 2 && check.problems.count == 1)
        #expect(check.problems.first?.path == graph)
        #expect(check.problems.first?.message.contains("body checksum mismatch") == true, "\(check.problems)")
        // The damaged graph is not followed: its segment is searched exactly.
        let exact = try c.search(rs[3].vector, k: 5, options: SearchOptions(exact: true))
        #expect(try c.search(rs[3].vector, k: 5, options: SearchOptions(width: 200)).map(\.key) == exact.map(\.key))
        db.close()
        db = try Database.open(at: dir.path)
        let report = try db.repair("c")
        #expect(report.repaired, "\(report)")
        #expect(try db.collection("c").checkIndex().soundSegments == 3)
        #expect(try db.collection("c").checkIndex().problems.isEmpty)
        db.close()
    }
}
