import ArgumentParser
import VecDB
import VecDBImport

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
        var reader = try RecordReader(path: file, format: .jsonLines)
        let records = try reader.readAll()
        let (database, collection) = try target.open()
        defer { database.close() }
        try collection.upsert(records)
        print("inserted \(records.count) records into '\(collection.name)'")
    }
}
