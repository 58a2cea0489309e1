import Foundation
import VecDBDatasets
import VecDBKernels

/// The vectors a search benchmark runs on, with their ground truth.
struct BenchData {
    var name: String
    var metric: Metric
    var basePath: String
    var queriesPath: String
    var groundTruthPath: String
    var base: VectorMatrix<Float>
    var queries: VectorMatrix<Float>
    var truth: [[Int32]]

    /// Loads a named data set (fetching it if needed), or a pair of files with a metric.
    static func load(
        dataset: String?, base: String?, queries: String?, metric: String?, maxQueries: Int,
        threads: Int
    ) throws -> BenchData {
        let catalog = DatasetCatalog()
        if let dataset {
            let ann = try catalog.ann(dataset, threads: threads, log: { printError($0) })
            return try load(
                name: dataset, metric: ann.metric, basePath: ann.basePath, queriesPath: ann.queriesPath,
                gtPath: ann.groundTruthPath, maxQueries: maxQueries)
        }
        guard let base, let queries else {
            throw VecDBError(.invalidArgument, "give --dataset NAME, or --base FILE and --queries FILE with --metric")
        }
        let m = try Metric(parsing: metric ?? "l2")
        let gt = try GroundTruth.cached(
            basePath: base, queriesPath: queries, metric: m, cacheDirectory: catalog.cacheDirectory,
            threads: threads)
        let name = ((base as NSString).lastPathComponent as NSString).deletingPathExtension
        return try load(name: name, metric: m, basePath: base, queriesPath: queries, gtPath: gt.path, maxQueries: maxQueries)
    }

    static func load(
        name: String, metric: Metric, basePath: String, queriesPath: String, gtPath: String,
        maxQueries: Int
    ) throws -> BenchData {
        let base = try VectorFiles.read(basePath)
        let queries = try VectorFiles.read(queriesPath, limit: maxQueries)
        let gt = try VecsFormat.readIvecs(gtPath, limit: queries.count)
        guard gt.count == queries.count else {
            throw VecDBError(.malformedFile, "\(gtPath) has \(gt.count) rows for \(queries.count) queries", path: gtPath)
        }
        return BenchData(
            name: name, metric: metric, basePath: basePath, queriesPath: queriesPath, groundTruthPath: gtPath,
            base: base, queries: queries, truth: (0..<gt.count).map { gt.row($0) })
    }

    /// The base rows as a collection stores them: unit length for cosine, so the scan and the
    /// graph use the inner product.
    func storedRows() -> [Float] {
        guard metric == .cosine else { return base.values }
        let d = base.dimension
        var rows = base.values
        for r in 0..<base.count {
            rows.replaceSubrange((r * d)..<((r + 1) * d), with: ExactSearch.normalized(base.row(r)))
        }
        return rows
    }

    /// The queries as searches take them: unit length for cosine.
    func preparedQueries() -> [[Float]] {
        (0..<queries.count).map { metric == .cosine ? ExactSearch.normalized(queries.row($0)) : queries.row($0) }
    }

    /// The arguments that point the peers script at the same files.
    func peerArguments(kind: String, k: Int, threads: Int, output: String) -> [String] {
        [
            "--kind", kind, "--dataset", name, "--base", basePath, "--queries", queriesPath, "--groundtruth", groundTruthPath,
            "--metric", metric.rawValue, "--k", String(k), "--threads", String(threads), "--output", output,
            "--max-queries", String(queries.count),
        ]
    }
}
