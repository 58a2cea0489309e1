import Foundation
import VecDB
import VecDBDatasets
import VecDBKernels

/// The storage engine's figures: ingest at three batch sizes with default (fsync) durability,
/// payload compression and read latency, open time, and compaction throughput.
///
/// Vectors are 128-d; payloads are MovieLens-100K item records (title, year, genres), cycled.
struct StorageBenchmark {
    let rows: Int
    let directory: String

    struct Item {
        let title: String
        let year: Double
        let genres: [String]
    }

    static func items() throws -> [Item] {
        let dir = try DatasetCatalog().fetch("ml-100k", log: { printError($0) })
        let text = try String(contentsOfFile: dir + "/ml-100k.item", encoding: .utf8)
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard f.count >= 4 else { return nil }
            return Item(title: String(f[1]), year: Double(f[2]) ?? 0, genres: f[3].split(separator: " ").map(String.init))
        }
    }

    func run(_ out: BenchOutput) throws {
        let d = 128
        let items = try Self.items()
        var rng = SeededGenerator(seed: 1)
        let pool = (0..<(10_000 * d)).map { _ in rng.nextUnitFloat() * 2 - 1 }
        func batch(_ start: Int, _ n: Int) -> [Record] {
            (0..<n).map { i in
                let k = start + i
                let item = items[k % items.count]
                let off = (k % 10_000) * d
                return Record(
                    key: .int(UInt64(k)), vector: Array(pool[off..<(off + d)]),
                    payload: [
                        "title": .string(item.title), "year": .number(item.year),
                        "genres": .array(item.genres.map { .string($0) }), "item": .number(Double(k % items.count)),
                    ])
            }
        }
        try? FileManager.default.removeItem(atPath: directory)
        var db = try Database.open(at: directory)
        let c = try db.createCollection("bench", dimension: d, metric: .l2)
        // Ingest: batches of 10,000 up to `rows` (seals included), then batches of 100 and 1.
        var spent = 0.0
        var k = 0
        while k < rows {
            let b = batch(k, min(10_000, rows - k))
            let t = now()
            try c.upsert(b)
            spent += now() - t
            k += b.count
        }
        let t = now()
        try c.flush()
        spent += now() - t
        try out.figureRow(
            system: "vecdb", benchmark: "ingest",
            params: IngestParams(dim: d, batch: 10_000, durability: "fsync", rows: rows),
            figures: IngestFigures(vectorsPerSecond: Double(rows) / spent))
        for size in [100, 1] {
            let total = size == 1 ? 500 : 50_000
            var j = 0
            spent = 0
            while j < total {
                let b = batch(rows + j, size)
                let t = now()
                try c.upsert(b)
                spent += now() - t
                j += size
            }
            try out.figureRow(
                system: "vecdb", benchmark: "ingest",
                params: IngestParams(dim: d, batch: size, durability: "fsync", rows: total),
                figures: IngestFigures(vectorsPerSecond: Double(total) / spent))
        }
        try c.flush()
        let stats = c.stats()
        _ = try c.get(0)  // the key map is built on first use
        var lat: [Double] = []
        for _ in 0..<20_000 {
            let key = Key.int(UInt64(Int(rng.next() % UInt64(rows))))
            let t = now()
            let r = try c.get(key)
            lat.append(now() - t)
            guard r?.payload != nil else { throw VecDBError(.corruptFile, "payload of \(key) missing") }
        }
        lat.sort()
        try out.figureRow(
            system: "vecdb", benchmark: "payload",
            params: PayloadParams(rows: rows, reads: lat.count, source: "ml-100k items"),
            figures: PayloadFigures(
                compressionRatio: stats.payloadCompressionRatio,
                getP50Microseconds: lat[lat.count / 2] * 1e6,
                getP99Microseconds: lat[lat.count * 99 / 100] * 1e6))
        db.close()
        var opens: [Double] = []
        for _ in 0..<5 {
            let t = now()
            db = try Database.open(at: directory)
            opens.append(now() - t)
            db.close()
        }
        opens.sort()
        db = try Database.open(at: directory)
        defer { db.close() }
        let c2 = try db.collection("bench")
        var first = now()
        _ = try c2.search(Array(pool[0..<d]), k: 10)
        let firstSearch = now() - first
        try out.figureRow(
            system: "vecdb", benchmark: "open", params: OpenParams(rows: c2.count, dim: d),
            figures: OpenFigures(
                openMillisecondsMedian: opens[opens.count / 2] * 1000,
                firstSearchMilliseconds: firstSearch * 1000))
        _ = try c2.delete((0..<(rows / 10)).map { .int(UInt64($0 * 10)) })
        first = now()
        try c2.compact()
        try out.figureRow(
            system: "vecdb", benchmark: "compaction",
            params: CompactionParams(rows: c2.count + rows / 10, deleted: rows / 10),
            figures: CompactionFigures(rowsPerSecond: Double(c2.count + rows / 10) / (now() - first)))
    }
}
