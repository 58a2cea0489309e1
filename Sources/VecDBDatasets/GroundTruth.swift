import Foundation
import VecDBKernels

/// Exact nearest neighbours, computed once and cached as `.ivecs`.
public enum GroundTruth {
    /// The exact top-`k` row indices of every query, by brute force.
    public static func compute(
        base: VectorMatrix<Float>, queries: VectorMatrix<Float>, metric: Metric,
        k: Int, threads: Int
    ) throws(VecDBError) -> VectorMatrix<Int32> {
        guard base.dimension == queries.dimension else {
            throw VecDBError(.dimensionMismatch, "queries have \(queries.dimension) dimensions, base vectors have \(base.dimension)")
        }
        let search = ExactSearch(metric: metric, dimension: base.dimension)
        let results = try RowMatrix.with(base.values, dimension: base.dimension) { (b: RowMatrix) throws(VecDBError) in
            try RowMatrix.with(queries.values, dimension: queries.dimension) { (q: RowMatrix) throws(VecDBError) in
                try search.searchBatch(q, in: b, k: k, threads: threads)
            }
        }
        let depth = min(k, base.count)
        var ids = [Int32]()
        ids.reserveCapacity(results.count * depth)
        for r in results { ids += r.prefix(depth).map { Int32(truncatingIfNeeded: $0.id) } }
        return VectorMatrix(values: ids, count: results.count, dimension: depth)
    }

    /// The cached ground truth for a pair of files, computing and caching it if needed.
    ///
    /// The cache key covers both paths, their sizes and modification times, and the metric.
    public static func cached(
        basePath: String, queriesPath: String, metric: Metric, cacheDirectory: String,
        threads: Int
    ) throws(VecDBError) -> (path: String, matrix: VectorMatrix<Int32>) {
        var key = "\(metric.rawValue)"
        for p in [basePath, queriesPath] {
            let attrs = try? FileManager.default.attributesOfItem(atPath: p)
            let size = (attrs?[.size] as? NSNumber)?.intValue ?? -1
            let mtime = (attrs?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            key += "|\(URL(fileURLWithPath: p).standardizedFileURL.path)|\(size)|\(mtime)"
        }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        let dir = cacheDirectory + "/groundtruth"
        let path = dir + "/" + String(h, radix: 16) + ".ivecs"
        if FileManager.default.fileExists(atPath: path) {
            return (path, try VecsFormat.readIvecs(path))
        }
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let base = try VectorFiles.read(basePath)
        let queries = try VectorFiles.read(queriesPath)
        let gt = try compute(base: base, queries: queries, metric: metric, k: DatasetCatalog.groundTruthDepth, threads: threads)
        try writeFileAtomically(VecsFormat.encodeIvecs(gt), to: path)
        return (path, gt)
    }
}

/// Reads vectors from any supported file, by extension.
public enum VectorFiles {
    /// `.fvecs`, `.bvecs`, `.npy`, `.csv` (optionally `.gz`), or IDX image files (`*-ubyte`).
    public static func read(_ path: String, limit: Int = .max) throws(VecDBError) -> VectorMatrix<Float> {
        let lower = path.lowercased()
        if lower.hasSuffix(".fvecs") { return try VecsFormat.readFvecs(path, limit: limit) }
        if lower.hasSuffix(".bvecs") { return try VecsFormat.readBvecs(path, limit: limit) }
        if lower.hasSuffix(".npy") { return try NumpyFormat.readMatrix(path).prefix(limit) }
        if lower.hasSuffix(".csv") || lower.hasSuffix(".csv.gz") { return try CSVFormat.readFloats(path).prefix(limit) }
        if lower.contains("ubyte") { return try IDXFormat.readImages(path).prefix(limit) }
        throw VecDBError(.unsupported, "cannot tell the format of \(path); expected .fvecs, .bvecs, .npy, .csv or an IDX file", path: path)
    }
}
