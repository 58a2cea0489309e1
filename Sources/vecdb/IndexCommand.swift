import ArgumentParser
import Foundation
import VecDB

/// `vecdb index DB COLLECTION --type hnsw [--m 16 --ef-construction 200]`.
struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Build a collection's index (HNSW), persisted next to its segments.")

    @OptionGroup var target: CollectionArguments

    @Option(help: "Index type: hnsw.")
    var type: String = "hnsw"

    @Option(name: .customLong("m"), help: "HNSW links per node.")
    var m: Int = 16

    @Option(help: "HNSW candidate list size while building.")
    var efConstruction: Int = 200

    @Option(help: "Default candidate list size for searches of this collection (search --ef overrides it).")
    var ef: Int?

    @Option(help: "Build threads.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard type == "hnsw" else {
            throw ValidationError("unknown index type '\(type)'; this version builds 'hnsw' (IVF types come with the IVF index)")
        }
        guard (2...256).contains(m) else { throw ValidationError("--m must be between 2 and 256") }
        guard efConstruction >= 1 else { throw ValidationError("--ef-construction must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        if let ef, ef < 1 { throw ValidationError("--ef must be at least 1") }
    }

    func run() throws {
        let (database, collection) = try target.open()
        defer { database.close() }
        let terminal = isatty(STDERR_FILENO) != 0
        let start = Date()
        let report: @Sendable (Int, Int) -> Void = { done, total in
            let pct = total > 0 ? 100 * done / total : 100
            FileHandle.standardError.write(Data("\rindexing \(done)/\(total) rows (\(pct)%)".utf8))
        }
        try collection.createIndex(HNSWOptions(M: m, efConstruction: efConstruction), defaultEF: ef, threads: threads,
                                   progress: terminal ? report : nil)
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
        print("built HNSW index (M=\(m), efConstruction=\(efConstruction)) over \(collection.count) vectors of '\(collection.name)' "
              + "in \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
    }
}
