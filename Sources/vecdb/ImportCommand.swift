import ArgumentParser
import Foundation
import VecDB
import VecDBImport

/// `vecdb import DB COLLECTION FILE`: .fvecs, .npy, .csv (keys are row numbers) or JSON Lines;
/// `vecdb import DB COLLECTION --format milvus --from DIR`: a Milvus export, into a new collection.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import vectors from .fvecs, .npy, .csv or JSON Lines.",
        discussion: """
            Vector files get integer keys from --first-key upward. Every row is read and checked before \
            anything is written, so a bad row imports nothing and is named by its line (JSON Lines) or \
            row. Each batch is then committed atomically; if the storage fails part-way (a full disk), \
            the error says which rows are committed. \
            With --format milvus --from DIR, reads what `vecdb export --format milvus` wrote (or rows read \
            back from Milvus in the same layout) into a new collection with the schema's dimension, metric \
            and index; see docs/scale-out.md.
            """)

    @OptionGroup var target: CollectionArguments

    @Argument(help: "The file to import.")
    var file: String?

    @Option(help: "milvus: a Milvus export directory (--from); otherwise the file's extension decides.")
    var format: String?

    @Option(help: "The Milvus export directory (with --format milvus).")
    var from: String?

    @Option(help: "Index build threads (with --format milvus).")
    var threads = 1

    @Option(help: "Key of the first row of a vector file.")
    var firstKey: UInt64 = 0

    @Option(help: "Rows per atomic batch.")
    var batchSize: Int = 10_000

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        switch format {
        case "milvus"?:
            guard from != nil, file == nil else { throw ValidationError("--format milvus reads a directory: give --from DIR and no FILE") }
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        case nil:
            guard file != nil, from == nil else { throw ValidationError("give the FILE to import (--from goes with --format milvus)") }
        case let other?:
            throw ValidationError("--format must be milvus (other files are known by their extension), got '\(other)'")
        }
    }

    func run() throws {
        if let from { return try importMilvus(from) }
        guard let file else { return }
        let (database, collection) = try target.open()
        defer { database.close() }
        let start = Date()
        // The whole file is read and every record checked before the first batch is written,
        // so a malformed or invalid row leaves the collection as it was, and the error names
        // its place in the file.
        var reader = try RecordReader(path: file, firstKey: firstKey)
        let records = try reader.readAll()
        for (i, r) in records.enumerated() {
            do throws(VecDBError) {
                try collection.validate(r)
            } catch {
                let place = i < reader.lineNumbers.count ? "line \(reader.lineNumbers[i])" : "row \(i + 1)"
                throw VecDBError(error.code, "\(file), \(place): \(error.message); nothing was imported", path: file).exit
            }
        }
        var done = 0
        while done < records.count {
            let batch = Array(records[done..<min(done + batchSize, records.count)])
            do throws(VecDBError) {
                try collection.upsert(batch)
            } catch {
                // Only the storage can fail here (a full disk, an I/O error): say exactly what is in.
                let through = done > 0 && done <= reader.lineNumbers.count ? ", through line \(reader.lineNumbers[done - 1])" : ""
                let committed =
                    done == 0 ? "nothing was imported" : "rows 1–\(done) of \(records.count)\(through) are committed (earlier batches)"
                throw VecDBError(
                    error.code, "\(error.message); \(committed); rows \(done + 1)–\(records.count) were not written", path: error.path
                ).exit
            }
            done += batch.count
        }
        let seconds = Date().timeIntervalSince(start)
        print("imported \(done) vectors into '\(collection.name)' in \(String(format: "%.2f", seconds)) s")
    }

    func importMilvus(_ directory: String) throws {
        let database = try Database.open(at: target.db)
        defer { database.close() }
        let start = Date()
        let progress = ProgressDisplay()
        let collection = try MilvusExport.read(directory, into: database, name: target.collection, threads: threads) { done, total in
            progress.line("imported \(done) of \(total) rows")
        }
        progress.finish()
        let seconds = Date().timeIntervalSince(start)
        print(
            "imported \(collection.count) records into '\(collection.name)' (dimension \(collection.dimension), \(collection.metric.rawValue)"
                + (collection.index.map { ", \($0.summary)" } ?? "") + ") in \(String(format: "%.2f", seconds)) s")
    }
}
