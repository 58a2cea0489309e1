import ArgumentParser
import Foundation
import VecDB

/// `vecdb count DB COLLECTION [--filter EXPR]`.
struct CountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "count", abstract: "Count a collection's records, or those whose payload matches a filter.")

    @OptionGroup var target: CollectionArguments

    @Option(help: "Only records whose payload matches this filter (answered through payload indexes where they exist).")
    var filter: String?

    func validate() throws {
        if let filter { _ = try Filter(parsing: filter) }
    }

    func run() throws {
        let (database, collection) = try target.open(readOnly: true)
        defer { database.close() }
        let n = try filter.map { try collection.count(where: try Filter(parsing: $0)) } ?? collection.count
        print(n)
    }
}

/// `vecdb export DB COLLECTION [--filter EXPR] [--output F.jsonl]`: JSON Lines that
/// `vecdb import` reads back; `vecdb export DB COLLECTION --format milvus --to DIR`: Milvus's
/// bulk-import layout.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write records as JSON Lines ({\"key\", \"vector\", \"payload\"}), or as a Milvus bulk import.",
        discussion: """
            One consistent snapshot, in storage order. The lines are what `vecdb import` reads, so an \
            export imports into another collection of the same dimension. --output (or --to) writes a file \
            (temp file, fsync, rename); without it the lines go to standard output. \
            --format milvus --to DIR writes Milvus's row-based JSON import files (parts of about 16 MB, read \
            and written in bounded memory) and DIR/schema.json (dimension, metric, key and payload column \
            types, the index to build); see docs/scale-out.md.
            """)

    @OptionGroup var target: CollectionArguments

    @Option(help: "Only records whose payload matches this filter (JSON Lines).")
    var filter: String?

    @Option(help: "The file to write (standard output when omitted).")
    var output: String?

    @Option(help: "jsonl (default) or milvus.")
    var format = "jsonl"

    @Option(help: "Where to write: the file (jsonl) or the directory (milvus).")
    var to: String?

    func validate() throws {
        if let filter { _ = try Filter(parsing: filter) }
        guard output == nil || to == nil else { throw ValidationError("give --output or --to, not both") }
        switch format {
        case "jsonl": break
        case "milvus":
            guard to != nil || output != nil else { throw ValidationError("--format milvus writes a directory: give --to DIR") }
            guard filter == nil else {
                throw ValidationError("--format milvus exports the whole collection; filter in Milvus after the move, or export JSON Lines")
            }
        default: throw ValidationError("--format must be jsonl or milvus, got '\(format)'")
        }
    }

    func run() throws {
        let (database, collection) = try target.open(readOnly: true)
        defer { database.close() }
        let destination = to ?? output
        if format == "milvus", let destination {
            let progress = ProgressDisplay()
            let start = Date()
            let schema = try MilvusExport.write(collection, to: destination) { done, total in
                progress.line("exported \(done) of \(total) rows")
            }
            progress.finish()
            let columns = schema.scalarFields.map { "\($0.name):\($0.dataType)" }.joined(separator: ", ")
            print(
                "exported \(schema.rowCount) rows to \(destination) in \(schema.parts.count) part(s) in "
                    + String(format: "%.2f s", Date().timeIntervalSince(start)) + "; primary key \(schema.primaryField.dataType), "
                    + "\(schema.vectorField.dataType)(\(collection.dimension)), \(schema.metricType), index \(schema.index.indexType), "
                    + "columns: \(columns.isEmpty ? "none" : columns); other payload fields go to the dynamic field")
            return
        }
        let snapshot = collection.snapshot()
        let records = try filter.map { try snapshot.records(where: try Filter(parsing: $0)) } ?? snapshot.records()
        var text = ""
        for r in records {
            let line: Payload = .object([
                "key": r.key.json, "vector": .array(r.vector.map { .number(Double($0)) }), "payload": r.payload ?? .null,
            ])
            text += line.jsonText + "\n"
        }
        if let destination {
            let tmp = destination + ".tmp"
            guard FileManager.default.createFile(atPath: tmp, contents: Data(text.utf8)), let h = FileHandle(forWritingAtPath: tmp)
            else { throw VecDBError(.io, "cannot write \(tmp)", path: tmp) }
            try h.synchronize()
            try h.close()
            if rename(tmp, destination) != 0 { throw VecDBError(.io, "cannot rename \(tmp) to \(destination)", path: destination) }
            printError("exported \(records.count) records to \(destination)")
        } else {
            print(text, terminator: "")
        }
    }
}
