import ArgumentParser
import Foundation
import VecDB
import VecDBDatasets

/// Arguments every collection command takes.
struct CollectionArguments: ParsableArguments {
    @Argument(help: "Database directory.")
    var db: String

    @Argument(help: "Collection name.")
    var collection: String

    func open(readOnly: Bool = false) throws -> (Database, Collection) {
        let database = try Database.open(at: db, options: DatabaseOptions(readOnly: readOnly))
        do {
            return (database, try database.collection(collection))
        } catch {
            database.close()
            throw error
        }
    }
}

/// `vecdb create DB COLLECTION --dim D --metric l2|ip|cosine`.
struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a collection.")

    @OptionGroup var target: CollectionArguments

    @Option(help: "Vector dimension.")
    var dim: Int

    @Option(help: "Metric: l2, ip or cosine.")
    var metric: String = "l2"

    @Option(help: "Element type: float32, float16 or int8.")
    var elementType: String = "float32"

    func validate() throws {
        guard dim >= 1 && dim <= 65_536 else { throw ValidationError("--dim must be between 1 and 65536") }
        _ = try Metric(parsing: metric)
        _ = try ElementType(parsing: elementType)
    }

    func run() throws {
        let database = try Database.open(at: target.db)
        defer { database.close() }
        let c = try database.createCollection(target.collection, dimension: dim, metric: try Metric(parsing: metric),
                                              elementType: try ElementType(parsing: elementType))
        print("created collection '\(c.name)' (\(c.dimension) dimensions, \(c.metric.rawValue), \(c.elementType.rawValue))")
    }
}

/// `vecdb import DB COLLECTION FILE`: .fvecs, .npy, .csv (keys are row numbers) or JSON Lines.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import vectors from .fvecs, .npy, .csv or JSON Lines.",
        discussion: "Vector files get integer keys from --first-key upward. Each batch is committed atomically.")

    @OptionGroup var target: CollectionArguments

    @Argument(help: "The file to import.")
    var file: String

    @Option(help: "Key of the first row of a vector file.")
    var firstKey: UInt64 = 0

    @Option(help: "Rows per atomic batch.")
    var batchSize: Int = 10_000

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        let (database, collection) = try target.open()
        defer { database.close() }
        let start = Date()
        let records: [Record]
        let lower = file.lowercased()
        if lower.hasSuffix(".jsonl") || lower.hasSuffix(".json") {
            records = try RecordParsing.jsonLines(file)
        } else {
            let m = try VectorFiles.read(file)
            records = (0..<m.count).map { Record(key: .int(firstKey + UInt64($0)), vector: m.row($0)) }
        }
        var done = 0
        while done < records.count {
            let batch = Array(records[done..<min(done + batchSize, records.count)])
            try collection.upsert(batch)
            done += batch.count
        }
        let seconds = Date().timeIntervalSince(start)
        print("imported \(done) vectors into '\(collection.name)' in \(String(format: "%.2f", seconds)) s")
    }
}

/// `vecdb insert DB COLLECTION --file F`: one atomic batch from JSON Lines.
struct InsertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "insert",
        abstract: "Insert (upsert) JSON Lines records as one atomic, durable batch.",
        discussion: "After exit status 0 every row is durable; after a crash, all rows are visible or none.")

    @OptionGroup var target: CollectionArguments

    @Option(help: "JSON Lines: {\"key\": …, \"vector\": […], \"payload\": {…}} per line.")
    var file: String

    func run() throws {
        let records = try RecordParsing.jsonLines(file)
        let (database, collection) = try target.open()
        defer { database.close() }
        try collection.upsert(records)
        print("inserted \(records.count) records into '\(collection.name)'")
    }
}

/// `vecdb get DB COLLECTION KEY [--json]`.
struct GetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "Print a record's vector and payload.")

    @OptionGroup var target: CollectionArguments

    @Argument(help: "The key (digits are an integer key; quote a string key that looks like a number with --string-key).")
    var key: String

    @Flag(help: "Treat the key as a string even if it is all digits.")
    var stringKey = false

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let (database, collection) = try target.open(readOnly: true)
        defer { database.close() }
        let k: Key = stringKey ? .string(key) : Key(parsing: key)
        guard let r = try collection.get(k) else {
            throw VecDBError(.notFound, "key \(k) not found in collection '\(collection.name)'")
        }
        if json {
            let obj: Payload = .object(["key": RecordParsing.json(r.key), "vector": .array(r.vector.map { .number(Double($0)) }),
                                        "payload": r.payload ?? .null])
            print(obj.jsonText)
        } else {
            print("key: \(r.key)")
            print("vector: [\(r.vector.map { String($0) }.joined(separator: ", "))]")
            print("payload: \(r.payload?.jsonText ?? "null")")
        }
    }
}

/// `vecdb delete DB COLLECTION (KEY… | --filter EXPR)`.
struct DeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete records by key or by filter.")

    @OptionGroup var target: CollectionArguments

    @Argument(help: "Keys to delete.")
    var keys: [String] = []

    @Option(help: "Delete every record whose payload matches, e.g. \"genre = 'comedy' and year < 1990\".")
    var filter: String?

    func validate() throws {
        guard keys.isEmpty != (filter == nil) else { throw ValidationError("give keys or --filter, not both or neither") }
        if let filter { _ = try Filter(parsing: filter) }
    }

    func run() throws {
        let (database, collection) = try target.open()
        defer { database.close() }
        let n: Int
        if let filter {
            n = try collection.delete(where: try Filter(parsing: filter))
        } else {
            n = try collection.delete(keys.map { Key(parsing: $0) })
        }
        print("deleted \(n) records from '\(collection.name)'")
    }
}

/// `vecdb compact DB COLLECTION`.
struct CompactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "compact", abstract: "Merge segments and drop deleted rows.")

    @OptionGroup var target: CollectionArguments

    func run() throws {
        let (database, collection) = try target.open()
        defer { database.close() }
        let before = collection.stats()
        let start = Date()
        try collection.compact()
        let after = collection.stats()
        print("compacted '\(collection.name)': \(before.segmentCount) segments -> \(after.segmentCount), "
              + "\(before.diskBytes) -> \(after.diskBytes) bytes in \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
    }
}

/// `vecdb stats DB [COLLECTION] [--json]`.
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Show database or collection statistics.")

    @Argument(help: "Database directory.")
    var db: String

    @Argument(help: "Collection name (all collections when omitted).")
    var collection: String?

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let database = try Database.open(at: db, options: DatabaseOptions(readOnly: true))
        defer { database.close() }
        let names = collection.map { [$0] } ?? database.collectionNames()
        var all: [CollectionStats] = []
        for n in names { all.append(try database.collection(n).stats()) }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            let data = collection == nil ? try enc.encode(all) : try enc.encode(all[0])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for s in all {
                print("\(s.name): \(s.count) vectors, \(s.dimension)-d \(s.metric.rawValue) \(s.elementType.rawValue), "
                      + "\(s.segmentCount) segments, \(s.memtableRows) rows in memory, \(s.deletedRows) deleted, "
                      + "\(s.diskBytes) bytes on disk, payload compression \(String(format: "%.2f", s.payloadCompressionRatio))x")
                if let index = s.index {
                    print("  index: \(index), \(s.indexedSegments)/\(s.segmentCount) segments indexed"
                          + (s.indexDrift.map { String(format: ", drift %.3f", $0) } ?? ""))
                }
            }
        }
    }
}
