import Testing
import VecDBKernels
import VecDBTestSupport

@testable import VecDB
@testable import VecDBStorage

#if canImport(Glibc)
    import Glibc
#endif

/// The model a collection should match: key → record.
struct Model {
    var records: [Key: Record] = [:]
    let metric: Metric

    mutating func upsert(_ rs: [Record]) { for r in rs { records[r.key] = r } }
    mutating func delete(_ ks: [Key]) -> Int { ks.reduce(0) { $0 + (records.removeValue(forKey: $1) == nil ? 0 : 1) } }

    func nearest(_ q: [Float], k: Int, filter: Filter?) -> [(Key, Double)] {
        let c = records.values.filter { filter?.matches($0.payload) ?? true }.map { ($0.key, $0.vector) }
        return BruteForce.nearest(q, c, k: k, metric: metric)
    }
}

/// Checks `results` against the oracle: same distances (to rounding) and, away from ties, same keys.
func expectAgrees(_ results: [SearchResult], _ oracle: [(Key, Double)], sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(results.count == oracle.count, sourceLocation: sourceLocation)
    for (i, (r, o)) in zip(results, oracle).enumerated() {
        #expect(abs(Double(r.distance) - o.1) <= 1e-3 * max(1, abs(o.1)), "rank \(i)", sourceLocation: sourceLocation)
        let tiedNeighbours = (i > 0 && abs(oracle[i - 1].1 - o.1) < 1e-4) || (i + 1 < oracle.count && abs(oracle[i + 1].1 - o.1) < 1e-4)
        if !tiedNeighbours { #expect(r.key == o.0, "rank \(i)", sourceLocation: sourceLocation) }
    }
}

func makeRecords(_ g: inout SeededGenerator, keys: some Sequence<Int>, dimension: Int) -> [Record] {
    keys.map { i in
        Record(
            key: i % 4 == 0 ? .string("s\(i)") : .int(UInt64(i)), vector: g.vector(dimension),
            payload: i % 5 == 4
                ? nil : ["n": .number(Double(i % 17)), "lang": .string(["en", "fr", "de"][i % 3]), "meta": ["even": .bool(i % 2 == 0)]])
    }
}

@Suite struct CollectionTests {
    /// Writes through memtable, several seals, deletes and overwrites, and checks search against
    /// brute force at every stage, then after compaction and after reopening.
    @Test(arguments: Metric.allCases)
    func searchAgreesWithBruteForce(_ metric: VecDB.Metric) throws {
        let dir = TemporaryDirectory()
        let d = 16
        var g = SeededGenerator(seed: 100 + UInt64(metric.code))
        var model = Model(metric: metric)
        let options = DatabaseOptions(memtableRows: 60)
        var db = try Database.open(at: dir.path, options: options)
        var c = try db.createCollection("items", dimension: d, metric: metric)
        let filters = [nil, try Filter(parsing: "lang = 'en' or n > 10"), try Filter(parsing: "meta.even = true and not exists missing")]

        func check(_ stage: String) throws {
            #expect(c.count == model.records.count, "\(stage)")
            for _ in 0..<4 {
                let q = g.vector(d)
                for f in filters {
                    let got = try c.search(q, k: 7, options: SearchOptions(filter: f))
                    var expected = model.nearest(metric == .cosine ? ExactSearch.normalized(q) : q, k: 7, filter: f)
                    if metric == .cosine { expected = model.nearest(q, k: 7, filter: f) }
                    expectAgrees(got, expected)
                    for r in got { #expect(r.payload == model.records[r.key]?.payload) }
                }
            }
            for (k, r) in model.records.prefix(30) {
                let got = try #require(try c.get(k))
                #expect(got.payload == r.payload)
                let v = metric == .cosine ? ExactSearch.normalized(r.vector) : r.vector
                for j in 0..<d { #expect(abs(got.vector[j] - v[j]) < 1e-5) }
            }
        }

        for round in 0..<5 {
            let rs = makeRecords(&g, keys: (round * 50)..<(round * 50 + 70), dimension: d)  // overlaps the previous round
            try c.upsert(rs)
            model.upsert(rs)
            let doomed: [Key] = [.int(UInt64(round * 50 + 1)), .string("s\(round * 50 + 8)"), .int(999_999)]
            #expect(try c.delete(doomed) == model.delete(doomed))
            try check("round \(round)")
        }
        #expect(c.stats().segmentCount >= 3)
        let deleted = try c.delete(where: Filter(parsing: "n = 3"))
        #expect(deleted == model.records.values.filter { $0.payload?["n"] == .number(3) }.count)
        for k in model.records.keys where model.records[k]?.payload?["n"] == .number(3) { model.records[k] = nil }
        try check("delete where")
        try c.compact()
        #expect(c.stats().segmentCount == 1)
        #expect(c.stats().deletedRows == 0)
        try check("compacted")
        let more = makeRecords(&g, keys: 1000..<1030, dimension: d)
        try c.upsert(more)
        model.upsert(more)
        db.close()
        db = try Database.open(at: dir.path, options: options)
        c = try db.collection("items")
        try check("reopened")
        try c.verify()
    }

    @Test(arguments: [ElementType.float16, .int8], Metric.allCases)
    func quantisedCollectionsSearchTheirStoredVectors(_ type: VecDB.ElementType, _ metric: VecDB.Metric) throws {
        let dir = TemporaryDirectory()
        let d = 12
        var g = SeededGenerator(seed: 9)
        let db = try Database.open(at: dir.path, options: DatabaseOptions(memtableRows: 50))
        let c = try db.createCollection("q", dimension: d, metric: metric, elementType: type)
        let rs = makeRecords(&g, keys: 0..<180, dimension: d)
        for start in stride(from: 0, to: 180, by: 40) { try c.upsert(Array(rs[start..<min(180, start + 40)])) }
        // The oracle searches the vectors as stored (get returns them); cosine collections store
        // unit vectors, so their distance is 1 - q̂·x on the stored x.
        var stored: [(Key, [Float])] = []
        for r in rs {
            let got = try #require(try c.get(r.key))
            let v = metric == .cosine ? ExactSearch.normalized(r.vector) : r.vector
            for j in 0..<d { #expect(abs(got.vector[j] - v[j]) <= (type == .int8 ? 0.01 : 1e-3)) }
            stored.append((r.key, got.vector))
        }
        #expect(c.stats().segmentCount == 2 && c.stats().memtableRows == 20)
        for _ in 0..<5 {
            let q = g.vector(d)
            let oracle: [(Key, Double)]
            if metric == .cosine {
                let qn = ExactSearch.normalized(q)
                oracle = Array(stored.map { ($0.0, 1 + BruteForce.distance(.ip, qn, $0.1)) }.sorted { $0.1 < $1.1 }.prefix(5))
            } else {
                oracle = BruteForce.nearest(q, stored, k: 5, metric: metric)
            }
            expectAgrees(try c.search(q, k: 5), oracle)
            let f = try Filter(parsing: "lang = 'fr'")
            let filtered = try c.search(q, k: 5, options: SearchOptions(filter: f))
            #expect(filtered.allSatisfy { $0.payload?["lang"] == "fr" })
        }
        db.close()
    }

    @Test func aBadRowRejectsTheWholeBatch() throws {
        let dir = TemporaryDirectory()
        let db = try Database.open(at: dir.path)
        let c = try db.createCollection("v", dimension: 3, metric: .l2)
        try c.upsert([Record(key: 1, vector: [1, 2, 3])])
        let bad = [Record(key: 2, vector: [1, 2, 3]), Record(key: 3, vector: [1, .nan, 3])]
        let e = #expect(throws: VecDBError.self) { try c.upsert(bad) }
        #expect(e?.code == .nonFiniteValue)
        let short = [Record(key: 2, vector: [1, 2, 3]), Record(key: 4, vector: [1, 2])]
        let e2 = #expect(throws: VecDBError.self) { try c.upsert(short) }
        #expect(e2?.code == .dimensionMismatch)
        #expect(e2?.message.contains("collection 'v'") == true)
        #expect(c.count == 1)
        #expect(try c.get(2) == nil)
        #expect(throws: VecDBError.self) { try c.search([1, 2], k: 1) }
        db.close()
    }

    @Test func collectionsAreCreatedListedAndDropped() throws {
        let dir = TemporaryDirectory()
        var db = try Database.open(at: dir.path + "/nested/db")
        try db.createCollection("a", dimension: 2, metric: .ip)
        let b = try db.createCollection("b-2.x", dimension: 3, metric: .cosine, elementType: .float16)
        try b.upsert([Record(key: "k", vector: [1, 0, 0], payload: "hello")])
        #expect(db.collectionNames() == ["a", "b-2.x"])
        #expect(throws: VecDBError.self) { try db.createCollection("a", dimension: 2, metric: .ip) }
        for bad in ["", ".x", "a/b", "LOCK", String(repeating: "x", count: 129)] {
            let e = #expect(throws: VecDBError.self) { try db.createCollection(bad, dimension: 2, metric: .l2) }
            #expect(e?.code == .invalidArgument)
        }
        #expect(throws: VecDBError.self) { try db.createCollection("z", dimension: 0, metric: .l2) }
        try db.dropCollection("a")
        #expect(db.collectionNames() == ["b-2.x"])
        #expect((try? db.collection("a")) == nil)
        db.close()
        #expect(throws: VecDBError.self) { try db.collection("b-2.x") }
        db = try Database.open(at: dir.path + "/nested/db")
        #expect(db.collectionNames() == ["b-2.x"])
        let b2 = try db.collection("b-2.x")
        #expect(b2.metric == .cosine && b2.elementType == .float16 && b2.dimension == 3)
        #expect(try b2.get("k")?.payload == "hello")
        db.close()
    }

    @Test func snapshotsAreStableWhileWritersGoOn() async throws {
        let dir = TemporaryDirectory()
        let db = try Database.open(at: dir.path, options: DatabaseOptions(memtableRows: 40))
        let c = try db.createCollection("s", dimension: 4, metric: .l2)
        var g = SeededGenerator(seed: 4)
        try c.upsert(makeRecords(&g, keys: 0..<100, dimension: 4))
        let snap = try db.snapshot()
        let frozen = try snap.collection("s")
        let before = try frozen.search([0, 0, 0, 0], k: 100)
        // A writer and concurrent readers.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var g = SeededGenerator(seed: 5)
                for i in 0..<20 {
                    try c.upsert(makeRecords(&g, keys: (100 + i * 10)..<(110 + i * 10), dimension: 4))
                    _ = try c.delete([.int(UInt64(i * 3 + 1))])
                    if i == 10 { try c.compact() }
                }
            }
            for _ in 0..<3 {
                group.addTask {
                    for _ in 0..<30 {
                        let n = try db.read { try $0.collection("s").count }
                        #expect(n >= 90)
                        _ = try c.search([0.1, 0.2, 0.3, 0.4], k: 5, options: SearchOptions(filter: Filter(parsing: "n > 3")))
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(frozen.count == 100)
        #expect(try frozen.search([0, 0, 0, 0], k: 100) == before)
        #expect(try frozen.get(1) != nil)
        #expect(try c.get(1) == nil)
        let total = try await db.read { (s) throws(VecDBError) in try s.collection("s").count }
        #expect(total == c.count)
        let n = try await db.write { (db) throws(VecDBError) in try db.collection("s").delete([.int(2), .int(3)]) }
        #expect(n == 2)
        db.close()
    }

    /// Concurrent writers share fsyncs (group commit); batches are applied in WAL order, and
    /// seals happen while other writers' frames are pending.
    @Test func concurrentWritersAllLand() async throws {
        let dir = TemporaryDirectory()
        let db = try Database.open(at: dir.path, options: DatabaseOptions(memtableRows: 70))
        let c = try db.createCollection("w", dimension: 4, metric: .ip)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 0..<4 {
                group.addTask {
                    var g = SeededGenerator(seed: UInt64(t))
                    for b in 0..<30 {
                        try c.upsert(makeRecords(&g, keys: (t * 10_000 + b * 7)..<(t * 10_000 + b * 7 + 7), dimension: 4))
                        // Every writer also rewrites one shared key; the last write wins.
                        try c.upsert(Record(key: "shared", vector: [Float(t), 0, 0, 0], payload: ["t": .number(Double(t))]))
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(c.count == 4 * 30 * 7 + 1)
        let shared = try #require(try c.get("shared"))
        db.close()
        let re = try Database.open(at: dir.path)
        let c2 = try re.collection("w")
        #expect(c2.count == 4 * 30 * 7 + 1)
        #expect(try c2.get("shared") == shared)
        for t in 0..<4 {
            for i in stride(from: 0, to: 210, by: 13) {
                let k = t * 10_000 + i
                #expect(try c2.get(k % 4 == 0 ? .string("s\(k)") : .int(UInt64(k))) != nil)
            }
        }
        re.close()
    }

    @Test func periodicDurabilityKeepsDataAcrossCleanClose() throws {
        let dir = TemporaryDirectory()
        var db = try Database.open(at: dir.path, options: DatabaseOptions(durability: .periodic(milliseconds: 20), memtableRows: 100))
        let c = try db.createCollection("p", dimension: 2, metric: .l2)
        var g = SeededGenerator(seed: 8)
        let rs = makeRecords(&g, keys: 0..<250, dimension: 2)
        for r in rs { try c.upsert(r) }
        db.close()
        db = try Database.open(at: dir.path)
        #expect(try db.collection("p").count == 250)
        db.close()
    }

    @Test func statsAreCodable() throws {
        let dir = TemporaryDirectory()
        let db = try Database.open(at: dir.path, options: DatabaseOptions(memtableRows: 10))
        let c = try db.createCollection("st", dimension: 2, metric: .l2)
        var g = SeededGenerator(seed: 1)
        for b in 0..<5 { try c.upsert(makeRecords(&g, keys: (b * 5)..<(b * 5 + 5), dimension: 2)) }
        let s = c.stats()
        #expect(s.count == 25 && s.segmentCount == 2 && s.memtableRows == 5)
        #expect(s.payloadCompressionRatio > 0)
        db.close()
    }
}

@Suite struct LockTests {
    @Test func secondWriterIsRefusedAndReadersNeverWait() throws {
        let dir = TemporaryDirectory()
        let db = try Database.open(at: dir.path)
        let c = try db.createCollection("c", dimension: 2, metric: .l2)
        try c.upsert([Record(key: 1, vector: [1, 1])])
        let e = #expect(throws: VecDBError.self) { try Database.open(at: dir.path) }
        #expect(e?.code == .locked)
        #expect(e?.message == "database at \(dir.path) is being written by another process")
        // Readers open while the writer holds the lock, and see what was committed when they
        // opened: a snapshot, not the writer's later batches.
        let r1 = try Database.open(at: dir.path, options: DatabaseOptions(readOnly: true))
        #expect(try r1.collection("c").get(1)?.vector == [1, 1])
        try c.upsert([Record(key: 2, vector: [2, 2])])
        #expect(try r1.collection("c").get(2) == nil)
        let r2 = try Database.open(at: dir.path, options: DatabaseOptions(readOnly: true))
        #expect(try r2.collection("c").get(2)?.vector == [2, 2])
        let e3 = #expect(throws: VecDBError.self) { try r2.collection("c").upsert([Record(key: 3, vector: [0, 0])]) }
        #expect(e3?.code == .readOnly)
        db.close()
        // Nor do readers hold a writer back.
        let again = try Database.open(at: dir.path)
        try again.collection("c").upsert([Record(key: 3, vector: [3, 3])])
        again.close()
        r1.close()
        r2.close()
    }
}

/// `Collection` names VecDB's type in code that imports VecDB (it shadows the standard
/// library's protocol, which stays reachable as `Swift.Collection`).
func collectionName(_ c: Collection) -> String { c.name }
func elementCount(_ xs: some Swift.Collection) -> Int { xs.count }
