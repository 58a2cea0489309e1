import ArgumentParser
import Foundation
import VecDB
import VecDBImport

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
        // The whole file is read before the first batch is written, so a malformed row leaves
        // the collection as it was.
        var reader = try RecordReader(path: file, firstKey: firstKey)
        let records = try reader.readAll()
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
