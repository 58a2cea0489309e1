import VecDBKernels

/// The baseline models the library trains: popularity, item-kNN and EASE.
public enum BaselineKind: String, CaseIterable, Sendable {
    /// ``PopularityModel``.
    case popularity
    /// ``ItemKNNModel``.
    case itemknn
    /// ``EASEModel``.
    case ease

    /// Parses a model name.
    ///
    /// - Throws: ``VecDBError/Code/invalidArgument`` naming the known models.
    public init(parsing name: String) throws(VecDBError) {
        guard let k = BaselineKind(rawValue: name.lowercased()) else {
            throw VecDBError(
                .invalidArgument,
                "unknown model '\(name)'; known models: "
                    + BaselineKind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self = k
    }
}

/// The hyper-parameter grids searched on the validation split.
public struct BaselineGrid: Sendable, Equatable {
    /// EASE's λ values.
    public var easeLambdas: [Float]
    /// Item-kNN's neighbour counts.
    public var knnNeighbours: [Int]
    /// Item-kNN's shrinkage values.
    public var knnShrinkages: [Float]

    /// The default grids: λ ∈ {50, 100, 200, 400, 800, 1600}; k ∈ {50, 100, 200, 400, 800} × h ∈ {0, 10, 50}.
    public init(
        easeLambdas: [Float] = [50, 100, 200, 400, 800, 1600], knnNeighbours: [Int] = [50, 100, 200, 400, 800],
        knnShrinkages: [Float] = [0, 10, 50]
    ) {
        self.easeLambdas = easeLambdas
        self.knnNeighbours = knnNeighbours
        self.knnShrinkages = knnShrinkages
    }
}

/// A baseline fitted on the whole training split with the hyper-parameters that scored best on
/// the validation split.
public struct TrainedBaseline: Sendable {
    /// Which model.
    public var kind: BaselineKind
    /// The chosen hyper-parameters by name (`lambda`; `neighbours`, `shrinkage`).
    public var params: [String: Double]
    /// The fitted model.
    public var model: any ItemScorer
    /// Seconds to fit the final model on the training split (hyper-parameter search excluded).
    public var trainSeconds: Double
    /// Seconds of the hyper-parameter search on the validation split.
    public var selectionSeconds: Double
    /// NDCG@10 of the chosen hyper-parameters on the validation split, when there was a search.
    public var validationNDCG10: Double?
}

/// Trains baselines: chooses hyper-parameters on a validation split carved from train only
/// (``HoldoutSplit/validation(testFraction:seed:)``), by NDCG@10, then fits on all of train.
public enum BaselineTrainer {
    /// Trains `kind` on `split.train`.
    ///
    /// - Parameters:
    ///   - kind: the model.
    ///   - split: the train/test split; only `train` is read.
    ///   - validationSeed: the seed of the validation split carved from train.
    ///   - grid: the hyper-parameter grids.
    ///   - threads: threads for BLAS and for the validation evaluation.
    /// - Returns: the fitted model, its parameters and timings.
    /// - Throws: ``VecDBError`` when a fit fails (a grid value out of range).
    public static func train(
        _ kind: BaselineKind, split: HoldoutSplit, validationSeed: UInt64, grid: BaselineGrid = BaselineGrid(),
        threads: Int = 1
    ) throws(VecDBError) -> TrainedBaseline {
        BLAS.setThreads(threads)
        let clock = ContinuousClock()
        switch kind {
        case .popularity:
            let start = clock.now
            let model = PopularityModel.fit(split.train)
            return TrainedBaseline(
                kind: kind, params: [:], model: model, trainSeconds: seconds(clock.now - start),
                selectionSeconds: 0, validationNDCG10: nil)
        case .itemknn:
            let search = clock.now
            let inner = try split.validation(seed: validationSeed)
            let evaluator = RankingEvaluator(inner)
            let gram = ItemGram.compute(inner.train)
            var best: (k: Int, h: Float, ndcg: Double)?
            for k in grid.knnNeighbours {
                for h in grid.knnShrinkages {
                    let m = try ItemKNNModel.fit(gram: gram, itemCount: inner.train.itemCount, neighbours: k, shrinkage: h)
                    let ndcg = evaluator.evaluate(m, threads: threads).ndcg10.mean
                    if best.map({ ndcg > $0.ndcg }) ?? true { best = (k, h, ndcg) }
                }
            }
            let selection = seconds(clock.now - search)
            guard let best else { throw VecDBError(.invalidArgument, "the item-kNN grid is empty") }
            let start = clock.now
            let model = try ItemKNNModel.fit(split.train, neighbours: best.k, shrinkage: best.h)
            return TrainedBaseline(
                kind: kind, params: ["neighbours": Double(best.k), "shrinkage": Double(best.h)], model: model,
                trainSeconds: seconds(clock.now - start), selectionSeconds: selection, validationNDCG10: best.ndcg)
        case .ease:
            let search = clock.now
            let inner = try split.validation(seed: validationSeed)
            let evaluator = RankingEvaluator(inner)
            let gram = ItemGram.compute(inner.train)
            var best: (lambda: Float, ndcg: Double)?
            for lambda in grid.easeLambdas {
                let m = try EASEModel.fit(gram: gram, itemCount: inner.train.itemCount, lambda: lambda)
                let ndcg = evaluator.evaluate(m, threads: threads).ndcg10.mean
                if best.map({ ndcg > $0.ndcg }) ?? true { best = (lambda, ndcg) }
            }
            let selection = seconds(clock.now - search)
            guard let best else { throw VecDBError(.invalidArgument, "the EASE lambda grid is empty") }
            let start = clock.now
            let model = try EASEModel.fit(split.train, lambda: best.lambda)
            return TrainedBaseline(
                kind: kind, params: ["lambda": Double(best.lambda)], model: model,
                trainSeconds: seconds(clock.now - start), selectionSeconds: selection, validationNDCG10: best.ndcg)
        }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
