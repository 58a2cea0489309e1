import Foundation
import VecDBDatasets
import VecDBKernels
import VecDBText

/// `vecdb bench embed`: sentences per second of the all-MiniLM-L6-v2 encoder on two sets of
/// texts, with the time split over tokenisation and the parts of the forward pass.
///
/// - `ml-100k-titles`: the 1,682 MovieLens-100K titles (short: 3 to 30 tokens).
/// - `generated-long-texts`: 1,000 texts of 100 to 256 tokens from ``longTexts(titles:count:seed:tokenizer:)``.
/// - `--texts F` adds any UTF-8 file of one text a line.
///
/// Each set: a warm-up pass over its first 64 texts, then `runs` passes; the median pass gives
/// the rate. With `--peers`, the NumPy forward pass (`Benchmarks/peers_embed.py`) runs on the
/// same files with the same number of BLAS threads, and checks its embeddings of the first 200
/// titles against ours.
package struct EmbedBenchmark {
    package let threads: Int
    package let runs: Int
    package let extraTexts: String?
    package let peers: Bool

    package init(threads: Int, runs: Int = 3, extraTexts: String? = nil, peers: Bool) {
        self.threads = threads
        self.runs = max(1, runs)
        self.extraTexts = extraTexts
        self.peers = peers
    }

    package func run(output path: String) throws {
        let out = try BenchOutput(path: path)
        let catalog = DatasetCatalog()
        let modelDirectory = try catalog.fetch("minilm", log: { printError($0) })
        let encoder = try TextEncoder(directory: modelDirectory, name: TextEncoder.miniLMName, threads: threads)
        let titles = try Self.titles(catalog: catalog)
        var sets: [(name: String, texts: [String])] = [
            ("ml-100k-titles", titles),
            ("generated-long-texts", Self.longTexts(titles: titles, count: 1000, seed: 42, tokenizer: encoder.tokenizer)),
        ]
        if let extraTexts { sets.append(((extraTexts as NSString).lastPathComponent, try readTextLines(extraTexts))) }
        let work = catalog.cacheDirectory + "/bench-embed"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        printError(
            "embed: \(encoder.modelName) checksum \(encoder.modelChecksum); BLAS \(BLAS.description); threads=\(threads); CPU \(Self.cpuModel())"
        )
        for set in sets {
            try measure(set.name, set.texts, encoder, out)
            if peers {
                let file = work + "/\(set.name).txt"
                try writeFileAtomically(Data((set.texts.joined(separator: "\n") + "\n").utf8), to: file)
                fflush(nil)
                try Peers.run([
                    "--kind", "embed", "--model", modelDirectory, "--texts", file, "--label", set.name, "--threads", String(threads),
                    "--output", path, "--runs", String(runs),
                ])
            }
        }
        if peers {
            let sample = Array(titles.prefix(200))
            let file = work + "/ml-100k-titles-200.txt"
            let vectors = work + "/ml-100k-titles-200.npy"
            try writeFileAtomically(Data((sample.joined(separator: "\n") + "\n").utf8), to: file)
            let v = try encoder.embed(sample)
            try writeFileAtomically(
                NumpyFormat.encode(VectorMatrix(values: v.flatMap { $0 }, count: v.count, dimension: encoder.dimension)), to: vectors)
            fflush(nil)
            try Peers.run([
                "--kind", "embed", "--model", modelDirectory, "--texts", file, "--label", "ml-100k-titles-200", "--threads",
                String(threads), "--output", path, "--runs", "1", "--vectors", vectors,
            ])
        }
        Self.summarize(path: path, threads: threads)
    }

    func measure(_ name: String, _ texts: [String], _ encoder: TextEncoder, _ out: BenchOutput) throws {
        _ = try encoder.embed(Array(texts.prefix(64)), threads: threads)
        var seconds: [Double] = []
        let profile = EncoderProfile()
        for _ in 0..<runs {
            let start = now()
            _ = try encoder.embed(texts, threads: threads, profile: profile)
            seconds.append(now() - start)
        }
        let median = seconds.sorted()[seconds.count / 2]
        let tokens = texts.reduce(0) { $0 + encoder.tokenizer.encode($1).count }
        let parts = profile.seconds
        let total = max(parts.values.reduce(0, +), 1e-12)
        let split = parts.mapValues { BenchOutput.round($0 / total, 4) }
        let row = EmbedRow(
            system: "vecdb", benchmark: "embed", threads: threads,
            sentencesPerSecond: BenchOutput.round(Double(texts.count) / median, 1),
            tokensPerSecond: BenchOutput.round(Double(tokens) / median, 1),
            params: EmbedParams(
                texts: name, count: texts.count, tokens: tokens, batchTokens: SentenceEncoder.batchTokens, runs: runs,
                medianSeconds: BenchOutput.round(median, 4), blas: BLAS.description, cpu: Self.cpuModel(), model: encoder.modelName,
                timeSplit: split))
        try out.append(row)
        print(
            String(
                format: "vecdb    embed %-22@ threads=%d %8.1f sentences/s %9.0f tokens/s  split %@", name, threads, row.sentencesPerSecond,
                row.tokensPerSecond,
                split.sorted { $0.value > $1.value }.map { "\($0.key) \(Int(($0.value * 100).rounded()))%" }.joined(separator: ", ")))
    }

    /// Prints our rate over NumPy's per text set, and the agreement row, from the output file.
    static func summarize(path: String, threads: Int) {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        var rates: [String: [String: Double]] = [:]
        var agreement: Double?
        for line in text.split(separator: "\n") {
            guard let o = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
                let system = o["system"] as? String, (o["threads"] as? Int) == threads
            else { continue }
            let params = o["params"] as? [String: Any] ?? [:]
            if o["benchmark"] as? String == "embed", let name = params["texts"] as? String,
                let rate = (o["sentences_per_second"] as? NSNumber)?.doubleValue
            {
                rates[name, default: [:]][system] = rate
            } else if o["benchmark"] as? String == "embed-agreement" {
                agreement = (o["min_cosine"] as? NSNumber)?.doubleValue
            }
        }
        for (name, by) in rates.sorted(by: { $0.key < $1.key }) {
            guard let ours = by["vecdb"], let numpy = by["numpy"], numpy > 0 else { continue }
            print(String(format: "embed %@ threads=%d: vecdb %.1f/s, numpy %.1f/s: %.2fx", name, threads, ours, numpy, ours / numpy))
        }
        if let agreement { print(String(format: "agreement with numpy on 200 titles: min cosine %.7f", agreement)) }
    }

    /// The MovieLens-100K titles, in item order.
    static func titles(catalog: DatasetCatalog) throws -> [String] {
        let dir = try catalog.fetch("ml-100k", log: { printError($0) })
        let lines = try readTextLines(dir + "/ml-100k.item")
        guard let header = lines.first?.split(separator: "\t", omittingEmptySubsequences: false),
            let column = header.firstIndex(where: { $0.hasPrefix("movie_title") })
        else { throw VecDBError(.malformedFile, "\(dir)/ml-100k.item: no movie_title column", path: dir + "/ml-100k.item") }
        return lines.dropFirst().compactMap { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            return column < fields.count ? String(fields[column]) : nil
        }
    }

    /// `count` texts of 100 to 256 tokens: sentences built from the titles by a seeded generator,
    /// appended until a length drawn uniformly from 100 to 256 tokens is reached.
    package static func longTexts(titles: [String], count: Int, seed: UInt64, tokenizer: WordPieceTokenizer) -> [String] {
        let verbs = ["reminds me of", "was shown after", "is often compared with", "shares a cast with", "was released with", "inspired"]
        let openers = ["Critics wrote that", "Many viewers felt", "In the archive,", "According to the notes,", "Some say"]
        var g = SeededGenerator(seed: seed)
        var texts: [String] = []
        guard !titles.isEmpty else { return [] }
        for _ in 0..<count {
            let target = 100 + Int(g.next() % 157)
            var text = ""
            while tokenizer.encode(text).count < target {
                let a = titles[Int(g.next() % UInt64(titles.count))]
                let b = titles[Int(g.next() % UInt64(titles.count))]
                text += "\(openers[Int(g.next() % UInt64(openers.count))]) \(a) \(verbs[Int(g.next() % UInt64(verbs.count))]) \(b). "
            }
            texts.append(String(text.dropLast()))
        }
        return texts
    }

    /// The CPU model, from /proc/cpuinfo.
    static func cpuModel() -> String {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
            let colon = line.firstIndex(of: ":")
        else { return "unknown" }
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
}

/// One `embed` row: a text set's encoding rate.
package struct EmbedRow: Codable, Sendable, Equatable {
    package var system: String
    package var benchmark: String
    package var threads: Int
    package var sentencesPerSecond: Double
    package var tokensPerSecond: Double
    package var params: EmbedParams

    enum CodingKeys: String, CodingKey {
        case system, benchmark, threads, params
        case sentencesPerSecond = "sentences_per_second"
        case tokensPerSecond = "tokens_per_second"
    }
}

/// What an `embed` row measured.
package struct EmbedParams: Codable, Sendable, Equatable {
    package var texts: String
    package var count: Int
    /// Tokens of all texts, `[CLS]` and `[SEP]` included.
    package var tokens: Int
    package var batchTokens: Int
    package var runs: Int
    package var medianSeconds: Double
    package var blas: String
    package var cpu: String
    package var model: String
    /// Fractions of the encoder's time: tokenize, embeddings, gemm, attention, gelu, layernorm, pooling.
    package var timeSplit: [String: Double]

    enum CodingKeys: String, CodingKey {
        case texts, count, tokens, runs, blas, cpu, model
        case batchTokens = "batch_tokens"
        case medianSeconds = "median_seconds"
        case timeSplit = "time_split"
    }
}
