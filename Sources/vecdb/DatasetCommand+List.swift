import ArgumentParser
import Foundation
import VecDBDatasets

extension DatasetCommand {
    /// `vecdb dataset list`.
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
