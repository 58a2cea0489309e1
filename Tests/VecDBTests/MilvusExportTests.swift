import Foundation
import Testing
import VecDBKernels
import VecDBStorage
import VecDBTestSupport

@testable import VecDB

/// The Milvus export layout on its own (the test against a real Milvus is in VecDBBenchTests):
/// round trips, column typing, key encodings, filter translation and damaged files.
@Suite("Milvus export and import")
struct MilvusExportTests {
    static func records(_ n: Int, dimension: Int, seed: UInt64) -> [Record] {
        var g = SeededGenerator(seed: seed)
        return (0..<n).map { i in
            var o: [String: Payload] = [
                "color": .string(["red", "green", "blue"][i % 3]), "n": .integer(Int64(i % 7) - 3), "price": .number(Double(i) * 0.25),
                "ok": .bool(i % 2 == 0), "tags": .object(["a": .object(["b": .integer(Int64(i % 4))])]),
                "list": .array([.integer(Int64(i)), .string("x")]),
            ]
            if i % 5 == 0 { o["rare"] = .string("yes") }  // not in every record: dynamic
            if i % 11 == 0 { o["mixed"] = .integer(1) } else { o["mixed"] = .string("one") }  // two types: dynamic
            o["weird key"] = .integer(1)  // not a Milvus name: dynamic
            return Record(key: .int(UInt64(i * 3)), vector: (0..<dimension).map { _ in g.nextUnitFloat() * 2 - 1 }, payload: .object(o))
        }
    }

    static func contents(_ c: Collection) throws -> [Key: Record] {
        Dictionary(uniqueKeysWithValues: try c.snapshot().records().map { ($0.key, $0) })
    }

    @Test("an export imports back to the same records, metric, element type and index; columns are the uniform scalars")
    func roundTrip() throws {
        let dir = TemporaryDirectory()
        let db = try Database.open(at: dir.file("db"))
        defer { db.close() }
        let c = try db.createCollection("items", dimension: 8, metric: .cosine)
        try c.upsert(Self.records(300, dimension: 8, seed: 1))
        try c.createIndex(.hnsw(HNSWIndexOptions(m: 12, efConstruction: 80)))
        let schema = try MilvusExport.write(c, to: dir.file("out"))
        #expect(schema.primaryField == MilvusExport.Field(name: "id", dataType: "Int64"))
        #expect(schema.vectorField == MilvusExport.Field(name: "vector", dataType: "FloatVector", dim: 8))
        #expect(schema.scalarFields.map(\.name) == ["color", "n", "ok", "price"])
        #expect(schema.scalarFields.map(\.dataType) == ["VarChar", "Int64", "Bool", "Double"])
        #expect(schema.scalarFields[0].maxLength == 5)
        #expect(schema.metricType == "COSINE" && schema.keyEncoding == "int64" && schema.rowCount == 300)
        #expect(
            schema.index == MilvusExport.IndexSuggestion(indexType: "HNSW", metricType: "COSINE", params: ["M": 12, "efConstruction": 80]))
        #expect(try MilvusExport.readSchema(dir.file("out")) == schema)
        let back = try MilvusExport.read(dir.file("out"), into: db, name: "back")
        #expect(back.metric == .cosine && back.dimension == 8 && back.elementType == .float32)
        #expect(back.index == .hnsw(HNSWIndexOptions(m: 12, efConstruction: 80)))
        // Cosine rows are stored normalised, and normalised again on import: equal to an ulp.
        let (x, y) = (try Self.contents(back), try Self.contents(c))
        #expect(Set(x.keys) == Set(y.keys))
        for (k, r) in y {
            #expect(x[k]?.payload == r.payload)
            #expect(zip(x[k]?.vector ?? [], r.vector).allSatisfy { abs($0 - $1) <= 1e-6 } && x[k]?.vector.count == 8)
        }
    }

    @Test("string keys, digit-only string keys, UInt64 keys, non-object payloads, float16 rows and a $meta key survive")
    func awkwardRecords() throws {
        let dir = TemporaryDirectory()
        let db = try Database.open(at: dir.file("db"))
        defer { db.close() }
        let c = try db.createCollection("odd", dimension: 3, metric: .l2, elementType: .float16)
        try c.upsert([
            Record(key: .string("alpha"), vector: [0.5, -1, 2], payload: .object(["$meta": .integer(4), "id": .string("not the key")])),
            Record(key: .string("123"), vector: [1, 1, 1], payload: .string("just text")),
            Record(key: .int(UInt64.max), vector: [0, 0, 0.25], payload: nil),
            Record(key: .int(7), vector: [3, 2, 1], payload: .array([.null, .bool(true)])),
        ])
        let schema = try MilvusExport.write(c, to: dir.file("out"))
        #expect(schema.primaryField.dataType == "VarChar" && schema.keyEncoding == "tagged")
        #expect(schema.primaryField.name == "pk")  // "id" is a payload field
        #expect(schema.vectorField.dataType == "Float16Vector" && schema.metricType == "L2")
        #expect(schema.wrappedPayloadKey == "vecdb_payload" && schema.index.indexType == "FLAT")
        let back = try MilvusExport.read(dir.file("out"), into: db, name: "back")
        #expect(back.elementType == .float16)
        #expect(try Self.contents(back) == Self.contents(c))
    }

    @Test("filters translate to Milvus expressions: ==, in, and/or/not, JSON paths, exists")
    func filterTranslation() throws {
        let dir = TemporaryDirectory()
        let db = try Database.open(at: dir.file("db"))
        defer { db.close() }
        let c = try db.createCollection("items", dimension: 4, metric: .l2)
        try c.upsert(Self.records(20, dimension: 4, seed: 2))
        let schema = try MilvusExport.write(c, to: dir.file("out"))
        func milvus(_ text: String) throws -> String { try MilvusExport.expression(try Filter(parsing: text), schema: schema) }
        #expect(try milvus("color = \"red\"") == "color == \"red\"")
        #expect(try milvus("n in [1, 2] and not price > 2.5") == "(n in [1, 2] and not (price > 2.5))")
        #expect(
            try milvus("tags.a.b = 3 or color != \"blue\"")
                == "((exists tags[\"a\"][\"b\"] and tags[\"a\"][\"b\"] == 3) or color != \"blue\")")
        #expect(try milvus("rare != \"yes\"") == "not (exists rare and rare == \"yes\")")
        #expect(try milvus("rare in [\"a\", \"b\"]") == "(exists rare and rare in [\"a\", \"b\"])")
        #expect(try milvus("exists rare") == "exists rare")
        #expect(try milvus("exists color") == "(color == color)")
        #expect(try milvus("price >= 3") == "price >= 3")
        expectVecDBError(.unsupported, containing: "goes inside column 'color'") { _ = try milvus("color.x = 1") }
        expectVecDBError(.unsupported, containing: "null") { _ = try milvus("rare = null") }
    }

    @Test("a damaged part, a foreign schema, a non-empty target and a bad row are typed errors that leave no collection")
    func badInput() throws {
        let dir = TemporaryDirectory()
        let db = try Database.open(at: dir.file("db"))
        defer { db.close() }
        let c = try db.createCollection("items", dimension: 4, metric: .l2)
        try c.upsert(Self.records(30, dimension: 4, seed: 3))
        try MilvusExport.write(c, to: dir.file("out"))
        expectVecDBError(.invalidArgument, containing: "not an empty directory") { try MilvusExport.write(c, to: dir.file("out")) }
        var part = try FileSystem.system.readAll(dir.file("out/part-00000.json"))
        let good = part
        part[40] ^= 0x01
        try FileSystem.system.replaceAtomically(dir.file("out/part-00000.json"), with: part)
        expectVecDBError(.corruptFile, containing: "checksum mismatch") { _ = try MilvusExport.read(dir.file("out"), into: db, name: "x") }
        #expect(!db.collectionNames().contains("x"))
        try FileSystem.system.replaceAtomically(dir.file("out/part-00000.json"), with: good)
        let schemaBytes = try FileSystem.system.readAll(dir.file("out/schema.json"))
        try FileSystem.system.replaceAtomically(
            dir.file("out/schema.json"),
            with: Array(
                String(decoding: schemaBytes, as: UTF8.self).replacingOccurrences(
                    of: "\"format_version\" : 1", with: "\"format_version\" : 9"
                ).utf8))
        expectVecDBError(.malformedFile, containing: "format version 9") { _ = try MilvusExport.read(dir.file("out"), into: db, name: "x") }
        expectVecDBError(.notFound, containing: "not a Milvus export") {
            _ = try MilvusExport.read(dir.file("nothing"), into: db, name: "x")
        }
        // A foreign part without checksums and with a negative key.
        try FileSystem.system.replaceAtomically(dir.file("out/schema.json"), with: schemaBytes)
        var schema = try MilvusExport.readSchema(dir.file("out"))
        schema.parts = [MilvusExport.Part(name: "foreign.json", rows: 1, crc32c: nil)]
        try FileSystem.system.replaceAtomically(dir.file("out/schema.json"), with: Array(try JSONEncoder().encode(schema)))
        try FileSystem.system.replaceAtomically(
            dir.file("out/foreign.json"), with: Array("{\"rows\": [{\"id\": -4, \"vector\": [1,2,3,4]}]}".utf8))
        expectVecDBError(.malformedFile, containing: "key -4 is negative") {
            _ = try MilvusExport.read(dir.file("out"), into: db, name: "y")
        }
        #expect(db.collectionNames() == ["items"])
    }
}
