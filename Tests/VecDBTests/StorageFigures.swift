import Foundation
import Testing
import VecDBKernels
import VecDBTestSupport

@testable import VecDB

/// Rough storage figures, printed, not asserted. Run with `VECDB_STORAGE_FIGURES=1`
/// (and `VECDB_FIGURES_ROWS` for the open-time collection, default 1,000,000). The benchmark
/// harness owns the real measurements; this is a smoke check of the same paths.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["VECDB_STORAGE_FIGURES"] != nil))
struct StorageFigures {
    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    @Test func figures() throws {
        let dir = TemporaryDirectory(prefix: "vecdb-figures")
        let d = 128
        let rows = Int(ProcessInfo.processInfo.environment["VECDB_FIGURES_ROWS"] ?? "") ?? 1_000_000
        var g = SeededGenerator(seed: 1)
        var db = try Database.open(at: dir.path)
        let c = try db.createCollection("big", dimension: d, metric: .l2)
        let pool = g.vectors(10_000, dimension: d)
        func batch(_ start: Int, _ n: Int) -> [Record] {
            (0..<n).map { i in
                let k = start + i
                let off = (k % 10_000) * d
                return Record(
                    key: .int(UInt64(k)), vector: Array(pool[off..<(off + d)]),
                    payload: [
                        "id": .number(Double(k)), "lang": .string(k % 3 == 0 ? "en" : "fr"),
                        "title": .string("item number \(k) of the catalogue"),
                    ])
            }
        }
        // Ingest, default durability (fsync), batches of 10,000 (seals included).
        var t0 = Self.now()
        var k = 0
        var spent = 0.0
        while k < rows {
            let n = min(10_000, rows - k)
            let b = batch(k, n)
            let a = Self.now()
            try c.upsert(b)
            spent += Self.now() - a
            k += n
        }
        t0 = Self.now()
        try c.flush()
        spent += Self.now() - t0
        let ingest = Double(rows) / spent
        print("FIGURE ingest batch=10000 fsync: \(Int(ingest)) vectors/s over \(rows) rows")
        for size in [1, 100] {
            let total = size == 1 ? 300 : 20_000
            var j = 0
            var spent = 0.0
            while j < total {
                let b = batch(rows + 10_000_000 * size + j, size)
                let a = Self.now()
                try c.upsert(b)
                spent += Self.now() - a
                j += size
            }
            print("FIGURE ingest batch=\(size) fsync: \(Int(Double(total) / spent)) vectors/s")
        }
        try c.flush()
        let stats = c.stats()
        print("FIGURE payload compression ratio: \(stats.payloadCompressionRatio)")
        // Payload reads by key.
        _ = try c.get(0)  // builds the key map
        var lat: [Double] = []
        for _ in 0..<20_000 {
            let key = Key.int(UInt64(Int.random(in: 0..<rows, using: &g)))
            let a = Self.now()
            let r = try c.get(key)
            lat.append(Self.now() - a)
            #expect(r?.payload != nil)
        }
        lat.sort()
        print("FIGURE get (vector+payload) p50: \(lat[lat.count / 2] * 1e6) us, p99: \(lat[lat.count * 99 / 100] * 1e6) us")
        db.close()
        // Open.
        var opens: [Double] = []
        for _ in 0..<3 {
            t0 = Self.now()
            db = try Database.open(at: dir.path)
            opens.append(Self.now() - t0)
            let n = try db.collection("big").count
            #expect(n >= rows)
            db.close()
        }
        print("FIGURE open \(rows) x 128: \(opens.map { String(format: "%.1f ms", $0 * 1000) })")
        db = try Database.open(at: dir.path)
        let c2 = try db.collection("big")
        t0 = Self.now()
        _ = try c2.search(g.vector(d), k: 10)
        print("FIGURE first search after open (pages vectors in): \(String(format: "%.1f ms", (Self.now() - t0) * 1000))")
        t0 = Self.now()
        _ = try c2.get(1)
        print("FIGURE first get after open (builds key map): \(String(format: "%.1f ms", (Self.now() - t0) * 1000))")
        _ = try c2.delete((0..<(rows / 10)).map { .int(UInt64($0 * 10)) })
        t0 = Self.now()
        try c2.compact()
        print("FIGURE compaction: \(Int(Double(rows) / (Self.now() - t0))) rows/s")
        db.close()
    }
}
