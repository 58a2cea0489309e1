import ArgumentParser
import Foundation
import VecDBBench
import VecDBDatasets
import VecDBKernels
import VecDBRecommend

/// `vecdb bench KIND --dataset NAME --threads N --output FILE [--peers]`.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure VecDB, and with --peers FAISS, hnswlib, USearch and NumPy, in one run.",
        discussion: """
            Writes JSON Lines to --output: one object per configuration measured. Search rows have the \
            fields system, dataset, index, params, k, recall, qps, build_seconds, memory_bytes, threads. \
            gemm rows have system, benchmark "sgemm", params, gflops, threads (NumPy's with --peers); \
            cnn rows (one per epoch on Fashion-MNIST) have epoch_seconds, images_per_second, train_loss, \
            test_accuracy. embed rows have sentences_per_second, tokens_per_second and params.time_split \
            (NumPy's forward pass with --peers, plus an embed-agreement row with min_cosine on 200 titles).
            """
    )

    @Argument(help: "What to measure: \(BenchKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var kind: BenchKind

    @Option(help: "A data set name (see `vecdb dataset list`).")
    var dataset: String?

    @Option(help: "Base vectors (.fvecs or .npy), instead of --dataset.")
    var base: String?

    @Option(help: "Query vectors (.fvecs or .npy), with --base.")
    var queries: String?

    @Option(help: "Metric for --base/--queries: l2, ip or cosine.")
    var metric: String?

    @Option(help: "Threads.")
    var threads: Int = 1

    @Option(help: "JSON Lines file the rows are appended to.")
    var output: String

    @Option(help: "Neighbours per query.")
    var k: Int = 10

    @Option(help: "Queries measured (the first N of the query file).")
    var maxQueries: Int?

    @Option(help: "Passes over the query set; the median pass gives qps.")
    var repeats: Int = 3

    @Option(name: .customLong("m"), help: "HNSW: links per node.")
    var hnswM: Int = 16

    @Option(help: "HNSW: candidate list size while building.")
    var efConstruction: Int = 200

    @Option(help: "HNSW: the ef values swept, comma-separated.")
    var efSweep: String = "10,16,24,32,48,64,96,128,192,256,384,512"

    @Option(help: "IVF: inverted lists (k-means centroids); default 4·√n of the base set (FAISS's guidance is 4·√n to 16·√n).")
    var nlist: Int?

    @Option(help: "IVF: the nprobe values swept, comma-separated.")
    var nprobeSweep: String = "1,2,4,8,16,32,64,128"

    @Option(help: "IVF-PQ: sub-quantisers of 8 bits (must divide the dimension).")
    var pqM: Int = 16

    @Option(help: "storage: rows ingested (128-d).")
    var rows: Int = 1_000_000

    @Option(help: "gemm: the square matrix sizes, comma-separated.")
    var sizes: String = "64,128,256,512,1024,2048"

    @Option(help: "cnn: training epochs over Fashion-MNIST.")
    var epochs: Int = 5

    @Option(help: "cnn: mini-batch size.")
    var batchSize: Int = 64

    @Option(help: "cnn: also save the trained weights to this safetensors file.")
    var checkpoint: String?

    @Flag(help: "Also run the peers on the same data and append their rows.")
    var peers = false

    @Option(help: "filter: with --peers, which peers run, comma-separated (faiss,milvus-lite; default both).")
    var peerSystems: String?

    @Flag(help: "hnsw: store the vectors in half precision (the graph reads them in place).")
    var float16 = false

    @Option(help: "hnsw: what searches walk: rows (the stored vectors) or float16 (a half-precision copy, re-ranked exactly).")
    var traversal: String = "rows"

    @Flag(
        help:
            "hnsw: also search the whole query set in one call spread over --threads (implied by --threads above 1); the peers do the same."
    )
    var batch = false

    func validate() throws {
        if let dataset { try DatasetCatalog.validate(dataset) }
        if kind.needsVectors && dataset == nil && (base == nil || queries == nil) {
            throw ValidationError("give --dataset NAME, or --base FILE and --queries FILE")
        }
        if let metric { _ = try Metric(parsing: metric) }
        guard traversal == "rows" || traversal == "float16" else {
            throw ValidationError("unknown --traversal '\(traversal)'; use rows or float16")
        }
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        if let nlist, nlist < 1 { throw ValidationError("--nlist must be at least 1") }
        guard pqM >= 1 else { throw ValidationError("--pq-m must be at least 1") }
        let probes = nprobeSweep.split(separator: ",").map { Int($0) }
        guard !probes.isEmpty, probes.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw ValidationError("--nprobe-sweep must be comma-separated integers ≥ 1, got '\(nprobeSweep)'")
        }
        let sizeList = sizes.split(separator: ",").map { Int($0) }
        guard !sizeList.isEmpty, sizeList.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw ValidationError("--sizes must be comma-separated integers ≥ 1, got '\(sizes)'")
        }
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
        guard batchSize >= 2 else { throw ValidationError("--batch-size must be at least 2") }
        guard (1...100).contains(k) else { throw ValidationError("-k must be between 1 and 100 (the ground-truth depth)") }
    }

    @Option(help: "recommend: the model (\(ModelRegistry.names.joined(separator: ", ")), randproj).")
    var model = "ease"

    @Option(help: "recommend: an interaction file instead of --dataset (RecBole .inter or CSV).")
    var interactions: String?

    @Option(help: "embed: also measure this UTF-8 file of texts, one a line.")
    var texts: String?

    @Option(help: "recommend: an image encoder checkpoint; adds the latency of encoding one image (Fashion-MNIST test images).")
    var encoder: String?

    func run() throws {
        if kind == .recommend {
            try RecommendBenchmark(
                dataset: dataset, interactions: interactions, model: model, k: k, output: output, encoder: encoder
            ).run()
            return
        }
        try BenchHarness.run(options)
    }

    /// The flags as the harness takes them.
    var options: BenchOptions {
        var o = BenchOptions(kind: kind, output: output)
        o.dataset = dataset
        o.base = base
        o.queries = queries
        o.metric = metric
        o.threads = threads
        o.k = k
        o.maxQueries = maxQueries
        o.repeats = repeats
        o.hnswM = hnswM
        o.efConstruction = efConstruction
        o.efSweep = efSweep
        o.nlist = nlist
        o.nprobeSweep = nprobeSweep
        o.pqM = pqM
        o.rows = rows
        o.sizes = sizes
        o.epochs = epochs
        o.batchSize = batchSize
        o.checkpoint = checkpoint
        o.peers = peers
        o.peerSystems = peerSystems
        o.float16 = float16
        o.batch = batch
        o.float16Traversal = traversal == "float16"
        o.texts = texts
        return o
    }
}

extension BenchKind: ExpressibleByArgument {}
