import Foundation
import VecDBKernels

/// Appends benchmark rows to a JSON Lines file and echoes a short form to standard output.
///
/// Rows are the `Codable` types of `BenchRows.swift`, encoded on one line each with sorted keys
/// and unescaped slashes. Search rows carry exactly `system`, `dataset`, `index`, `params`, `k`,
/// `recall`, `qps`, `build_seconds`, `memory_bytes`, `threads`. Other benchmarks carry `system`,
/// `benchmark`, `params`, and figures named with their unit (`gflops`, `vectors_per_second`,
/// `p50_us`, …).
package struct BenchOutput: Sendable {
    /// The JSON Lines file rows are appended to.
    package let path: String

    /// Opens (creating it and its directory if needed) the output file.
    ///
    /// - Parameter path: the JSON Lines file; existing rows are kept.
    /// - Throws: `VecDBError` with code `io` when the file cannot be created.
    package init(path: String) throws {
        self.path = path
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw VecDBError(.io, "cannot create \(path)", path: path)
            }
        }
    }

    /// The encoder every row goes through.
    package static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    /// One row as its line of JSON, without the newline.
    package static func line(_ row: some Encodable) throws -> String {
        String(decoding: try encoder().encode(row), as: UTF8.self)
    }

    /// Appends a search row (rounding recall, qps and build seconds) and prints it.
    func searchRow<P: Codable & Sendable>(
        system: String, dataset: String, index: String, params: P, k: Int, recall: Double,
        qps: Double, buildSeconds: Double, memoryBytes: Int, threads: Int
    ) throws {
        let row = SearchRow(
            system: system, dataset: dataset, index: index, params: params, k: k, recall: Self.round(recall, 4),
            qps: Self.round(qps, 2), buildSeconds: Self.round(buildSeconds, 4), memoryBytes: memoryBytes,
            threads: threads)
        try append(row)
        print(
            String(
                format: "%-8@ %-18@ %-22@ recall=%.4f qps=%10.1f build=%.2fs mem=%.1fMB  %@", system, dataset, index,
                recall, qps, buildSeconds, Double(memoryBytes) / 1e6, Self.describe(params)))
    }

    /// Appends a figure row (its figures rounded to 4 digits) and prints it (with the figures as measured).
    func figureRow<P: Codable & Sendable, F: BenchFigures>(system: String, benchmark: String, params: P, figures: F) throws {
        try append(FigureRow(system: system, benchmark: benchmark, params: params, figures: figures.rounded(4)))
        let values = Self.fields(figures).sorted { $0.key < $1.key }
        let f = values.map { "\($0.key)=\(String(format: "%.3f", $0.value.number ?? 0))" }.joined(separator: " ")
        print("\(system) \(benchmark) \(f)  \(Self.describe(params))")
    }

    /// Appends one row as a line of JSON.
    ///
    /// - Throws: `VecDBError` with code `io` when the file cannot be opened.
    package func append(_ row: some Encodable) throws {
        let data = Data((try Self.line(row) + "\n").utf8)
        guard let h = FileHandle(forWritingAtPath: path) else { throw VecDBError(.io, "cannot open \(path)", path: path) }
        defer { try? h.close() }
        h.seekToEndOfFile()
        h.write(data)
    }

    /// All rows of the file, ours and the peers', for summaries; lines that are not objects are skipped.
    package func rows() -> [BenchRecord] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        let decoder = JSONDecoder()
        return text.split(separator: "\n").compactMap { try? decoder.decode(BenchRecord.self, from: Data($0.utf8)) }
    }

    /// The fields of an encodable value by key (empty when it is not an object).
    static func fields(_ value: some Encodable) -> [String: BenchValue] {
        guard let data = try? encoder().encode(value) else { return [:] }
        return (try? JSONDecoder().decode([String: BenchValue].self, from: data)) ?? [:]
    }

    /// `key=value,…` in key order, for the lines printed with each row.
    static func describe(_ params: some Encodable) -> String {
        fields(params).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    /// `v` rounded to `digits` decimal places.
    package static func round(_ v: Double, _ digits: Int) -> Double {
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

/// Writes a line to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
