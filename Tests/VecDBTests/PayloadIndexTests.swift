import Foundation
import Testing
import VecDBKernels
import VecDBTestSupport

@testable import VecDB

/// Payload indexes (issue 19): every filter answered through them must admit exactly the
/// records that `Filter.matches` admits on each payload (the oracle), for every operator and
/// index kind, through upserts, deletes, compaction, reopening and read-only readers, and a
/// damaged index file must be found and rebuilt.
@Suite struct PayloadIndexTests {
    static let names = ["apple", "pear", "héllo", "he\u{301}llo", "Zebra", "", "日本"]

    /// A payload with indexed fields of every kind, sometimes missing, sometimes of another type.
    static func payload(_ k: Int, version: Int, _ g: inout SeededGenerator) -> Payload? {
        if k % 23 == 0 { return nil }
        var o: [String: Payload] = [:]
        switch Int(g.next() % 10) {
        case 0: o["cat"] = .number(Double(k % 37))  // a whole Double: the integer index holds it
        case 1: o["cat"] = .string("x\(k % 3)")  // another type: irregular
        case 2: break  // missing
        case 3: o["cat"] = .number(Double(k % 37) + 0.5)  // a fraction: irregular for integer
        default: o["cat"] = .integer(Int64(k % 37 + version))
        }
        switch Int(g.next() % 6) {
        case 0: o["price"] = .integer(Int64(k % 50))
        case 1: o["price"] = .null
        default: o["price"] = .number(Double(Int(g.next() % 2000)) / 10 - 50)
        }
        if g.next() % 5 != 0 { o["name"] = .string(names[Int(g.next() % UInt64(names.count))]) } else { o["name"] = .integer(3) }
        if g.next() % 4 != 0 { o["flag"] = .bool(g.next() % 2 == 0) }
        o["meta"] = .object(["tier": .integer(Int64(k % 5))])
        o["other"] = .integer(Int64(k % 11))
        return .object(o)
    }

    static let filters = [
        "cat = 7", "cat != 7", "cat < 10", "cat <= 10", "cat > 30", "cat >= 30", "cat in [1, 2, 3.0, 'x1']", "exists cat",
        "cat = 7.5", "cat = 'x2'", "cat > 'x0'", "cat = null", "cat = true",
        "price < 0", "price >= 25.5", "price = 3", "price in [1, 2, 3]", "exists price", "price = null",
        "name = 'héllo'", "name = 'he\u{301}llo'", "name < 'pear'", "name >= 'Zebra'", "name in ['apple', '']", "name = 3",
        "flag = true", "flag = false", "flag != true", "exists flag", "flag in [true]",
        "meta.tier = 2", "meta.tier in [0, 4]", "meta.tier > 2",
        "cat < 20 and flag = true", "cat = 3 or name = 'pear'", "not (cat < 30)", "other = 4 and cat >= 5",
        "other = 4 or price < -40", "not (exists name) or meta.tier = 1", "(cat < 5 or cat > 33) and not (flag = false)",
        "other in [1, 2] and (name = 'apple' or exists cat)",
    ]

    static let indexes: [(String, PayloadIndexKind)] = [
        ("cat", .integer), ("price", .float), ("name", .keyword), ("flag", .bool), ("meta.tier", .integer),
    ]

    func check(_ c: Collection, _ label: String, search: Bool = true) throws {
        let records = try c.snapshot().records()
        var g = SeededGenerator(seed: 5)
        for text in Self.filters {
            let f = try Filter(parsing: text)
            let oracle = records.filter { f.matches($0.payload) }
            let expected = Set(oracle.map(\.key))
            #expect(try c.count(where: f) == expected.count, "\(label): count \(text)")
            #expect(Set(try c.snapshot().keys(where: f)) == expected, "\(label): keys \(text)")
            #expect(Set(try c.snapshot().records(where: f).map(\.key)) == expected, "\(label): records \(text)")
            guard search else { continue }
            // The k nearest among the matches, against brute force over the matching rows.
            let q = (0..<c.dimension).map { _ in Float(Int(g.next() % 200)) / 50 - 2 }
            let hits = try c.search(q, k: 10, options: SearchOptions(filter: f))
            let truth = oracle.map { r in zip(q, r.vector).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }.sorted().prefix(10)
            #expect(hits.count == truth.count, "\(label): hits \(text)")
            for (h, d) in zip(hits, truth) { #expect(abs(h.distance - d) <= 1e-4 * max(1, d), "\(label): \(text)") }
            #expect(hits.allSatisfy { expected.contains($0.key) }, "\(label): search \(text)")
        }
    }

    @Test func filtersThroughIndexesMatchTheOracleThroughEveryChange() throws {
        let dir = TemporaryDirectory()
        var g = SeededGenerator(seed: 19)
        let options = DatabaseOptions(memtableRows: 150)
        var db = try Database.open(at: dir.path, options: options)
        var c = try db.createCollection("c", dimension: 4, metric: .l2)
        func vector() -> [Float] { (0..<4).map { _ in Float(Int(g.next() % 2000)) / 500 - 2 } }
        // Half the indexes before the data, half after.
        for (field, kind) in Self.indexes.prefix(2) { try c.createPayloadIndex(field: field, kind: kind) }
        try c.upsert((0..<700).map { k in Record(key: .int(UInt64(k)), vector: vector(), payload: Self.payload(k, version: 0, &g)) })
        for (field, kind) in Self.indexes.dropFirst(2) { try c.createPayloadIndex(field: field, kind: kind) }
        #expect(
            c.payloadIndexDefinitions.map(\.description) == [
                "cat (integer)", "flag (bool)", "meta.tier (integer)", "name (keyword)", "price (float)",
            ])
        try c.createIndex(.hnsw(HNSWIndexOptions(m: 8, efConstruction: 64)))
        try check(c, "inserted")
        // Upserts change values and types; deletes by key and by filter.
        try c.upsert(
            (0..<700).filter { $0 % 3 == 0 }.map { k in
                Record(key: .int(UInt64(k)), vector: vector(), payload: Self.payload(k, version: 1, &g))
            })
        _ = try c.delete((0..<700).filter { $0 % 7 == 0 }.map { .int(UInt64($0)) })
        let before = try c.count(where: Filter(parsing: "cat = 5"))
        #expect(try c.delete(where: Filter(parsing: "cat = 5")) == before)
        #expect(try c.count(where: Filter(parsing: "cat = 5")) == 0)
        try check(c, "after upserts and deletes")
        try c.compact()
        try check(c, "after compaction")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/c").filter { $0.hasPrefix("pidx-") }
        #expect(files.count == Self.indexes.count * c.stats().segmentCount, "\(files)")
        db.close()
        db = try Database.open(at: dir.path, options: options)
        c = try db.collection("c")
        #expect(c.payloadIndexDefinitions.count == Self.indexes.count)
        try check(c, "after reopening")
        // A reader in read-only mode builds what it lacks in memory and writes nothing.
        try c.upsert((700..<760).map { k in Record(key: .int(UInt64(k)), vector: vector(), payload: Self.payload(k, version: 2, &g)) })
        try c.flush()
        var ro = DatabaseOptions()
        ro.readOnly = true
        let reader = try Database.open(at: dir.path, options: ro)
        let rc = try reader.collection("c")
        // (The writer's background HNSW build may add files meanwhile: only payload index files count.)
        func indexFiles() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: dir.path + "/c").filter { $0.hasPrefix("pidx-") }.sorted()
        }
        let filesBefore = try indexFiles()
        try check(rc, "read-only", search: false)
        #expect(try indexFiles() == filesBefore)
        #expect(throws: VecDBError.self) { try rc.createPayloadIndex(field: "x", kind: .bool) }
        reader.close()
        db.close()
    }

    @Test func aDamagedIndexFileIsFoundAndRebuilt() throws {
        let dir = TemporaryDirectory()
        var g = SeededGenerator(seed: 3)
        var db = try Database.open(at: dir.path, options: DatabaseOptions(memtableRows: 100))
        var c = try db.createCollection("c", dimension: 2, metric: .l2)
        for start in stride(from: 0, to: 250, by: 50) {
            try c.upsert(
                (start..<start + 50).map { k in
                    Record(key: .int(UInt64(k)), vector: [Float(k), 0], payload: Self.payload(k, version: 0, &g))
                })
        }
        try c.createPayloadIndex(field: "cat", kind: .integer)
        db.close()
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/c").filter { $0.hasPrefix("pidx-") }.sorted()
        #expect(files.count == 2)
        let path = dir.path + "/c/" + files[0]
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count / 2] ^= 0x5A
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        db = try Database.open(at: dir.path)
        c = try db.collection("c")
        let found = try c.checkPayloadIndexes()
        #expect(found.count == 1 && found.first?.code == .corruptFile && found.first?.path == path, "\(found)")
        #expect(try c.checkPayloadIndexes().isEmpty)
        try check(c, "rebuilt", search: false)
        // Truncated to nothing: the same.
        try Data().write(to: URL(fileURLWithPath: path))
        db.close()
        db = try Database.open(at: dir.path)
        c = try db.collection("c")
        try check(c, "rebuilt after truncation", search: false)
        #expect(try c.checkPayloadIndexes().isEmpty)
        db.close()
    }

    @Test func definitionsAreCheckedAndDroppingRemovesFiles() throws {
        let dir = TemporaryDirectory()
        let db = try Database.open(at: dir.path, options: DatabaseOptions(memtableRows: 50))
        let c = try db.createCollection("c", dimension: 2, metric: .l2)
        try c.upsert((0..<120).map { k in Record(key: .int(UInt64(k)), vector: [Float(k), 1], payload: ["cat": .integer(Int64(k % 4))]) })
        for bad in ["", "a..b", "1x", "a b", ".a", "a."] {
            let e = #expect(throws: VecDBError.self) { try c.createPayloadIndex(field: bad, kind: .keyword) }
            #expect(e?.code == .invalidArgument, "\(bad)")
        }
        try c.createPayloadIndex(field: "cat", kind: .keyword)
        // Another kind on the same field replaces it, files and all.
        try c.createPayloadIndex(field: "cat", kind: .integer)
        #expect(c.payloadIndexDefinitions.map(\.description) == ["cat (integer)"])
        func indexFiles() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: dir.path + "/c").filter { $0.hasPrefix("pidx-") }
        }
        #expect(try indexFiles().count == c.stats().segmentCount)
        #expect(try c.count(where: Filter(parsing: "cat = 2")) == 30)
        #expect(try c.dropPayloadIndex(field: "cat"))
        #expect(try !c.dropPayloadIndex(field: "cat"))
        #expect(try indexFiles().isEmpty)
        #expect(try c.count(where: Filter(parsing: "cat = 2")) == 30)
        db.close()
    }
}

/// Payload indexes under concurrency: filtered searches and counts on several threads while a
/// writer upserts, seals, deletes by filter and compacts (new segments get their index files
/// built by whichever thread first needs them). Every answer must match the oracle on the
/// snapshot it was computed on, and nothing may throw.
@Suite struct PayloadIndexConcurrencyTests {
    @Test func filteredReadsBesideAWriterMatchTheirSnapshot() async throws {
        let dir = TemporaryDirectory()
        let db = try Database.open(at: dir.path, options: DatabaseOptions(memtableRows: 120))
        defer { db.close() }
        let c = try db.createCollection("c", dimension: 3, metric: .l2)
        try c.createPayloadIndex(field: "cat", kind: .integer)
        try c.createPayloadIndex(field: "tag", kind: .keyword)
        func record(_ k: Int, _ round: Int) -> Record {
            Record(
                key: .int(UInt64(k)), vector: [Float(k % 17), Float(round), 1],
                payload: ["cat": .integer(Int64((k + round) % 9)), "tag": .string("t\(k % 4)")])
        }
        try c.upsert((0..<300).map { record($0, 0) })
        let filters = try ["cat = 3", "cat < 4 and tag = 't1'", "not (tag in ['t0', 't2']) or cat >= 7"].map { try Filter(parsing: $0) }
        let writer = Task.detached {
            for round in 1...30 {
                try c.upsert((0..<300).filter { $0 % 3 == round % 3 }.map { record($0, round) })
                if round % 4 == 0 { _ = try c.delete(where: Filter(parsing: "cat = \(round % 9)")) }
                if round % 5 == 0 { try c.compact() }
            }
        }
        try await withThrowingTaskGroup(of: Int.self) { group in
            for t in 0..<3 {
                group.addTask {
                    var checked = 0
                    for i in 0..<60 {
                        let snap = c.snapshot()
                        let f = filters[(t + i) % filters.count]
                        let expected = Set(try snap.records().filter { f.matches($0.payload) }.map(\.key))
                        #expect(Set(try snap.keys(where: f)) == expected)
                        #expect(try snap.count(where: f) == expected.count)
                        let hits = try snap.search([1, 2, 1], k: 5, options: SearchOptions(filter: f))
                        #expect(hits.allSatisfy { expected.contains($0.key) && f.matches($0.payload) })
                        #expect(hits.count == min(5, expected.count))
                        checked += 1
                    }
                    return checked
                }
            }
            var total = 0
            for try await n in group { total += n }
            #expect(total == 180)
        }
        try await writer.value
        let f = try Filter(parsing: "cat < 4 and tag = 't1'")
        #expect(try c.count(where: f) == (try c.snapshot().records().filter { f.matches($0.payload) }.count))
    }
}
