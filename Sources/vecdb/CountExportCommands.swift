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
/// `vecdb import` reads back.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write records as JSON Lines ({\"key\", \"vector\", \"payload\"}), all or those matching a filter.",
        discussion: """
            One consistent snapshot, in storage order. The lines are what `vecdb import` reads, so an \
            export imports into another collection of the same dimension. --output writes a file \
            (temp file, fsync, rename); without it the lines go to standard output.
            """)

    @OptionGroup var target: CollectionArguments

    @Option(help: "Only records whose payload matches this filter.")
    var filter: String?

    @Option(help: "The file to write (standard output when omitted).")
    var output: String?

    func validate() throws {
        if let filter { _ = try Filter(parsing: filter) }
    }

    func run() throws {
        let (database, collection) = try target.open(readOnly: true)
        defer { database.close() }
        let snapshot = collection.snapshot()
        let records = try filter.map { try snapshot.records(where: try Filter(parsing: $0)) } ?? snapshot.records()
        var text = ""
        for r in records {
            let line: Payload = .object([
                "key": r.key.json, "vector": .array(r.vector.map { .number(Double($0)) }), "payload": r.payload ?? .null,
            ])
            text += line.jsonText + "\n"
        }
        if let output {
            let tmp = output + ".tmp"
            guard FileManager.default.createFile(atPath: tmp, contents: Data(text.utf8)), let h = FileHandle(forWritingAtPath: tmp)
            else { throw VecDBError(.io, "cannot write \(tmp)", path: tmp) }
            try h.synchronize()
            try h.close()
            if rename(tmp, output) != 0 { throw VecDBError(.io, "cannot rename \(tmp) to \(output)", path: output) }
            printError("exported \(records.count) records to \(output)")
        } else {
            print(text, terminator: "")
        }
    }
}
