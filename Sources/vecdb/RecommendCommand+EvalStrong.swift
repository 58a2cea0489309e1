import Foundation
import VecDBKernels
import VecDBRecommend

extension RecommendCommand.Eval {
    /// `--protocol strong`: 10 % of users held out entirely; every model is fitted (and its
    /// hyper-parameters chosen) on the other users, then scores each held-out user from 80 % of
    /// their history without retraining, against the other 20 %.
    func evaluateStrong() throws(VecDBError) {
        let kinds = try kinds()
        let (name, interactionPath, _) = try sources()
        let data = try InteractionFileReader.read(interactionPath, columns: InteractionColumns(user: userColumn, item: itemColumn))
        let matrix = InteractionMatrix(data)
        guard matrix.itemCount > 0, matrix.userCount > 1 else {
            throw VecDBError(.invalidArgument, "\(interactionPath) holds too few interactions for strong generalisation")
        }
        let (features, userFeatures) = try sideFeatures(matrix)
        let split = try StrongGeneralizationSplit.random(matrix, seed: seed)
        printError(
            "\(name): \(matrix.userCount) users, \(matrix.itemCount) items; \(split.heldOutUsers.count) users held out "
                + "(strong generalisation), folded in from 80% of their history")
        let evaluator = split.evaluator
        var rows: [RecommendEvalRow] = []
        let display = ProgressDisplay()
        for kind in kinds {
            let model: any ItemScorer
            let params: [String: Double]
            let seconds: Double
            switch kind {
            case .baseline(let kind):
                let trained = try BaselineTrainer.train(kind, split: split.fit, validationSeed: seed &+ 1, threads: threads)
                (model, params, seconds) = (trained.model, trained.params, trained.trainSeconds)
            case .deep(let kind):
                let trained = try DeepModelTrainer.train(
                    kind, split: split.fit, validationSeed: seed &+ 1, itemFeatures: features, userFeatures: userFeatures,
                    threads: threads,
                    progress: display.callback)
                display.finish()
                (model, params, seconds) = (trained.model, trained.params, trained.trainSeconds)
            }
            rows.append(
                RecommendEvalRow(
                    dataset: name, model: kind.name, params: params, metrics: evaluator.evaluate(model, threads: threads),
                    trainSeconds: seconds, threads: threads, evaluationProtocol: "strong"))
        }
        try write(try rows.map { (r: RecommendEvalRow) throws(VecDBError) in try Self.line(r) })
        print(Self.table(rows))
    }
}
