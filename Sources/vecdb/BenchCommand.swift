import ArgumentParser
import Foundation
import VecDBDatasets
import VecDBKernels

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
            test_accuracy.
            """
    )

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case exact
        case hnsw
        case ivf
        case storage
        case gemm
        case cnn
    }

    @Argument(help: "What to measure: \(Kind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var kind: Kind

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

    @Option(help: "IVF: inverted lists (k-means centroids).")
    var nlist: Int = 1024

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

    @Flag(help: "hnsw: store the vectors in half precision (the graph reads them in place).")
    var float16 = false

    func validate() throws {
        if let dataset { try DatasetCatalog.validate(dataset) }
        let needsData = ![.storage, .gemm, .cnn].contains(kind)
        if needsData && dataset == nil && (base == nil || queries == nil) {
            throw ValidationError("give --dataset NAME, or --base FILE and --queries FILE")
        }
        if let metric { _ = try Metric(parsing: metric) }
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard nlist >= 1 else { throw ValidationError("--nlist must be at least 1") }
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

    func run() throws {
        let out = try BenchOutput(path: output)
        switch kind {
        case .exact:
            let data = try loadData(defaultMaxQueries: 1000)
            try ExactBenchmark(data: data, k: k, threads: threads, repeats: repeats).run(out)
            try runPeers(.exact, data)
            Summary.print(out.rows(), dataset: data.name)
        case .storage:
            let dir = DatasetCatalog().cacheDirectory + "/bench-storage.vecdb"
            try StorageBenchmark(rows: rows, directory: dir).run(out)
            try? FileManager.default.removeItem(atPath: dir)
        case .gemm:
            let mine = try GemmBenchmark(sizes: sizes.split(separator: ",").compactMap { Int($0) }, threads: threads).run(out)
            if peers {
                fflush(nil) // our rows before the peers' in a redirected log
                try Peers.run(["--kind", "gemm", "--output", output, "--threads", String(threads), "--sizes", sizes])
            }
            GemmBenchmark.summarize(mine, rows: out.rows(), threads: threads)
        case .cnn:
            try CNNBenchmark(epochs: epochs, batchSize: batchSize, threads: threads).run(out, checkpoint: checkpoint)
        case .hnsw:
            let data = try loadData(defaultMaxQueries: 10_000)
            let sweep = efSweep.split(separator: ",").compactMap { Int($0) }
            try HNSWBenchmark(data: data, k: k, threads: threads, repeats: repeats, float16: float16, M: hnswM, efConstruction: efConstruction,
                              efSweep: sweep).run(out)
            try runPeers(.hnsw, data, ["--m", String(hnswM), "--ef-construction", String(efConstruction), "--ef-sweep", efSweep])
            RecallSummary.print(out.rows(), dataset: data.name)
        case .ivf:
            let data = try loadData(defaultMaxQueries: 10_000)
            let sweep = nprobeSweep.split(separator: ",").compactMap { Int($0) }
            try IVFBenchmark(data: data, k: k, threads: threads, repeats: repeats, nlist: nlist, nprobeSweep: sweep,
                             pqM: pqM).run(out)
            try runPeers(.ivf, data, ["--nlist", String(nlist), "--nprobe-sweep", nprobeSweep, "--pq-m", String(pqM)])
            IVFSummary.print(out.rows(), dataset: data.name)
        }
    }
}

extension BenchCommand {
    /// The search benchmarks' data: `--dataset`, or `--base`/`--queries`/`--metric`.
    func loadData(defaultMaxQueries: Int) throws -> BenchData {
        try BenchData.load(dataset: dataset, base: base, queries: queries, metric: metric,
                           maxQueries: maxQueries ?? defaultMaxQueries, threads: max(threads, 2))
    }

    /// With `--peers`, runs the peers script on the same data and output, with `extra` arguments.
    func runPeers(_ kind: Kind, _ data: BenchData, _ extra: [String] = []) throws {
        guard peers else { return }
        try Peers.run(data.peerArguments(kind: kind.rawValue, k: k, threads: threads, output: output)
                      + ["--repeats", String(repeats)] + extra)
    }
}

/// Prints our queries per second against each peer's, from the rows of one output file.
enum Summary {
    static func print(_ rows: [[String: Any]], dataset: String) {
        let mine = rows.filter { $0["system"] as? String == "vecdb" && $0["dataset"] as? String == dataset }
        let theirs = rows.filter { ($0["system"] as? String ?? "vecdb") != "vecdb" && $0["dataset"] as? String == dataset }
        guard let best = mine.compactMap({ $0["qps"] as? Double }).max(), !theirs.isEmpty else { return }
        Swift.print("summary (\(dataset)): vecdb \(String(format: "%.1f", best)) qps")
        for row in theirs {
            guard let qps = row["qps"] as? Double, qps > 0 else { continue }
            Swift.print(String(format: "  vs %@ %@: %.1f qps, ratio %.2f", row["system"] as? String ?? "?",
                               row["index"] as? String ?? "?", qps, best / qps))
        }
    }
}
