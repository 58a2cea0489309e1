import Foundation
import VecDBKernels

/// Appends benchmark rows to a JSON Lines file and echoes a short form to standard output.
///
/// Search rows carry exactly `system`, `dataset`, `index`, `params`, `k`, `recall`, `qps`,
/// `build_seconds`, `memory_bytes`, `threads`. Other benchmarks carry `system`, `benchmark`,
/// `params`, and figures named with their unit (`gflops`, `vectors_per_second`, `p50_us`, …).
struct BenchOutput {
    let path: String

    init(path: String) throws {
        self.path = path
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw VecDBError(.io, "cannot create \(path)", path: path)
            }
        }
    }

    func searchRow(system: String, dataset: String, index: String, params: [String: Any], k: Int, recall: Double,
                   qps: Double, buildSeconds: Double, memoryBytes: Int, threads: Int) throws {
        try append([
            "system": system, "dataset": dataset, "index": index, "params": params, "k": k,
            "recall": round(recall, 4), "qps": round(qps, 2), "build_seconds": round(buildSeconds, 4),
            "memory_bytes": memoryBytes, "threads": threads,
        ])
        print(String(format: "%-8@ %-18@ %-22@ recall=%.4f qps=%10.1f build=%.2fs mem=%.1fMB  %@", system, dataset, index,
                     recall, qps, buildSeconds, Double(memoryBytes) / 1e6, Self.describe(params)))
    }

    func figureRow(system: String, benchmark: String, params: [String: Any], figures: [String: Double]) throws {
        var row: [String: Any] = ["system": system, "benchmark": benchmark, "params": params]
        for (k, v) in figures { row[k] = round(v, 4) }
        try append(row)
        let f = figures.sorted { $0.key < $1.key }.map { "\($0.key)=\(String(format: "%.3f", $0.value))" }.joined(separator: " ")
        print("\(system) \(benchmark) \(f)  \(Self.describe(params))")
    }

    func append(_ row: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys, .withoutEscapingSlashes])
        guard let h = FileHandle(forWritingAtPath: path) else { throw VecDBError(.io, "cannot open \(path)", path: path) }
        defer { try? h.close() }
        h.seekToEndOfFile()
        h.write(data + Data("\n".utf8))
    }

    /// All rows of the file, for summaries.
    func rows() -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    static func describe(_ params: [String: Any]) -> String {
        params.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    func round(_ v: Double, _ digits: Int) -> Double {
        let p = pow(10.0, Double(digits))
        return (v * p).rounded() / p
    }
}

/// Monotonic wall-clock seconds.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Recall@k of `found` against the first `k` ids of `truth`.
func recall(found: [[UInt64]], truth: [[Int32]], k: Int) -> Double {
    guard !found.isEmpty else { return 0 }
    var hits = 0
    for (f, t) in zip(found, truth) {
        let want = Set(t.prefix(k).map { UInt64($0) })
        hits += f.prefix(k).filter { want.contains($0) }.count
    }
    return Double(hits) / Double(found.count * k)
}
