import ArgumentParser
import Foundation
import VecDB

/// `vecdb compact DB COLLECTION`.
struct CompactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "compact", abstract: "Merge segments and drop deleted rows.")

    @OptionGroup var target: CollectionArguments

    func run() throws {
        let (database, collection) = try target.open()
        defer { database.close() }
        let before = collection.stats()
        let start = Date()
        try collection.compact()
        let after = collection.stats()
        print(
            "compacted '\(collection.name)': \(before.segmentCount) segments -> \(after.segmentCount), "
                + "\(before.diskBytes) -> \(after.diskBytes) bytes in \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
    }
}
