import ArgumentParser
import VecDB

/// `vecdb delete DB COLLECTION (KEY… | --filter EXPR)`.
struct DeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete records by key or by filter.")

    @OptionGroup var target: CollectionArguments

    @Argument(help: "Keys to delete.")
    var keys: [String] = []

    @Option(help: "Delete every record whose payload matches, e.g. \"genre = 'comedy' and year < 1990\".")
    var filter: String?

    func validate() throws {
        guard keys.isEmpty != (filter == nil) else { throw ValidationError("give keys or --filter, not both or neither") }
        if let filter { _ = try Filter(parsing: filter) }
    }

    func run() throws {
        let (database, collection) = try target.open()
        defer { database.close() }
        let n: Int
        if let filter {
            n = try collection.delete(where: try Filter(parsing: filter))
        } else {
            n = try collection.delete(keys.map { Key(parsing: $0) })
        }
        print("deleted \(n) records from '\(collection.name)'")
    }
}
