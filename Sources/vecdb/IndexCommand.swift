import ArgumentParser
import Foundation
import VecDB

/// `vecdb index DB COLLECTION --type hnsw|ivf-flat|ivf-sq8|ivf-pq [--m M] [--ef-construction N]
/// [--traversal rows|float16] [--nlist N] [--ef N | --nprobe N] [--rerank N]`, `vecdb index DB COLLECTION --retrain`, and
/// payload indexes: `vecdb index DB COLLECTION --payload FIELD [--kind keyword|integer|float|bool]`,
/// `vecdb index DB COLLECTION --drop-payload FIELD`.
struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Build a collection's index (HNSW or IVF), persisted next to its segments.",
        discussion: """
            hnsw: a graph per segment (--m links per node, --ef-construction, --ef default search width). \
            --traversal float16 keeps a half-precision copy of the vectors with each graph (2 bytes per \
            component more) for searches to walk, and re-ranks what they find exactly: faster searches.
            ivf-flat, ivf-sq8, ivf-pq: k-means lists (--nlist, default 4·√n) shared by every segment; \
            ivf-pq stores --m one-byte sub-quantiser codes per vector (--rerank N re-ranks N candidates \
            exactly). --nprobe sets the default lists probed per search.
            --retrain trains an IVF index's centroids again on the stored vectors (see `vecdb stats`: drift).
            --payload FIELD indexes a payload field (a dotted path) for filters: --kind keyword (strings), \
            integer, float or bool (default keyword). Filtered searches, deletes and counts use it at once. \
            --drop-payload FIELD removes one; `vecdb stats` lists them.
            """)

    @OptionGroup var target: CollectionArguments

    @Option(help: "Index type: hnsw, ivf-flat, ivf-sq8 or ivf-pq.")
    var type: String = "hnsw"

    @Option(name: .customLong("m"), help: "HNSW links per node (default 16), or IVF-PQ sub-quantisers (must divide the dimension).")
    var m: Int?

    @Option(help: "HNSW candidate list size while building.")
    var efConstruction: Int = 200

    @Option(help: "Default HNSW candidate list size for searches of this collection (search --ef overrides it).")
    var ef: Int?

    @Option(help: "IVF lists (default 4·√n, at most n).")
    var nlist: Int?

    @Option(help: "Default IVF lists probed per search (search --nprobe overrides it).")
    var nprobe: Int?

    @Option(help: "IVF-PQ: candidates re-ranked exactly from the stored vectors (0: none).")
    var rerank: Int = 0

    @Option(help: "IVF k-means iterations.")
    var iterations: Int = 20

    @Flag(help: "Retrain the collection's IVF index on the vectors stored now.")
    var retrain = false

    @Option(help: "Index this payload field (a dotted path) for filters, instead of building a vector index.")
    var payload: String?

    @Option(help: "The payload index's kind: keyword, integer, float or bool.")
    var kind: String = "keyword"

    @Option(help: "Drop the payload index of this field.")
    var dropPayload: String?

    @Option(help: "HNSW: what searches walk, the stored rows or a float16 copy kept with the graph (rows, float16).")
    var traversal: String?

    @Option(help: "Build threads.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    static let types = ["hnsw", "ivf-flat", "ivf-sq8", "ivf-pq"]

    func validate() throws {
        guard payload == nil || dropPayload == nil else { throw ValidationError("give --payload or --drop-payload, not both") }
        guard PayloadIndexKind(rawValue: kind) != nil else {
            throw ValidationError("unknown payload index kind '\(kind)'; use one of keyword, integer, float, bool")
        }
        guard Self.types.contains(type) else {
            throw ValidationError("unknown index type '\(type)'; use one of \(Self.types.joined(separator: ", "))")
        }
        if type == "hnsw", let m, !(2...256).contains(m) { throw ValidationError("--m must be between 2 and 256 for hnsw") }
        if type == "ivf-pq", let m, m < 1 { throw ValidationError("--m must be at least 1 for ivf-pq") }
        if type == "ivf-flat" || type == "ivf-sq8", m != nil { throw ValidationError("--m applies to hnsw and ivf-pq, not \(type)") }
        guard efConstruction >= 1 else { throw ValidationError("--ef-construction must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        if let ef, ef < 1 { throw ValidationError("--ef must be at least 1") }
        if let nlist, nlist < 1 { throw ValidationError("--nlist must be at least 1") }
        if let nprobe, nprobe < 1 { throw ValidationError("--nprobe must be at least 1") }
        guard rerank >= 0 else { throw ValidationError("--rerank must be at least 0") }
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1") }
        if rerank > 0 && type != "ivf-pq" { throw ValidationError("--rerank applies to ivf-pq only") }
        if type == "hnsw" && nprobe != nil { throw ValidationError("--nprobe applies to IVF indexes; hnsw uses --ef") }
        if type.hasPrefix("ivf") && ef != nil { throw ValidationError("--ef applies to hnsw; IVF indexes use --nprobe") }
        if let traversal {
            guard type == "hnsw" else { throw ValidationError("--traversal applies to hnsw, not \(type)") }
            guard traversal == "rows" || traversal == "float16" else {
                throw ValidationError("unknown traversal '\(traversal)'; use rows or float16")
            }
        }
    }

    /// The IVF-PQ sub-quantisers when --m is not given: the largest divisor of the dimension
    /// not above min(64, d / 4).
    static func defaultPQ(dimension d: Int) -> Int {
        let cap = max(1, min(64, d / 4))
        return (1...cap).last { d % $0 == 0 } ?? 1
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
        let progress = terminal ? report : nil
        if let field = dropPayload {
            guard try collection.dropPayloadIndex(field: field) else {
                throw VecDBError(.notFound, "collection '\(collection.name)' has no payload index on '\(field)'")
            }
            print("dropped the payload index of '\(field)' of '\(collection.name)'")
            return
        }
        if let field = payload, let kind = PayloadIndexKind(rawValue: kind) {
            let d = try collection.createPayloadIndex(field: field, kind: kind)
            print(
                "built payload index \(d) over \(collection.count) records of '\(collection.name)' in "
                    + "\(String(format: "%.2f", Date().timeIntervalSince(start))) s")
            return
        }
        if retrain {
            let before = collection.indexDrift
            try collection.retrainIndex(threads: threads, progress: progress)
            if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
            print(
                "retrained \(collection.index?.summary ?? "index") of '\(collection.name)' over \(collection.count) vectors in "
                    + "\(String(format: "%.2f", Date().timeIntervalSince(start))) s; drift \(before.map { String(format: "%.3f", $0) } ?? "-") -> "
                    + "\(collection.indexDrift.map { String(format: "%.3f", $0) } ?? "-")")
            return
        }
        if type == "hnsw" {
            let options = HNSWIndexOptions(
                m: m ?? 16, efConstruction: efConstruction, defaultEF: ef, float16Traversal: traversal == "float16")
            try collection.createIndex(.hnsw(options), threads: threads, progress: progress)
        } else {
            let encoding: IVFEncoding
            switch type {
            case "ivf-flat": encoding = .flat
            case "ivf-sq8": encoding = .sq8
            default: encoding = .pq(subquantizers: m ?? Self.defaultPQ(dimension: collection.dimension))
            }
            let n = collection.count
            let lists = nlist ?? max(1, min(n, Int((4 * Double(n).squareRoot()).rounded())))
            let options = IVFIndexOptions(
                encoding: encoding, nlist: lists, iterations: iterations, rerank: rerank, defaultNprobe: nprobe)
            try collection.createIndex(.ivf(options), threads: threads, progress: progress)
        }
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
        print(
            "built \(collection.index?.summary ?? type) index over \(collection.count) vectors of '\(collection.name)' "
                + "in \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
    }
}
