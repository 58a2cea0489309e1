import ArgumentParser
import Foundation
import VecDB
import VecDBDatasets
import VecDBImport

/// `vecdb insert DB COLLECTION (--file F | --key K --text T [--payload JSON])`.
struct InsertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "insert",
        abstract: "Insert (upsert) JSON Lines records as one atomic, durable batch.",
        discussion: """
            After exit status 0 every row is durable; after a crash, all rows are visible or none. A \
            collection created with --embed takes text: lines {"key": …, "text": "…", "payload": {…}}, or \
            one record with --key and --text; its vectors are computed, and texts are written in atomic \
            batches of 256 while the next batch is embedded.
            """)

    @OptionGroup var target: CollectionArguments

    @Option(help: "JSON Lines: {\"key\": …, \"vector\": […], \"payload\": {…}} per line ({\"key\", \"text\", …} with --embed).")
    var file: String?

    @Option(help: "With --text: the record's key (an integer or a string).")
    var key: String?

    @Option(help: "The text of one record, for a collection created with --embed.")
    var text: String?

    @Option(help: "With --text: a JSON object stored as the record's payload.")
    var payload: String?

    func validate() throws {
        guard (file == nil) != (text == nil) else { throw ValidationError("give --file F, or --key K --text T") }
        if text != nil && key == nil { throw ValidationError("--text needs --key") }
        if file != nil && (key != nil || payload != nil) { throw ValidationError("--key and --payload go with --text, not --file") }
    }

    func run() throws {
        let (database, collection) = try target.open()
        defer { database.close() }
        try Embedders.attach(to: collection)
        if let text, let key {
            let p = try payload.map { try Payload(jsonText: $0) }
            try collection.upsert(texts: [TextRecord(key: UInt64(key).map { Key.int($0) } ?? .string(key), text: text, payload: p)])
            print("inserted 1 record into '\(collection.name)'")
            return
        }
        let path = file ?? ""
        if collection.embedderIdentity != nil {
            var records: [TextRecord] = []
            for (i, line) in try readTextLines(path).enumerated() where !line.allSatisfy({ $0 == " " || $0 == "\t" }) {
                records.append(try RecordReader.textRecord(fromJSONLine: line, lineNumber: i + 1, path: path))
            }
            try collection.upsert(texts: records)
            print("inserted \(records.count) records into '\(collection.name)'")
            return
        }
        var reader = try RecordReader(path: path, format: .jsonLines)
        let records = try reader.readAll()
        try collection.upsert(records)
        print("inserted \(records.count) records into '\(collection.name)'")
    }
}
