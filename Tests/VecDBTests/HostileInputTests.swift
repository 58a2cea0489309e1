import Foundation
import Testing
import VecDBKernels
import VecDBTestSupport

@testable import VecDB

/// Inputs that used to crash the process or store values silently changed (issue 14, classes
/// 2 and 3): each now gets a typed error or a bounded, correct answer.
@Suite("Hostile input")
struct HostileInputTests {
    @Test func unboundedKAndWidthAskForEveryRow() throws {
        let dir = TemporaryDirectory()
        let db = try Database.open(at: dir.path)
        defer { db.close() }
        let c = try db.createCollection("v", dimension: 2, metric: .l2)
        try c.upsert((0..<50).map { Record(key: .int(UInt64($0)), vector: [Float($0), 0]) })
        let all = try c.search([0, 0], k: Int.max)
        #expect(all.map(\.key) == (0..<50).map { Key.int(UInt64($0)) })
        try c.createIndex(.hnsw(HNSWIndexOptions()))
        for options in [SearchOptions(width: Int.max), SearchOptions()] {
            let hits = try c.search([0, 0], k: Int.max, options: options)
            #expect(hits.count == 50 && hits.first?.key == .int(0))
        }
        let batch = try c.search(queries: [[0, 0], [49, 0]], k: 1 << 62, threads: 2)
        #expect(batch.map { $0.count } == [50, 50] && batch[1].first?.key == .int(49))
        expectVecDBError(.invalidArgument, containing: "k must be positive") { try c.search([0, 0], k: -1) }
    }

    @Test func deeplyNestedFiltersAreRefusedAndLongChainsStayShallow() throws {
        let deep = String(repeating: "(", count: 50_000) + "a = 1" + String(repeating: ")", count: 50_000)
        expectVecDBError(.invalidArgument, containing: "nested deeper than 64 levels") { try Filter(parsing: deep) }
        let nots = String(repeating: "not ", count: 10_000) + "a = 1"
        expectVecDBError(.invalidArgument, containing: "nested deeper than 64 levels") { try Filter(parsing: nots) }
        _ = try Filter(parsing: String(repeating: "(", count: 64) + "a = 1" + String(repeating: ")", count: 64))

        // 100,000 terms joined by 'and': parsed into a balanced tree, evaluated on worker
        // threads (small stacks) without overflowing, with the right answer.
        let chain = try Filter(parsing: Array(repeating: "a = 1", count: 100_000).joined(separator: " and "))
        let either = try Filter(parsing: (0..<100_000).map { "a = \($0 + 2)" }.joined(separator: " or ") + " or a = 1")
        let dir = TemporaryDirectory()
        let db = try Database.open(at: dir.path)
        defer { db.close() }
        let c = try db.createCollection("v", dimension: 1, metric: .l2)
        try c.upsert([Record(key: 1, vector: [0], payload: ["a": 1]), Record(key: 2, vector: [1], payload: ["a": 0])])
        for f in [chain, either] {
            let hits = try c.search(queries: [[0], [1]], k: 5, options: SearchOptions(filter: f), threads: 2)
            #expect(hits.map { $0.map(\.key) } == [[.int(1)], [.int(1)]])
        }
    }

    @Test func valuesOutsideTheElementTypeAreRefusedNotStoredAsInfinity() throws {
        let dir = TemporaryDirectory()
        let db = try Database.open(at: dir.path)
        defer { db.close() }
        let half = try db.createCollection("h", dimension: 2, metric: .l2, elementType: .float16)
        try half.upsert(Record(key: 1, vector: [65504, -65504]))
        #expect(try half.get(1)?.vector == [65504, -65504])
        expectVecDBError(.invalidArgument, containing: "component 0 is 1000000.0, outside the float16 range ±65504") {
            try half.upsert([Record(key: 2, vector: [1, 2]), Record(key: 3, vector: [1e6, 2])])
        }
        #expect(half.count == 1)
        let bytes = try db.createCollection("b", dimension: 2, metric: .l2, elementType: .int8)
        expectVecDBError(.invalidArgument, containing: "outside the int8 range") { try bytes.upsert(Record(key: 1, vector: [3e38, 0])) }
        try bytes.upsert(Record(key: 1, vector: [1e30, -1e30]))
        #expect(bytes.count == 1)
        // Cosine: components whose squares overflow Float32 still normalise to unit length.
        let cos = try db.createCollection("c", dimension: 2, metric: .cosine, elementType: .float16)
        try cos.upsert(Record(key: 1, vector: [1e30, 1e30]))
        let stored = try #require(try cos.get(1)).vector
        #expect(stored.allSatisfy { abs($0 - 0.70710677) < 1e-3 })
        #expect(ExactSearch.normalized([1e-30, 1e-30]).allSatisfy { abs($0 - 0.70710677) < 1e-6 })
        #expect(ExactSearch.normalized([3e38, -3e38, 1]).allSatisfy { $0.isFinite })
    }
}

/// Issue 14, class 5: damage is reported per collection; the rest of the database works; a
/// directory that is not a database is refused as such.
@Suite("Damaged collections and foreign directories")
struct DamagedCollectionTests {
    @Test func oneDamagedCollectionDoesNotTakeTheOthersDown() throws {
        let dir = TemporaryDirectory()
        do {
            let db = try Database.open(at: dir.path)
            for name in ["good", "bad"] {
                let c = try db.createCollection(name, dimension: 2, metric: .l2)
                try c.upsert([Record(key: 1, vector: [0, 0]), Record(key: 2, vector: [1, 1])])
            }
            db.close()
        }
        let manifest = dir.file("bad/MANIFEST")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: manifest))
        bytes[10] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: manifest))
        try FileManager.default.createDirectory(atPath: dir.file("stray"), withIntermediateDirectories: false)

        let db = try Database.open(at: dir.path)
        #expect(db.collectionNames() == ["good"])
        #expect(Set(db.damagedCollections.keys) == ["bad", "stray"])
        #expect(try db.collection("good").search([1, 1], k: 1).first?.key == .int(2))
        expectVecDBError(.corruptFile, containing: "collection 'bad' could not be opened") { try db.collection("bad") }
        expectVecDBError(.corruptFile, containing: "is not a collection: it has no MANIFEST") { try db.collection("stray") }
        expectVecDBError(.alreadyExists, containing: "damaged; drop it first") { try db.createCollection("bad", dimension: 2, metric: .l2) }
        // Dropping a damaged collection removes it; the name can then be used again.
        try db.dropCollection("bad")
        #expect(db.damagedCollections["bad"] == nil && !FileManager.default.fileExists(atPath: dir.file("bad")))
        try db.createCollection("bad", dimension: 3, metric: .ip)
        #expect(db.collectionNames() == ["bad", "good"])
        db.close()
        // The healthy collection's data is intact after all that.
        let again = try Database.open(at: dir.path, options: DatabaseOptions(readOnly: true))
        defer { again.close() }
        #expect(try again.collection("good").count == 2)
    }

    @Test func aDirectoryThatIsNotADatabaseIsRefused() throws {
        let dir = TemporaryDirectory()
        try "hello".write(toFile: dir.file("notes.txt"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: dir.file("photos"), withIntermediateDirectories: false)
        for readOnly in [false, true] {
            expectVecDBError(.invalidArgument, containing: "is not a VecDB database") {
                try Database.open(at: dir.path, options: DatabaseOptions(readOnly: readOnly))
            }
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("LOCK")))
        // An empty directory is a new database.
        let empty = TemporaryDirectory()
        let db = try Database.open(at: empty.path)
        db.close()
    }
}
