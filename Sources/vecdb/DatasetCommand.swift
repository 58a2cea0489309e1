import ArgumentParser
import Foundation
import VecDBDatasets

/// `vecdb dataset fetch NAME…` and `vecdb dataset list`.
struct DatasetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset",
        abstract: "Fetch and list benchmark and demo data sets.",
        subcommands: [Fetch.self, List.self]
    )
}
