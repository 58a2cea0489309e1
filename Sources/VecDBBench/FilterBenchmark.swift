import Foundation
import VecDB
import VecDBKernels

/// Filtered search (`vecdb bench filter`): the base vectors go into a collection with an HNSW
/// index and synthetic payloads from ``FilterPayloads``, with payload indexes on the three
/// fields; then each filter of ``FilterBenchmark/filters`` (50 %, 10 %, 1 % and 0.1 % of the
/// rows, by range, `in` and equality) and the unfiltered baseline are searched over an ef
/// sweep, one query at a time. Recall is against brute force over the matching rows only.
struct FilterBenchmark {
    let data: BenchData
    let k: Int
    let threads: Int
    let repeats: Int
    let m: Int
    let efConstruction: Int
    let efSweep: [Int]
    let seed: UInt64

    /// One filter of the benchmark: a name for its shape, its text, and its nominal share.
    struct Case {
        var shape: String
        var text: String
        var nominal: Double
    }

    /// The filters: for each share s in {0.5, 0.1, 0.01, 0.001}, an integer range, a float
    /// range and a keyword `in` list; at 0.001 also keyword and integer equality.
    static var filters: [Case] {
        var out: [Case] = []
        for s in [0.5, 0.1, 0.01, 0.001] {
            let n = Int((1000 * s).rounded())
            out.append(Case(shape: "range-int", text: "num < \(n)", nominal: s))
            out.append(Case(shape: "range-float", text: "price < \(s)", nominal: s))
            out.append(Case(shape: "in-keyword", text: "kw in [" + (0..<n).map { "'k\($0)'" }.joined(separator: ", ") + "]", nominal: s))
        }
        out.append(Case(shape: "eq-keyword", text: "kw = 'k7'", nominal: 0.001))
        out.append(Case(shape: "eq-int", text: "num = 7", nominal: 0.001))
        return out
    }

    func run(_ out: BenchOutput, directory: String) throws {
        try? FileManager.default.removeItem(atPath: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = try Database.open(at: directory)
        defer { db.close() }
        let c = try db.createCollection("bench", dimension: data.base.dimension, metric: data.metric)
        let n = data.base.count
        let t0 = now()
        for start in stride(from: 0, to: n, by: 10_000) {
            try c.upsert(
                (start..<min(n, start + 10_000)).map {
                    Record(key: .int(UInt64($0)), vector: data.base.row($0), payload: FilterPayloads.payload(row: $0, seed: seed))
                })
        }
        try c.flush()
        // A bulk load seals a segment every memtable's worth of rows, and each segment gets its
        // own graph; merged into one, the collection is searched as one graph, as the peers'
        // single index is.
        try c.compact()
        printError(String(format: "vecdb: %d rows with payloads stored and compacted in %.2f s", n, now() - t0))
        let t1 = now()
        try c.createIndex(.hnsw(HNSWIndexOptions(m: m, efConstruction: efConstruction)), threads: threads)
        let build = now() - t1
        printError(String(format: "vecdb: HNSW built in %.2f s", build))
        let collectionBytes = c.stats().diskBytes
        for (field, kind) in [("kw", PayloadIndexKind.keyword), ("num", .integer), ("price", .float)] {
            let before = c.stats().payloadIndexBytes
            let t = now()
            try c.createPayloadIndex(field: field, kind: kind)
            let seconds = now() - t
            let bytes = c.stats().payloadIndexBytes - before
            try out.figureRow(
                system: "vecdb", benchmark: "payload-index",
                params: PayloadIndexParams(dataset: data.name, field: field, kind: kind.rawValue, rows: n),
                figures: PayloadIndexFigures(
                    buildSeconds: seconds, indexBytes: Double(bytes), collectionBytes: Double(collectionBytes),
                    diskShare: Double(bytes) / Double(max(1, collectionBytes))))
        }
        let queries = data.preparedQueries()
        // The unfiltered baseline, against the data set's ground truth.
        try sweep(
            c, queries: queries, filter: nil, text: "", shape: "none", selectivity: 1, truth: data.truth.map { $0.map { UInt64($0) } }, out,
            build)
        for f in Self.filters {
            let filter = try Filter(parsing: f.text)
            let matches = try c.count(where: filter)
            // Brute force over the matching rows: the exact search of the filtered rows.
            var truth: [[UInt64]] = []
            for q in queries {
                truth.append(
                    try c.search(q, k: k, options: SearchOptions(filter: filter, exact: true, includePayloads: false)).map {
                        Self.integer($0.key)
                    })
            }
            try sweep(
                c, queries: queries, filter: filter, text: f.text, shape: f.shape, selectivity: Double(matches) / Double(max(1, n)),
                truth: truth,
                out, build)
        }
    }

    static func integer(_ key: Key) -> UInt64 {
        if case .int(let v) = key { return v }
        return .max
    }

    func sweep(
        _ c: VecDB.Collection, queries: [[Float]], filter: Filter?, text: String, shape: String, selectivity: Double, truth: [[UInt64]],
        _ out: BenchOutput, _ build: Double
    ) throws {
        for ef in efSweep {
            // Keys and distances only, as the peers return them.
            let options = SearchOptions(filter: filter, width: ef, includePayloads: false)
            for q in queries.prefix(10) { _ = try c.search(q, k: k, options: options) }
            var totals: [(Double, [Double], [[UInt64]])] = []
            for _ in 0..<repeats {
                var latencies: [Double] = []
                var found: [[UInt64]] = []
                latencies.reserveCapacity(queries.count)
                let start = now()
                for q in queries {
                    let t = now()
                    let hits = try c.search(q, k: k, options: options)
                    latencies.append(now() - t)
                    found.append(hits.map { Self.integer($0.key) })
                }
                totals.append((now() - start, latencies, found))
            }
            totals.sort { $0.0 < $1.0 }
            let median = totals[totals.count / 2]
            let best = (total: median.0, latencies: median.1, found: median.2)
            var hits = 0
            var want = 0
            for (f, t) in zip(best.found, truth) {
                let expected = Set(t.prefix(k))
                want += expected.count
                hits += f.prefix(k).filter { expected.contains($0) }.count
            }
            let p50 = best.latencies.sorted()[best.latencies.count / 2]
            try out.searchRow(
                system: "vecdb", dataset: data.name, index: "HNSW",
                params: FilterSearchParams(
                    m: m, efConstruction: efConstruction, ef: ef, repeats: repeats, filter: text,
                    shape: shape, selectivity: (selectivity * 10_000).rounded() / 10_000, p50Milliseconds: (p50 * 1e6).rounded() / 1e3,
                    payloadIndex: filter != nil),
                k: k, recall: want == 0 ? 1 : Double(hits) / Double(want), qps: Double(queries.count) / best.total,
                buildSeconds: build, memoryBytes: 0, threads: threads)
        }
    }
}

/// The synthetic payloads of `vecdb bench filter`, the same in the peers script: row `i` draws
/// `h = splitmix64(seed + i)` and gets `kw` = "k" + (h mod 1000) (a keyword of 1,000 values),
/// `num` = (h >> 10) mod 1000 (an integer) and `price` = ((h >> 20) mod 1,000,000) / 1,000,000 (a
/// float in [0, 1)), each uniform, so `num < 1000·s`, `price < s` and an `in` list of 1000·s
/// keywords each match a share s of the rows.
enum FilterPayloads {
    static func payload(row: Int, seed: UInt64) -> Payload {
        // SeededGenerator's first output for seed + row is splitmix64(seed + row).
        var g = SeededGenerator(seed: seed &+ UInt64(row))
        let h = g.next()
        return .object([
            "kw": .string("k\(h % 1000)"), "num": .integer(Int64((h >> 10) % 1000)),
            "price": .number(Double((h >> 20) % 1_000_000) / 1_000_000),
        ])
    }
}

/// A filtered search's settings (`params` of a `filter` row).
struct FilterSearchParams: Codable, Sendable {
    var m: Int
    var efConstruction: Int
    var ef: Int
    var repeats: Int
    /// The filter's text ("" for the unfiltered baseline).
    var filter: String
    /// range-int, range-float, in-keyword, eq-keyword, eq-int, or none.
    var shape: String
    /// The share of rows the filter matches, measured (1.0 for the baseline).
    var selectivity: Double
    /// The median latency of one query, in milliseconds.
    var p50Milliseconds: Double
    /// Whether payload indexes answered the filter.
    var payloadIndex: Bool

    enum CodingKeys: String, CodingKey {
        case m = "M"
        case efConstruction, ef, repeats, filter, shape, selectivity
        case p50Milliseconds = "p50_ms"
        case payloadIndex = "payload_index"
    }
}

/// What a payload index's build was measured on.
struct PayloadIndexParams: Codable, Sendable {
    var dataset: String
    var field: String
    var kind: String
    var rows: Int
}

/// A payload index's build time and size against the collection's.
struct PayloadIndexFigures: BenchFigures {
    var buildSeconds: Double
    var indexBytes: Double
    var collectionBytes: Double
    var diskShare: Double

    enum CodingKeys: String, CodingKey {
        case buildSeconds = "build_seconds"
        case indexBytes = "index_bytes"
        case collectionBytes = "collection_bytes"
        case diskShare = "disk_share"
    }

    func rounded(_ digits: Int) -> Self {
        func r(_ v: Double) -> Double { BenchOutput.round(v, digits) }
        return Self(buildSeconds: r(buildSeconds), indexBytes: indexBytes, collectionBytes: collectionBytes, diskShare: r(diskShare))
    }
}
