import ArgumentParser
import Foundation
import VecDB
import VecDBDatasets
import VecDBKernels
import VecDBRecommend

/// `vecdb demo`: Fashion-MNIST in a real database, nearest-neighbour queries with their class
/// labels, filtered search, and recall against exact search; then MovieLens-100K: models
/// evaluated beside the baselines, similar movies, and a user's history beside their
/// recommendations; then cold start: new products with only a photo, found by look and
/// recommended with no retraining.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo", abstract: "Run the Fashion-MNIST demo on real data.")

    static let classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    @Option(help: "Database directory (default: $VECDB_DATA/demo.vecdb); it is rebuilt.")
    var db: String?

    @Option(help: "Queries shown.")
    var show: Int = 5

    @Option(help: "Test images used for recall and 1-NN accuracy.")
    var evaluate: Int = 1000

    @Flag(help: "Skip the MovieLens-100K recommender part.")
    var skipRecommender = false

    @Flag(help: "Skip the cold-start part (new Fashion-MNIST products with only a photo).")
    var skipColdStart = false

    @Flag(help: "Skip the text part (MovieLens titles embedded by all-MiniLM-L6-v2).")
    var skipText = false

    func run() throws {
        let catalog = DatasetCatalog()
        let dir = try catalog.fetch("fashion-mnist-784", log: { printError($0) })
        let path = db ?? catalog.cacheDirectory + "/demo.vecdb"
        let trainLabels = try IDXFormat.read(dir + "/train-labels-idx1-ubyte").bytes
        let testLabels = try IDXFormat.read(dir + "/t10k-labels-idx1-ubyte").bytes
        let base = try VecsFormat.readFvecs(dir + "/base.fvecs")
        let queries = try VecsFormat.readFvecs(dir + "/queries.fvecs")
        let truth = try VecsFormat.readIvecs(dir + "/groundtruth.ivecs")

        print("== VecDB demo: Fashion-MNIST (\(base.count) training images as \(base.dimension)-d vectors) ==")
        try? FileManager.default.removeItem(atPath: path)
        var t = Date()
        do {
            let database = try Database.open(at: path)
            defer { database.close() }
            let c = try database.createCollection("fashion", dimension: base.dimension, metric: .l2)
            var i = 0
            while i < base.count {
                let batch = (i..<min(i + 10_000, base.count)).map { r in
                    Record(
                        key: .int(UInt64(r)), vector: base.row(r),
                        payload: ["label": .number(Double(trainLabels[r])), "class": .string(Self.classes[Int(trainLabels[r])])])
                }
                try c.upsert(batch)
                i += batch.count
            }
            try c.flush()  // seal the memory buffer into a memory-mapped segment
            let s = Date().timeIntervalSince(t)
            print(
                String(
                    format: "ingested %d images with payloads in %.2f s (%.0f vectors/s, fsync per batch of 10,000)",
                    base.count, s, Double(base.count) / s))
        }
        t = Date()
        let database = try Database.open(at: path)
        defer { database.close() }
        let c = try database.collection("fashion")
        print(String(format: "reopened %@ in %.1f ms: %d vectors", path, Date().timeIntervalSince(t) * 1000, c.count))

        var rng = SeededGenerator(seed: 2024)
        print("\n-- nearest neighbours of test images (k=5) --")
        for _ in 0..<show {
            let qi = Int(rng.next() % UInt64(queries.count))
            let results = try c.search(queries.row(qi), k: 5)
            let names = results.map { r -> String in
                if case .string(let s)? = r.payload?["class"] { return s }
                return "?"
            }
            let agree = names.filter { $0 == Self.classes[Int(testLabels[qi])] }.count
            print("test #\(qi) [\(Self.classes[Int(testLabels[qi])])] -> \(names.joined(separator: ", "))  (\(agree)/5 same class)")
        }

        print("\n-- filtered search: the nearest 'Bag' images to a sneaker --")
        if let sneaker = (0..<queries.count).first(where: { testLabels[$0] == 7 }) {
            let results = try c.search(queries.row(sneaker), k: 3, options: SearchOptions(filter: try Filter(parsing: "class = 'Bag'")))
            for r in results { print("  key \(r.key) distance \(Int(r.distance)) payload \(r.payload?.jsonText ?? "")") }
        }

        let n = min(evaluate, queries.count)
        print("\n-- quality on the first \(n) test images --")
        t = Date()
        var hits = 0
        var correct = 0
        for qi in 0..<n {
            let results = try c.search(queries.row(qi), k: 10)
            let want = Set(truth.row(qi).prefix(10).map { UInt64($0) })
            hits += results.filter { if case .int(let v) = $0.key { return want.contains(v) } else { return false } }.count
            if case .number(let label)? = results.first?.payload?["label"], Int(label) == Int(testLabels[qi]) { correct += 1 }
        }
        let exactSeconds = Date().timeIntervalSince(t)
        let s = exactSeconds
        print(String(format: "recall@10 against exact search: %.4f", Double(hits) / Double(n * 10)))
        print(
            String(
                format: "1-NN classification accuracy: %.4f (reference for exact 1-NN on raw pixels: 0.8497 on all 10,000)",
                Double(correct) / Double(n)))
        print(String(format: "%.1f queries/s through the collection (single thread, exact search)", Double(n) / s))

        // Recall@10 against exact search, and the speed, of one way of searching the first n images.
        func measure(_ label: String, _ search: ([Float]) throws -> [SearchResult]) throws {
            let t = Date()
            var hits = 0
            for qi in 0..<n {
                let results = try search(queries.row(qi))
                let want = Set(truth.row(qi).prefix(10).map { UInt64($0) })
                hits += results.filter { if case .int(let v) = $0.key { return want.contains(v) } else { return false } }.count
            }
            let s = Date().timeIntervalSince(t)
            print(
                label
                    + String(
                        format: ": recall@10 %.4f against exact search, %.0f queries/s (%.1fx the exact scan)",
                        Double(hits) / Double(n * 10), Double(n) / s, (Double(n) / s) / (Double(n) / exactSeconds)))
        }

        print("\n-- HNSW index (M=16, efConstruction=200), persisted next to the segment --")
        t = Date()
        try c.createIndex(.hnsw(HNSWIndexOptions(m: 16, efConstruction: 200)), threads: ProcessInfo.processInfo.activeProcessorCount)
        print(String(format: "built in %.1f s with %d threads", Date().timeIntervalSince(t), ProcessInfo.processInfo.activeProcessorCount))
        for ef in [16, 64] { try measure("ef=\(ef)") { try c.search($0, k: 10, options: SearchOptions(width: ef)) } }

        print("\n-- IVF-SQ8 index (nlist 256, one byte per dimension), replacing the graph --")
        t = Date()
        try c.createIndex(
            .ivf(IVFIndexOptions(encoding: .sq8, nlist: 256, iterations: 10)), threads: ProcessInfo.processInfo.activeProcessorCount)
        print(
            String(
                format: "trained and built in %.1f s; drift %.3f (1 = the data the centroids were trained on)",
                Date().timeIntervalSince(t), c.indexDrift ?? .nan))
        for nprobe in [4, 16] { try measure("nprobe=\(nprobe)") { try c.search($0, k: 10, options: SearchOptions(width: nprobe)) } }

        if !skipRecommender { try runRecommender(in: database) }
        if !skipColdStart { try runColdStart(in: database, dir: dir, cache: catalog.cacheDirectory) }
        if !skipText { try runTitles(in: database) }
    }
}
