import ArgumentParser
import Foundation
import VecDBBench
import VecDBDatasets
import VecDBKernels
import VecDBRecommend

extension RecommendCommand {
    /// `vecdb recommend eval (--dataset ml-100k | --interactions FILE [--items FILE]) --models … --seed S --output F`.
    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evaluate models by full ranking on a per-user random 80/20 split.",
            discussion: """
                Every interaction is an implicit positive (user-item pairs deduplicated). Each user's items are \
                shuffled with the seed; ceil(20%) test, the rest train. Every item is ranked for every user with \
                test items, the user's train items excluded. Hyper-parameters are chosen on a validation split \
                carved from train the same way. Writes one JSON line per model to --output, and the split as \
                OUTPUT.split/train.tsv and test.tsv.
                """)

        @Option(help: "A data set from the catalogue: ml-100k.")
        var dataset: String?

        @Option(help: "An interaction file: RecBole .inter, or CSV with a header row.")
        var interactions: String?

        @Option(help: "An item file: RecBole .item, or CSV (movieId,title,genres).")
        var items: String?

        @Option(help: "A user file: RecBole .user, or CSV keyed by the user column (user features for the two-tower).")
        var users: String?

        @Option(help: "The CSV's user column.")
        var userColumn = "userId"

        @Option(help: "The CSV's item column.")
        var itemColumn = "movieId"

        @Option(
            help: """
                Models, comma-separated: \((BaselineKind.allCases.map(\.rawValue) + DeepModelKind.allCases.map(\.rawValue))
                .joined(separator: ", ")).
                """)
        var models = BaselineKind.allCases.map(\.rawValue).joined(separator: ",")

        @Option(help: "Seed of the split (the validation split uses seed + 1).")
        var seed: UInt64 = 42

        @Option(help: "The JSON Lines file rows are written to (replaced).")
        var output: String

        @Option(help: "Threads for BLAS and evaluation.")
        var threads = 1

        @Flag(help: "Also run the Python peers (Benchmarks/peers.sh --kind recommend) on the same split files.")
        var peers = false

        @Option(
            name: .customLong("protocol"),
            help: """
                weak: every user's items split 80/20 (default). strong: 10% of users held out entirely, \
                models fitted on the others, then scored from 80% of each held-out user's history (fold-in). \
                cold-items: 20% of items held out entirely; popularity, random, content-knn and two-tower \
                rank them (and the warm items). \
                visual: the image encoder (cnn) against raw pixels, precision@10 of same-class neighbours \
                (--dataset fashion-mnist-784 by default, or --train-images/--train-labels/--test-images/--test-labels). \
                next-item: leave-one-out by timestamp, each user's last item the test item and the one before it \
                the validation item; hit, NDCG and MRR at 10 over all items (earlier items excluded) and against \
                100 sampled negatives; models also last-item-knn, gru4rec, sasrec; the split is written as \
                OUTPUT.split/sequences.tsv, and --peers trains Keras's SASRec and GRU4Rec on it.
                """)
        var evaluationProtocol = "weak"

        @OptionGroup var visual: VisualEvalOptions

        func validate() throws {
            guard ["weak", "strong", "visual", "cold-items", "next-item"].contains(evaluationProtocol) else {
                throw ValidationError("--protocol must be weak, strong, visual, cold-items or next-item, got '\(evaluationProtocol)'")
            }
            if evaluationProtocol == "cold-items" && peers {
                throw ValidationError("the peers run the weak protocol only; drop --peers with --protocol cold-items")
            }
            if evaluationProtocol == "visual" {
                let given = visual.customFiles.filter { $0 != nil }.count
                guard given == 0 || given == 4 else {
                    throw ValidationError(
                        "--protocol visual takes all four of --train-images, --train-labels, --test-images, --test-labels, or none")
                }
                guard !peers else { throw ValidationError("the visual protocol has no peers") }
                guard visual.epochs >= 0, threads >= 1 else {
                    throw ValidationError("--epochs must be non-negative and --threads at least 1")
                }
                return
            }
            if evaluationProtocol == "strong" && peers {
                throw ValidationError("the peers run the weak protocol only; drop --peers with --protocol strong")
            }
            if evaluationProtocol == "cold-items" && dataset == "fashion-mnist-784" {
                guard interactions == nil, items == nil, users == nil else {
                    throw ValidationError("fashion-mnist-784 brings its own catalogue and simulated users; drop --interactions/--items")
                }
                return
            }
            if (dataset == nil) == (interactions == nil) {
                throw ValidationError("give exactly one of --dataset and --interactions")
            }
            if dataset != nil && items != nil { throw ValidationError("--items goes with --interactions") }
            if dataset != nil && users != nil { throw ValidationError("--users goes with --interactions") }
            if let dataset, dataset != "ml-100k" {
                throw ValidationError("data set '\(dataset)' has no interactions; use ml-100k, or --interactions FILE")
            }
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
            do {
                if evaluationProtocol == "cold-items" {
                    _ = try coldKinds()
                } else if evaluationProtocol == "next-item" {
                    _ = try nextItemKinds()
                } else {
                    _ = try kinds()
                }
            } catch {
                throw error.exit
            }
        }

        /// A model the command trains: a baseline or a deep model.
        enum ModelChoice: Equatable {
            case baseline(BaselineKind)
            case deep(DeepModelKind)

            /// The name `--models` takes and rows carry.
            var name: String {
                switch self {
                case .baseline(let k): return k.rawValue
                case .deep(let k): return k.rawValue
                }
            }
        }

        func kinds() throws(VecDBError) -> [ModelChoice] {
            var out: [ModelChoice] = []
            for name in models.split(separator: ",") {
                let text = String(name).trimmingCharacters(in: .whitespaces)
                let k: ModelChoice
                if let deep = DeepModelKind(parsing: text) {
                    k = .deep(deep)
                } else {
                    do {
                        k = .baseline(try BaselineKind(parsing: text))
                    } catch {
                        throw VecDBError(
                            .invalidArgument,
                            "unknown model '\(text)'; known models: "
                                + (BaselineKind.allCases.map(\.rawValue) + DeepModelKind.allCases.map(\.rawValue)).joined(separator: ", "))
                    }
                }
                if !out.contains(k) { out.append(k) }
            }
            if out.isEmpty { throw VecDBError(.invalidArgument, "--models is empty") }
            return out
        }

        func run() throws {
            do throws(VecDBError) {
                try evaluate()
            } catch {
                throw error.exit
            }
            // The next-item protocol runs its own peers, on its own split file.
            if peers && evaluationProtocol != "next-item" { try runPeers() }
        }

        /// Appends the peers' rows to --output, from the split files ``evaluate()`` wrote.
        func runPeers() throws {
            let name = dataset ?? (((interactions ?? "") as NSString).lastPathComponent as NSString).deletingPathExtension
            do {
                try Peers.run(
                    Peers.recommendArguments(
                        train: output + ".split/train.tsv", test: output + ".split/test.tsv", dataset: name, seed: seed,
                        output: output, threads: threads))
            } catch let error as VecDBError {
                throw error.exit
            }
        }

        func evaluate() throws(VecDBError) {
            if evaluationProtocol == "strong" { return try evaluateStrong() }
            if evaluationProtocol == "visual" { return try evaluateVisual() }
            if evaluationProtocol == "cold-items" { return try evaluateCold() }
            if evaluationProtocol == "next-item" { return try evaluateNextItem() }
            let kinds = try kinds()
            let (name, interactionPath, _) = try sources()
            let data = try InteractionFileReader.read(
                interactionPath,
                columns: InteractionColumns(user: userColumn, item: itemColumn))
            let matrix = InteractionMatrix(data)
            let (features, userFeatures) = try sideFeatures(matrix)
            guard matrix.itemCount > 0, matrix.userCount > 0 else {
                throw VecDBError(.invalidArgument, "\(interactionPath) holds no interactions")
            }
            let split = try HoldoutSplit.random(matrix, seed: seed)
            try split.writeTSV(directory: output + ".split")
            printError(
                "\(name): \(data.count) interactions, \(matrix.pairCount) distinct pairs, \(matrix.userCount) users, "
                    + "\(matrix.itemCount) items; split written to \(output).split/")
            let evaluator = RankingEvaluator(split)
            var lines: [String] = []
            var rows: [RecommendEvalRow] = []
            let display = ProgressDisplay()
            for kind in kinds {
                let row: RecommendEvalRow
                switch kind {
                case .baseline(let kind):
                    let trained = try BaselineTrainer.train(kind, split: split, validationSeed: seed &+ 1, threads: threads)
                    let metrics = evaluator.evaluate(trained.model, threads: threads)
                    row = RecommendEvalRow(
                        dataset: name, model: kind.rawValue, params: trained.params, metrics: metrics,
                        trainSeconds: trained.trainSeconds, threads: threads)
                case .deep(let kind):
                    let trained = try DeepModelTrainer.train(
                        kind, split: split, validationSeed: seed &+ 1, itemFeatures: features, userFeatures: userFeatures,
                        threads: threads,
                        progress: display.callback)
                    display.finish()
                    let metrics = evaluator.evaluate(trained.model, threads: threads)
                    row = RecommendEvalRow(
                        dataset: name, model: kind.rawValue, params: trained.params, metrics: metrics,
                        trainSeconds: trained.trainSeconds, threads: threads)
                }
                rows.append(row)
                lines.append(try Self.line(row))
            }
            try write(lines)
            print(Self.table(rows))
        }

        /// Writes the JSON lines to `--output` (replacing it).
        func write(_ lines: [String]) throws(VecDBError) {
            do {
                try FileManager.default.createDirectory(
                    atPath: (output as NSString).deletingLastPathComponent.isEmpty
                        ? "."
                        : (output as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
            } catch {
                throw VecDBError(.io, "cannot write \(output): \(error.localizedDescription)", path: output)
            }
        }

        /// The data set's name and its interaction and item files.
        func sources() throws(VecDBError) -> (String, String, String?) {
            if let dataset {
                let dir = try DatasetCatalog().fetch(dataset, log: { printError($0) })
                return (dataset, dir + "/ml-100k.inter", dir + "/ml-100k.item")
            }
            let path = interactions ?? ""
            return (((path as NSString).lastPathComponent as NSString).deletingPathExtension, path, items)
        }

        /// The user file: `--users`, or the data set's `.user` file when it has one.
        func userSource() throws(VecDBError) -> String? {
            if let users { return users }
            guard let dataset else { return nil }
            let path = try DatasetCatalog().fetch(dataset, log: { printError($0) }) + "/ml-100k.user"
            return FileManager.default.fileExists(atPath: path) ? path : nil
        }

        /// Item and user feature rows for the two-tower (``FeatureEncoder``, fitted on every
        /// record of the item and user files), or nil where there is no file or no usable column.
        func sideFeatures(_ matrix: InteractionMatrix) throws(VecDBError) -> (items: [[Float]]?, users: [[Float]]?) {
            let (_, _, itemPath) = try sources()
            var items: [[Float]]?
            if let itemPath {
                let records = try ItemFileReader.read(itemPath, keyColumn: itemColumn)
                let fitted = FeatureEncoder.fitRows(records, keys: matrix.itemKeys)
                items = fitted?.rows
                printError("read \(records.count) item records from \(itemPath): \(fitted?.encoder.width ?? 0) feature columns")
            }
            var users: [[Float]]?
            if let userPath = try userSource() {
                let records = try ItemFileReader.read(userPath, keyColumn: userColumn)
                let fitted = FeatureEncoder.fitRows(records, keys: matrix.userKeys)
                users = fitted?.rows
                printError("read \(records.count) user records from \(userPath): \(fitted?.encoder.width ?? 0) feature columns")
            }
            return (items, users)
        }

        static func line(_ row: some Encodable) throws(VecDBError) -> String {
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            do {
                return String(decoding: try e.encode(row), as: UTF8.self)
            } catch {
                throw VecDBError(.io, "cannot encode a result row: \(error)")
            }
        }

        static func table(_ rows: [RecommendEvalRow]) -> String {
            func pad(_ text: String, _ width: Int, left: Bool = true) -> String {
                let fill = String(repeating: " ", count: max(0, width - text.count))
                return left ? text + fill : fill + text
            }
            func pm(_ v: Double, _ se: Double) -> String { String(format: "%.4f ± %.4f", v, se) }
            var out =
                pad("model", 19) + pad("params", 28) + pad("users", 6, left: false) + pad("items", 7, left: false) + "  "
                + ["ndcg@10", "ndcg@20", "recall@10", "recall@20"].map { pad($0, 17) }.joined()
                + pad("cov@20", 7, left: false) + pad("train s", 9, left: false)
            for r in rows {
                let params = r.params.sorted { $0.key < $1.key }.map { "\($0.key)=\(String(format: "%g", $0.value))" }
                    .joined(separator: " ")
                out +=
                    "\n" + pad(r.model, 19) + pad(params, 28) + pad("\(r.users)", 6, left: false) + pad("\(r.items)", 7, left: false)
                    + "  "
                    + [
                        pm(r.ndcg10, r.ndcg10SE), pm(r.ndcg20, r.ndcg20SE), pm(r.recall10, r.recall10SE),
                        pm(r.recall20, r.recall20SE),
                    ].map { pad($0, 17) }.joined()
                    + pad(String(format: "%.3f", r.coverage20), 7, left: false)
                    + pad(String(format: "%.3f", r.trainSeconds), 9, left: false)
            }
            return out
        }
    }
}
