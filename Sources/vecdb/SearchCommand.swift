import ArgumentParser
import Foundation
import VecDB
import VecDBImport

/// `vecdb search DB COLLECTION (--vector 1,2,3 | --queries FILE) -k K [--json] [--filter EXPR] [--ef N] [--nprobe N]`.
struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "search", abstract: "Find the nearest neighbours of vectors.")

    @OptionGroup var target: CollectionArguments

    @Option(help: "One query vector, comma-separated.")
    var vector: String?

    @Option(help: "A query text, for a collection created with --embed.")
    var text: String?

    @Option(help: "A file of queries: .fvecs, .npy, .csv or JSON Lines.")
    var queries: String?

    @Option(name: .shortAndLong, help: "Neighbours per query.")
    var k: Int = 10

    @Option(help: "Only records whose payload matches this filter.")
    var filter: String?

    @Option(help: "HNSW candidate list size (larger: slower, more accurate).")
    var ef: Int?

    @Option(help: "IVF lists probed (larger: slower, more accurate).")
    var nprobe: Int?

    @Flag(help: "One JSON line per query: keys and distances in rank order.")
    var json = false

    func validate() throws {
        guard [vector != nil, queries != nil, text != nil].filter({ $0 }).count == 1 else {
            throw ValidationError("give exactly one of --vector, --queries and --text")
        }
        guard k >= 1 else { throw ValidationError("-k must be at least 1") }
        if let ef, ef < 1 { throw ValidationError("--ef must be at least 1") }
        if let nprobe, nprobe < 1 { throw ValidationError("--nprobe must be at least 1") }
        if let filter { _ = try Filter(parsing: filter) }
    }

    func run() throws {
        let f = try filter.map { try Filter(parsing: $0) }
        let (database, collection) = try target.open(readOnly: true)
        defer { database.close() }
        var qs: [[Float]]
        if let text {
            try Embedders.attach(to: collection)
            guard let embedder = collection.embedder else {
                throw VecDBError(
                    .invalidArgument, "collection '\(collection.name)' was created without an embedder; search it with --vector")
            }
            qs = try embedder.embed([text])
        } else {
            qs = try vector.map { [try QueryVectors.parse($0)] } ?? QueryVectors.read(contentsOf: queries ?? "")
        }
        // --ef applies to an HNSW index, --nprobe to an IVF one.
        let width = collection.index.flatMap { $0.kind == .hnsw ? ef : nprobe }
        let options = SearchOptions(filter: f, width: width)
        // One batch over one snapshot: a filter is resolved to rows once for all the queries.
        let all = try collection.search(queries: qs, k: k, options: options)
        for (i, results) in all.enumerated() {
            if json {
                let line: Payload = .object([
                    "query": .number(Double(i)),
                    "keys": .array(results.map { $0.key.json }),
                    "distances": .array(results.map { .number(Double($0.distance)) }),
                ])
                print(line.jsonText)
            } else {
                if qs.count > 1 { print("query \(i):") }
                for (rank, r) in results.enumerated() {
                    print("\(rank + 1)\t\(r.key)\t\(r.distance)\t\(r.payload?.jsonText ?? "")")
                }
            }
        }
    }
}
