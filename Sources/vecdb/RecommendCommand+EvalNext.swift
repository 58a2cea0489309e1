import Foundation
import VecDBBench
import VecDBDatasets
import VecDBKernels
import VecDBRecommend

extension RecommendCommand.Eval {
    /// A model of the next-item protocol.
    enum NextItemModel: Equatable {
        case baseline(BaselineKind)
        /// Item-kNN scored from the last item of the history alone.
        case lastItemKNN
        case deep(DeepModelKind)
        /// A sequence model; with `titles`, the items' title embeddings are content features.
        case sequence(SequenceModelKind, titles: Bool)

        var name: String {
            switch self {
            case .baseline(let k): return k.rawValue
            case .lastItemKNN: return "last-item-knn"
            case .deep(let k): return k.rawValue
            case .sequence(let k, let titles): return k.rawValue + (titles ? "-title" : "")
            }
        }

        static var known: [String] {
            BaselineKind.allCases.map(\.rawValue) + ["last-item-knn"] + DeepModelKind.allCases.map(\.rawValue)
                + SequenceModelKind.allCases.flatMap { [$0.rawValue, $0.rawValue + "-title"] }
        }
    }

    func nextItemKinds() throws(VecDBError) -> [NextItemModel] {
        var out: [NextItemModel] = []
        for name in models.split(separator: ",") {
            let text = String(name).trimmingCharacters(in: .whitespaces)
            let k: NextItemModel
            if text == "last-item-knn" {
                k = .lastItemKNN
            } else if let s = SequenceModelKind(rawValue: text) {
                k = .sequence(s, titles: false)
            } else if text.hasSuffix("-title"), let s = SequenceModelKind(rawValue: String(text.dropLast(6))) {
                k = .sequence(s, titles: true)
            } else if let d = DeepModelKind(parsing: text) {
                k = .deep(d)
            } else if let b = try? BaselineKind(parsing: text) {
                k = .baseline(b)
            } else {
                throw VecDBError(.invalidArgument, "unknown model '\(text)'; known models: " + NextItemModel.known.joined(separator: ", "))
            }
            if !out.contains(k) { out.append(k) }
        }
        if out.isEmpty { throw VecDBError(.invalidArgument, "--models is empty") }
        return out
    }

    /// Leave-one-out by time: each user's last item is the test item, the one before it the
    /// validation item; every item is ranked, the user's earlier items excluded.
    func evaluateNextItem() throws(VecDBError) {
        let kinds = try nextItemKinds()
        let (name, interactionPath, _) = try sources()
        let data = try InteractionFileReader.read(interactionPath, columns: InteractionColumns(user: userColumn, item: itemColumn))
        let split = NextItemSplit(data)
        let cases = split.cases(validation: false)
        guard split.itemCount > 0, !cases.isEmpty else {
            throw VecDBError(.invalidArgument, "\(interactionPath): no user has the three interactions leave-one-out needs")
        }
        if data.allSatisfy({ $0.timestamp == 0 }) {
            printError("warning: \(interactionPath) has no timestamps; the file's order is taken as time order")
        }
        try split.writeTSV(directory: output + ".split")
        printError(
            "\(name): \(data.count) interactions, \(split.userCount) users (\(cases.count) evaluated), \(split.itemCount) items; "
                + "split written to \(output).split/")
        var titles: [[Float]]?
        if kinds.contains(where: { if case .sequence(_, true) = $0 { true } else { false } }) {
            titles = try titleEmbeddings(split.trainMatrix)
            guard titles != nil else {
                throw VecDBError(.invalidArgument, "the -title models read item titles; give an item file with a title column (--items)")
            }
        }
        // Cases whose target the training data holds at most 10 times.
        let rareMax = 10
        var trainCount = [Int](repeating: 0, count: split.itemCount)
        for u in split.train { for i in u { trainCount[Int(i)] += 1 } }
        let rareCases = cases.filter { trainCount[Int($0.target)] <= rareMax }
        BLAS.setThreads(threads)
        let negatives = 100
        var rows: [NextItemEvalRow] = []
        var lines: [String] = []
        for kind in kinds {
            let scorer: NextItemEvaluator.Scorer
            let params: [String: Double]
            let seconds: Double
            switch kind {
            case .baseline(let b):
                let trained = try BaselineTrainer.train(b, split: split.fitSplit, validationSeed: seed &+ 1, threads: threads)
                (scorer, params, seconds) = (NextItemEvaluator.scorer(trained.model), trained.params, trained.trainSeconds)
            case .lastItemKNN:
                let trained = try BaselineTrainer.train(.itemknn, split: split.fitSplit, validationSeed: seed &+ 1, threads: threads)
                // Item-kNN's score of a one-item history is that item's row of similarities.
                scorer = NextItemEvaluator.scorer(trained.model) { Array($0.history.suffix(1)) }
                (params, seconds) = (trained.params, trained.trainSeconds)
            case .deep(let d):
                let display = ProgressDisplay()
                let trained = try DeepModelTrainer.train(
                    d, split: split.fitSplit, validationSeed: seed &+ 1, threads: threads, progress: display.callback)
                display.finish()
                (scorer, params, seconds) = (NextItemEvaluator.scorer(trained.model), trained.params, trained.trainSeconds)
            case .sequence(let s, let withTitles):
                var config = SequenceModelConfig(kind: s)
                config.seed = seed
                let trained = try SequenceTrainer.train(s, split: split, config: config, features: withTitles ? titles : nil) {
                    epoch, loss, ndcg in
                    printError(
                        "\(s.rawValue) epoch \(epoch): loss \(String(format: "%.4f", loss))"
                            + (ndcg.map { String(format: ", validation ndcg@10 %.4f", $0) } ?? ""))
                }
                let model = trained.model
                scorer = { (block: [NextItemCase]) throws(VecDBError) -> [Float] in try model.scores(block.map(\.history)) }
                (params, seconds) = (trained.params, trained.trainSeconds)
            }
            let metrics = try NextItemEvaluator.evaluate(cases, itemCount: split.itemCount, negatives: negatives, seed: seed, scorer)
            var row = NextItemEvalRow(
                dataset: name, model: kind.name, params: params, metrics: metrics, items: split.itemCount, negatives: negatives,
                trainSeconds: seconds, threads: threads)
            if !rareCases.isEmpty {
                row.setRare(
                    try NextItemEvaluator.evaluate(rareCases, itemCount: split.itemCount, negatives: 0, seed: seed, scorer),
                    maxCount: rareMax)
            }
            printError(
                String(
                    format:
                        "%@: hit@10 %.4f ± %.4f  ndcg@10 %.4f ± %.4f  mrr@10 %.4f  sampled ndcg@10 %.4f  rare-target ndcg@10 %.4f (%d)  train %.1f s",
                    kind.name, row.hit10, row.hit10SE, row.ndcg10, row.ndcg10SE, row.mrr10, row.sampledNDCG10, row.rareNDCG10 ?? 0,
                    row.rareUsers ?? 0, seconds))
            rows.append(row)
            lines.append(try Self.line(row))
        }
        try write(lines)
        print(Self.nextItemTable(rows))
        if peers {
            let peerModels = kinds.compactMap { k -> String? in if case .sequence(let s, false) = k { s.rawValue } else { nil } }
            guard !peerModels.isEmpty else {
                printError("--peers: the Keras peers are sasrec and gru4rec, and neither is in --models; no peer run")
                return
            }
            do {
                try Peers.run(
                    Peers.sequenceArguments(
                        sequences: output + ".split/sequences.tsv", dataset: name, seed: seed, models: peerModels, output: output,
                        threads: threads))
            } catch let error as VecDBError {
                throw error
            } catch {
                throw VecDBError(.io, "the sequence peers failed: \(error)")
            }
        }
    }

    static func nextItemTable(_ rows: [NextItemEvalRow]) -> String {
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        func pm(_ v: Double, _ se: Double) -> String { String(format: "%.4f ± %.4f", v, se) }
        var out = pad("model", 16) + ["hit@10", "ndcg@10", "mrr@10", "sampled ndcg@10"].map { pad($0, 17) }.joined() + "train s"
        for r in rows {
            out +=
                "\n" + pad(r.model, 16)
                + [pm(r.hit10, r.hit10SE), pm(r.ndcg10, r.ndcg10SE), pm(r.mrr10, r.mrr10SE), pm(r.sampledNDCG10, r.sampledNDCG10SE)]
                .map { pad($0, 17) }.joined() + String(format: "%.1f", r.trainSeconds)
        }
        return out
    }
}
