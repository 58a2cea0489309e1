import ArgumentParser
import VecDB

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
            let obj: Payload = .object([
                "key": r.key.json, "vector": .array(r.vector.map { .number(Double($0)) }),
                "payload": r.payload ?? .null,
            ])
            print(obj.jsonText)
        } else {
            print("key: \(r.key)")
            print("vector: [\(r.vector.map { String($0) }.joined(separator: ", "))]")
            print("payload: \(r.payload?.jsonText ?? "null")")
        }
    }
}
