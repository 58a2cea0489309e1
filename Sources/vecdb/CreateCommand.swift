import ArgumentParser
import VecDB

/// `vecdb create DB COLLECTION --dim D --metric l2|ip|cosine`.
struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a collection.")

    @OptionGroup var target: CollectionArguments

    @Option(help: "Vector dimension.")
    var dim: Int

    @Option(help: "Metric: l2, ip or cosine.")
    var metric: String = "l2"

    @Option(help: "Element type: float32, float16 or int8.")
    var elementType: String = "float32"

    func validate() throws {
        guard dim >= 1 && dim <= 65_536 else { throw ValidationError("--dim must be between 1 and 65536") }
        _ = try Metric(parsing: metric)
        _ = try ElementType(parsing: elementType)
    }

    func run() throws {
        let database = try Database.open(at: target.db)
        defer { database.close() }
        let c = try database.createCollection(
            target.collection, dimension: dim, metric: try Metric(parsing: metric),
            elementType: try ElementType(parsing: elementType))
        print("created collection '\(c.name)' (\(c.dimension) dimensions, \(c.metric.rawValue), \(c.elementType.rawValue))")
    }
}
