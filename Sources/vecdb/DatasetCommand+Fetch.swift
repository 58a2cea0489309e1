import ArgumentParser
import Foundation
import VecDBDatasets

extension DatasetCommand {
    /// `vecdb dataset fetch NAME…`.
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
}
