import ArgumentParser
import Foundation
import VecDB

/// `vecdb check DB [COLLECTION] [--json]`: verifies a database and says whether it is sound.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Verify a database: every checksum of every collection, and damaged collections.",
        discussion: """
            Opens the database read-only (a writer may keep writing meanwhile). Each collection \
            must open (its manifest, write-ahead log and segment headers are checked then), every \
            checksum of every segment must match, vectors and payload blocks included, and every \
            index file must match the segment it indexes (checksum, rows, parameters, and each \
            HNSW link's bounds). Prints one line per collection, "ok" or what is wrong, naming \
            the file. Exit status 0 when everything is sound, 1 otherwise; `vecdb repair` fixes \
            what can be fixed.
            """)

    @Argument(help: "Database directory.")
    var db: String

    @Argument(help: "Collection name (all collections when omitted).")
    var collection: String?

    @Flag(help: "Print one JSON object per collection (collection, ok, error, rows, segments).")
    var json = false

    func run() throws {
        let database: Database
        do {
            database = try Database.open(at: db, options: DatabaseOptions(readOnly: true))
        } catch {
            throw error.exit
        }
        defer { database.close() }
        let damaged = database.damagedCollections
        var names = database.collectionNames() + damaged.keys
        if let collection {
            guard names.contains(collection) else { throw ValidationError("collection '\(collection)' does not exist in '\(db)'") }
            names = [collection]
        }
        var failures = 0
        for name in names.sorted() {
            var verdict: [String: Payload] = ["collection": .string(name)]
            do throws(VecDBError) {
                let c = try database.collection(name)
                try c.verify()
                let index = c.checkIndex()
                if let problem = index.problems.first {
                    throw VecDBError(
                        problem.code, "\(problem.message) (\(index.problems.count) index file(s) damaged; `vecdb repair` rebuilds them)",
                        path: problem.path)
                }
                if let problem = try c.checkPayloadIndexes().first {
                    throw VecDBError(
                        problem.code, "\(problem.message) (a payload index; `vecdb repair` rebuilds it)", path: problem.path)
                }
                let s = c.stats()
                verdict["ok"] = .bool(true)
                verdict["rows"] = .number(Double(s.count))
                verdict["segments"] = .number(Double(s.segmentCount))
                verdict["indexed_segments"] = .number(Double(index.soundSegments))
                if !json {
                    let indexNote =
                        c.index == nil
                        ? ""
                        : ", \(index.soundSegments) segment indexes sound"
                            + (index.unindexedSegments > 0 ? ", \(index.unindexedSegments) not built yet" : "")
                    print("\(name): ok (\(s.count) rows, \(s.segmentCount) segments, every checksum matches\(indexNote))")
                }
            } catch {
                failures += 1
                verdict["ok"] = .bool(false)
                verdict["error"] = .string(error.message)
                if !json { print("\(name): DAMAGED: \(error.message)") }
            }
            if json { print(Payload.object(verdict).jsonText) }
        }
        if !json { print(failures == 0 ? "\(db): sound" : "\(db): \(failures) of \(names.count) collections damaged") }
        if failures > 0 { throw ExitCode.failure }
    }
}
