import ArgumentParser
import Foundation
import VecDB

/// `vecdb repair DB [COLLECTION] [--json]`: makes damaged collections usable again, keeping
/// every committed write that can still be read.
struct RepairCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Repair damaged collections: cut a damaged write-ahead log, rebuild damaged indexes.",
        discussion: """
            Opens the database for writing. A write-ahead log with a damaged frame is first \
            copied whole to damaged-wal-….log in the collection's directory, then cut before the \
            damaged frame: every frame before it is kept, that frame and any after it are \
            dropped (the copy keeps their bytes). A log with a damaged header is replaced by an \
            empty one, after the same copy. Damaged index files are rebuilt from the segments. \
            Damaged segment vectors and a damaged manifest cannot be repaired: restore the \
            collection from a backup, or drop it. Run `vecdb check` first to see what is wrong. \
            Exit status 0 when every collection is sound afterwards, 1 otherwise.
            """)

    @Argument(help: "Database directory.")
    var db: String

    @Argument(help: "Collection name (all collections when omitted).")
    var collection: String?

    @Flag(help: "Print one JSON object per collection (collection, repaired, actions, kept_copy, dropped_log_bytes, error).")
    var json = false

    func run() throws {
        let database: Database
        do {
            database = try Database.open(at: db)
        } catch {
            throw error.exit
        }
        defer { database.close() }
        var names = database.collectionNames() + database.damagedCollections.keys
        if let collection {
            guard names.contains(collection) else { throw ValidationError("collection '\(collection)' does not exist in '\(db)'") }
            names = [collection]
        }
        var failures = 0
        for name in names.sorted() {
            let report: RepairReport
            do {
                report = try database.repair(name)
            } catch {
                throw error.exit
            }
            if !report.repaired { failures += 1 }
            if json {
                var o: [String: Payload] = [
                    "collection": .string(name), "repaired": .bool(report.repaired),
                    "actions": .array(report.actions.map(Payload.string)), "dropped_log_bytes": .number(Double(report.droppedLogBytes)),
                ]
                if let k = report.keptCopy { o["kept_copy"] = .string(k) }
                if let e = report.error { o["error"] = .string(e.message) }
                print(Payload.object(o).jsonText)
                continue
            }
            if report.actions.isEmpty {
                print("\(name): sound, nothing to repair")
            } else {
                for a in report.actions { print("\(name): \(a)") }
            }
        }
        if !json { print(failures == 0 ? "\(db): sound" : "\(db): \(failures) of \(names.count) collections could not be repaired") }
        if failures > 0 { throw ExitCode.failure }
    }
}
