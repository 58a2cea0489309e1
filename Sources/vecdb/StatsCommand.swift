import ArgumentParser
import Foundation
import VecDB

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
        // Damaged collections are listed after the others (on standard error with --json),
        // and make the exit status 1.
        let damaged = collection == nil ? database.damagedCollections.sorted { $0.key < $1.key } : []

        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            let data = collection == nil ? try enc.encode(all) : try enc.encode(all[0])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for s in all {
                print(
                    "\(s.name): \(s.count) vectors, \(s.dimension)-d \(s.metric.rawValue) \(s.elementType.rawValue), "
                        + "\(s.segmentCount) segments, \(s.memtableRows) rows in memory, \(s.deletedRows) deleted, "
                        + "\(s.diskBytes) bytes on disk, payload compression \(String(format: "%.2f", s.payloadCompressionRatio))x")
                if let embedder = s.embedder { print("  embeds text with \(embedder)") }
                if let index = s.index {
                    print(
                        "  index: \(index), \(s.indexedSegments)/\(s.segmentCount) segments indexed"
                            + (s.indexDrift.map { String(format: ", drift %.3f", $0) } ?? ""))
                }
                if !s.payloadIndexes.isEmpty {
                    print("  payload indexes: \(s.payloadIndexes.joined(separator: ", ")), \(s.payloadIndexBytes) bytes")
                }
            }
        }
        for (name, error) in damaged {
            let line = "\(name): damaged: \(error.message)"
            if json { printError(line) } else { print(line) }
        }
        if !damaged.isEmpty { throw ExitCode.failure }
    }
}
