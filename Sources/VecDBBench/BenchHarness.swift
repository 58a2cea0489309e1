import Foundation
import VecDBDatasets
import VecDBKernels

/// Runs one `vecdb bench` configuration: measures VecDB, appends its rows to the output file,
/// runs the peers when asked, and prints a summary.
package enum BenchHarness {
    /// Runs the benchmark `options` describe.
    ///
    /// - Parameter options: validated settings (the shell checks ranges before calling).
    /// - Throws: `VecDBError` when data cannot be read or fetched, or the peers script fails.
    package static func run(_ options: BenchOptions) throws {
        let o = options
        let out = try BenchOutput(path: o.output)
        switch o.kind {
        case .exact:
            let data = try loadData(o, defaultMaxQueries: 1000)
            try ExactBenchmark(data: data, k: o.k, threads: o.threads, repeats: o.repeats).run(out)
            try runPeers(o, data)
            Summary.print(out.rows(), dataset: data.name)
        case .storage:
            let dir = DatasetCatalog().cacheDirectory + "/bench-storage.vecdb"
            try StorageBenchmark(rows: o.rows, directory: dir).run(out)
            try? FileManager.default.removeItem(atPath: dir)
        case .gemm:
            let mine = try GemmBenchmark(sizes: integers(o.sizes), threads: o.threads).run(out)
            if o.peers {
                fflush(nil)  // our rows before the peers' in a redirected log
                try Peers.run(["--kind", "gemm", "--output", o.output, "--threads", String(o.threads), "--sizes", o.sizes])
            }
            GemmBenchmark.summarize(mine, rows: out.rows(), threads: o.threads)
        case .recommend:
            throw VecDBError(.unsupported, "the recommend benchmark runs in the shell: vecdb bench recommend")
        case .embed:
            try EmbedBenchmark(threads: o.threads, runs: o.repeats, extraTexts: o.texts, peers: o.peers).run(output: o.output)
        case .cnn:
            try CNNBenchmark(epochs: o.epochs, batchSize: o.batchSize, threads: o.threads).run(out, checkpoint: o.checkpoint)
        case .hnsw:
            let data = try loadData(o, defaultMaxQueries: 10_000)
            try HNSWBenchmark(
                data: data, k: o.k, threads: o.threads, repeats: o.repeats, float16: o.float16, m: o.hnswM,
                efConstruction: o.efConstruction, efSweep: integers(o.efSweep), batch: o.batch,
                float16Traversal: o.float16Traversal
            ).run(out)
            try runPeers(
                o, data,
                [
                    "--m", String(o.hnswM), "--ef-construction", String(o.efConstruction),
                    "--ef-sweep", o.efSweep,
                ] + (o.batch ? ["--batch"] : []))
            RecallSummary.print(out.rows(), dataset: data.name)
        case .filter:
            let data = try loadData(o, defaultMaxQueries: 1000)
            let dir = DatasetCatalog().cacheDirectory + "/bench-filter-\(getpid()).vecdb"
            try FilterBenchmark(
                data: data, k: o.k, threads: o.threads, repeats: o.repeats, m: o.hnswM, efConstruction: o.efConstruction,
                efSweep: integers(o.efSweep), seed: 42
            ).run(out, directory: dir)
            try runPeers(
                o, data,
                ["--m", String(o.hnswM), "--ef-construction", String(o.efConstruction), "--ef-sweep", o.efSweep, "--seed", "42"]
                    + (o.peerSystems.map { ["--systems", $0] } ?? []))
            FilterSummary.print(out.rows(), dataset: data.name)
        case .ivf:
            let data = try loadData(o, defaultMaxQueries: 10_000)
            let nlist = o.nlist ?? defaultNlist(rows: data.base.count)
            if o.nlist == nil { printError("nlist \(nlist) = 4·√\(data.base.count) (the data's size; --nlist N sets it)") }
            try IVFBenchmark(
                data: data, k: o.k, threads: o.threads, repeats: o.repeats, nlist: nlist,
                nprobeSweep: integers(o.nprobeSweep), pqM: o.pqM
            ).run(out)
            try runPeers(o, data, ["--nlist", String(nlist), "--nprobe-sweep", o.nprobeSweep, "--pq-m", String(o.pqM)])
            IVFSummary.print(out.rows(), dataset: data.name)
        }
    }

    /// IVF lists for `rows` base vectors when none are given: 4·√n, the low end of FAISS's
    /// guidance (4·√n to 16·√n), so each list holds about √n / 4 rows; at least 1, at most n.
    package static func defaultNlist(rows: Int) -> Int {
        max(1, min(rows, Int((4 * Double(rows).squareRoot()).rounded())))
    }

    /// The integers of a comma-separated list, skipping what does not parse.
    static func integers(_ list: String) -> [Int] {
        list.split(separator: ",").compactMap { Int($0) }
    }

    /// The search benchmarks' data: `dataset`, or `base`/`queries`/`metric`.
    static func loadData(_ o: BenchOptions, defaultMaxQueries: Int) throws -> BenchData {
        try BenchData.load(
            dataset: o.dataset, base: o.base, queries: o.queries, metric: o.metric,
            maxQueries: o.maxQueries ?? defaultMaxQueries, threads: max(o.threads, 2))
    }

    /// With `peers`, runs the peers script on the same data and output, with `extra` arguments.
    static func runPeers(_ o: BenchOptions, _ data: BenchData, _ extra: [String] = []) throws {
        guard o.peers else { return }
        try Peers.run(
            data.peerArguments(kind: o.kind.rawValue, k: o.k, threads: o.threads, output: o.output)
                + ["--repeats", String(o.repeats)] + extra)
    }
}
