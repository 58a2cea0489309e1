import ArgumentParser
import VecDB

/// `vecdb create DB COLLECTION (--dim D | --embed minilm) --metric l2|ip|cosine`.
struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a collection.")

    @OptionGroup var target: CollectionArguments

    @Option(help: "Vector dimension.")
    var dim: Int?

    @Option(help: "Embed text with this model (\(Embedders.names.joined(separator: ", "))): insert and search then take text.")
    var embed: String?

    @Option(help: "Metric: l2, ip or cosine (default l2, or cosine with --embed).")
    var metric: String?

    @Option(help: "Element type: float32, float16 or int8.")
    var elementType: String = "float32"

    func validate() throws {
        guard (dim == nil) != (embed == nil) else { throw ValidationError("give --dim D, or --embed MODEL") }
        if let dim, !(1...65_536).contains(dim) { throw ValidationError("--dim must be between 1 and 65536") }
        if let embed, !Embedders.names.contains(embed) {
            throw ValidationError("unknown embedder '\(embed)'; known: \(Embedders.names.joined(separator: ", "))")
        }
        if let metric { _ = try Metric(parsing: metric) }
        _ = try ElementType(parsing: elementType)
    }

    func run() throws {
        let database = try Database.open(at: target.db)
        defer { database.close() }
        let elements = try ElementType(parsing: elementType)
        if let embed {
            let embedder = try Embedders.make(embed)
            let c = try database.createCollection(
                target.collection, embedder: embedder, metric: try Metric(parsing: metric ?? "cosine"), elementType: elements)
            print(
                "created collection '\(c.name)' (\(c.dimension) dimensions, \(c.metric.rawValue), \(c.elementType.rawValue)), "
                    + "embedding text with \(embedder.modelName) (checksum \(embedder.modelChecksum))")
        } else {
            let c = try database.createCollection(
                target.collection, dimension: dim ?? 0, metric: try Metric(parsing: metric ?? "l2"), elementType: elements)
            print("created collection '\(c.name)' (\(c.dimension) dimensions, \(c.metric.rawValue), \(c.elementType.rawValue))")
        }
    }
}
