import Foundation

/// Prints our queries per second against each peer's, from the rows of one output file.
enum Summary {
    /// Prints the summary of the exact-search rows of `dataset`: one query at a time against
    /// the peers' one-at-a-time rows, and batched (`params.batch` above 1) against batched.
    static func print(_ rows: [BenchRecord], dataset: String) {
        for batched in [false, true] {
            let same = rows.filter { $0.dataset == dataset && (($0.params["batch"]?.number ?? 1) > 1) == batched }
            let mine = same.filter { $0.system == "vecdb" }
            let theirs = same.filter { ($0.system ?? "vecdb") != "vecdb" }
            guard let best = mine.compactMap(\.qps).max(), !theirs.isEmpty else { continue }
            let mode = batched ? "batched" : "one query at a time"
            Swift.print("summary (\(dataset), \(mode)): vecdb \(String(format: "%.1f", best)) qps")
            for row in theirs {
                guard let qps = row.qps, qps > 0 else { continue }
                Swift.print(String(format: "  vs %@ %@: %.1f qps, ratio %.2f", row.system ?? "?", row.index ?? "?", qps, best / qps))
            }
        }
    }
}

/// Queries per second at target recalls, per system, from a sweep's rows.
enum RecallSummary {
    typealias Point = (recall: Double, qps: Double, build: Double, memory: Double)

    /// Prints the summary of the HNSW rows of `dataset`. One-query-at-a-time rows and batched
    /// rows (`params.batch` above 1) are separate series, and each of ours is set against the
    /// peers' series of the same kind.
    static func print(_ rows: [BenchRecord], dataset: String, targets: [Double] = [0.90, 0.95, 0.99]) {
        var series: [String: [Point]] = [:]
        var batchedSeries: Set<String> = []
        for r in rows where r.dataset == dataset {
            guard let s = r.system, let index = r.index, index.uppercased().contains("HNSW"),
                let rec = r.recall, let qps = r.qps
            else { continue }
            let batch = r.params["batch"]?.number ?? 1
            let name = batch > 1 ? "\(s) \(index) batched, \(r.threads ?? 1) threads" : "\(s) \(index)"
            if batch > 1 { batchedSeries.insert(name) }
            series[name, default: []].append((rec, qps, r.buildSeconds ?? 0, r.memoryBytes ?? 0))
        }
        guard series.keys.contains(where: { $0.hasPrefix("vecdb") }) else { return }
        func best(_ points: [Point], _ t: Double) -> Double? { points.filter { $0.recall >= t }.map(\.qps).max() }
        Swift.print("summary (\(dataset), HNSW): queries/s at recall ≥ target, build seconds, memory bytes")
        for (name, points) in series.sorted(by: { $0.key < $1.key }) {
            let cols = targets.map { t in best(points, t).map { String(format: "@%.2f %.0f", t, $0) } ?? String(format: "@%.2f -", t) }
            let build = String(format: "%.1f", points[0].build)
            Swift.print("  \(name): \(cols.joined(separator: "  "))  build \(build) s  memory \(Int(points[0].memory))")
        }
        let at = targets.map { String($0) }.joined(separator: "/")
        for (ourName, ours) in series.sorted(by: { $0.key < $1.key }) where ourName.hasPrefix("vecdb") {
            let batched = batchedSeries.contains(ourName)
            for (name, points) in series.sorted(by: { $0.key < $1.key })
            where !name.hasPrefix("vecdb") && batchedSeries.contains(name) == batched {
                let ratios = targets.map { t -> String in
                    guard let a = best(ours, t), let b = best(points, t) else { return "-" }
                    return String(format: "%.2f", a / b)
                }
                Swift.print(
                    "  \(ourName) / \(name): qps ratio at \(at) = \(ratios.joined(separator: "/")), "
                        + String(
                            format: "build ratio %.2f, memory ratio %.2f", ours[0].build / max(points[0].build, 1e-9),
                            ours[0].memory / max(points[0].memory, 1)))
            }
        }
    }
}

/// Per IVF encoding: queries per second at recall 0.90 and 0.95 (and the best recall reached),
/// training and add seconds, and memory, for VecDB and the matching FAISS index.
enum IVFSummary {
    static let families: [(ours: String, faiss: String)] = [
        ("IVF-Flat", "IndexIVFFlat"), ("IVF-SQ8", "IndexIVFScalarQuantizer"), ("IVF-PQ", "IndexIVFPQ"),
    ]

    struct Point {
        var recall: Double
        var qps: Double
        var train: Double
        var add: Double
        var memory: Double
    }

    /// Prints the summary of the IVF rows of `dataset`.
    static func print(_ rows: [BenchRecord], dataset: String, targets: [Double] = [0.90, 0.95]) {
        func points(_ system: String, _ index: String) -> [Point] {
            rows.compactMap { r -> Point? in
                guard r.dataset == dataset, r.system == system, r.index == index,
                    let rec = r.recall, let qps = r.qps
                else { return nil }
                return Point(
                    recall: rec, qps: qps, train: r.params["train_seconds"]?.number ?? 0,
                    add: r.params["add_seconds"]?.number ?? 0, memory: r.memoryBytes ?? 0)
            }
        }
        func describe(_ name: String, _ ps: [Point]) -> String {
            let at = targets.map { t in
                ps.filter { $0.recall >= t }.map(\.qps).max().map { String(format: "@%.2f %.0f", t, $0) } ?? String(format: "@%.2f -", t)
            }
            let best = ps.max { $0.recall < $1.recall }
            let bestText = String(format: "%.3f (%.0f qps)", best?.recall ?? 0, best?.qps ?? 0)
            return "\(name): \(at.joined(separator: "  "))  best recall \(bestText)"
                + String(format: "  train %.2f s  add %.2f s  memory %.0f B", ps[0].train, ps[0].add, ps[0].memory)
        }
        var printed = false
        for (ours, faiss) in families {
            let a = points("vecdb", ours)
            let b = points("faiss", faiss)
            guard !a.isEmpty else { continue }
            if !printed {
                Swift.print("summary (\(dataset), IVF): queries/s at recall ≥ target")
                printed = true
            }
            Swift.print("  vecdb \(describe(ours, a))")
            guard !b.isEmpty else { continue }
            Swift.print("  faiss \(describe(faiss, b))")
            let ratios = targets.map { t -> String in
                guard let x = a.filter({ $0.recall >= t }).map(\.qps).max(),
                    let y = b.filter({ $0.recall >= t }).map(\.qps).max()
                else { return "-" }
                return String(format: "%.2f", x / y)
            }
            Swift.print(
                "  vecdb / faiss \(ours): qps ratio \(ratios.joined(separator: "/")), "
                    + String(
                        format: "train ratio %.2f, memory ratio %.2f", a[0].train / max(b[0].train, 1e-9),
                        a[0].memory / max(b[0].memory, 1)))
        }
    }
}

/// Filtered search: per system and filter, queries per second and p50 latency at recall ≥ 0.95,
/// the p50 against the same system's unfiltered p50 at that recall, and VecDB's qps against each
/// peer's for the same filter.
enum FilterSummary {
    struct Point {
        var recall: Double
        var qps: Double
        var p50: Double
    }

    static func print(_ rows: [BenchRecord], dataset: String, target: Double = 0.95) {
        // system -> filter text -> points; "" is the unfiltered baseline.
        var points: [String: [String: [Point]]] = [:]
        var selectivity: [String: Double] = [:]
        for r in rows where r.dataset == dataset {
            guard let s = r.system, let rec = r.recall, let qps = r.qps, let shape = r.params["shape"]?.description,
                let filter = r.params["filter"]
            else { continue }
            let text = shape == "none" ? "" : filter.description
            let p50 = r.params["p50_ms"]?.number ?? 1000 / qps
            points[s, default: [:]][text, default: []].append(Point(recall: rec, qps: qps, p50: p50))
            if let sel = r.params["selectivity"]?.number, s == "vecdb" { selectivity[text] = sel }
        }
        func best(_ ps: [Point]?) -> Point? { ps?.filter { $0.recall >= target }.max { $0.qps < $1.qps } }
        Swift.print(String(format: "summary (%@, filtered HNSW): at recall ≥ %.2f", dataset, target))
        for (system, byFilter) in points.sorted(by: { $0.key < $1.key }) {
            let base = best(byFilter[""])
            for (text, ps) in byFilter.sorted(by: { (selectivity[$0.key] ?? 0) > (selectivity[$1.key] ?? 0) }) {
                let short = text.count > 40 ? String(text.prefix(37)) + "..." : (text.isEmpty ? "(none)" : text)
                guard let b = best(ps) else {
                    Swift.print("  \(system) \(short): recall \(String(format: "%.3f", ps.map(\.recall).max() ?? 0)) at best")
                    continue
                }
                var line = String(format: "  %@ %@ (%.4f): qps %.0f p50 %.3f ms", system, short, selectivity[text] ?? 0, b.qps, b.p50)
                if let base, !text.isEmpty { line += String(format: ", p50 / unfiltered %.2f", b.p50 / base.p50) }
                if system != "vecdb", let ours = best(points["vecdb"]?[text]) {
                    line += String(format: ", vecdb qps ratio %.2f", ours.qps / b.qps)
                }
                Swift.print(line)
            }
        }
    }
}
