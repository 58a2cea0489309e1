import ArgumentParser
import Foundation
import VecDBDatasets
import VecDBKernels

/// `vecdb dataset fetch NAME…` and `vecdb dataset list`.
struct DatasetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset",
        abstract: "Fetch and list benchmark and demo data sets.",
        subcommands: [Fetch.self, List.self]
    )

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch data sets into the cache (VECDB_DATA, default ~/.cache/vecdb); idempotent.")

        @Argument(help: "Data-set names: \(DatasetCatalog.names.joined(separator: ", ")).")
        var names: [String]

        @Option(help: "Threads for computing ground truth.")
        var threads: Int = ProcessInfo.processInfo.activeProcessorCount

        func validate() throws {
            for n in names { try DatasetCatalog.validate(n) }
        }

        func run() throws {
            let catalog = DatasetCatalog()
            for name in names {
                let dir = try catalog.fetch(name, threads: threads, log: { printError($0) })
                print("\(name)\t\(dir)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List known data sets and whether they are cached.")

        func run() {
            let catalog = DatasetCatalog()
            for name in DatasetCatalog.names {
                let cached = FileManager.default.fileExists(atPath: catalog.directory(name) + "/.complete")
                print("\(name)\t\(cached ? catalog.directory(name) : "not fetched")")
            }
        }
    }
}
