import VecDBKernels

/// The neural models the library trains, by their `vecdb recommend eval` names.
public enum DeepModelKind: String, CaseIterable, Sendable {
    /// ``MultVAEModel`` as Mult-DAE.
    case multDAE = "mult-dae"
    /// ``MultVAEModel`` as Mult-VAE.
    case multVAE = "mult-vae"
    /// ``TwoTowerModel`` with in-batch softmax and logQ correction.
    case twoTower = "two-tower"
    /// ``TwoTowerModel`` with in-batch softmax, no correction.
    case twoTowerNoLogQ = "two-tower-no-logq"
    /// ``TwoTowerModel`` with a full softmax over the catalogue.
    case twoTowerFull = "two-tower-full"

    /// Parses a model name; nil when it names no deep model.
    public init?(parsing name: String) { self.init(rawValue: name.lowercased()) }
}

/// The hyper-parameter values tried on the validation split, each with its own epoch selection.
public struct DeepModelGrid: Sendable, Equatable {
    /// Mult-DAE/VAE: L2 weight decays (Liang et al. use 0.01 on the summed squares for the DAE, a 0.02 gradient term).
    public var weightDecays: [Float]
    /// Two-tower: softmax temperatures.
    public var temperatures: [Float]

    /// The defaults: decay ∈ {1e-5, 0.02}; temperature ∈ {0.05, 0.1}.
    public init(weightDecays: [Float] = [1e-5, 0.02], temperatures: [Float] = [0.05, 0.1]) {
        self.weightDecays = weightDecays
        self.temperatures = temperatures
    }
}

/// A deep model fitted on the whole training split for the number of epochs that scored best on
/// the validation split.
public struct TrainedDeepModel: Sendable {
    /// Which model.
    public var kind: DeepModelKind
    /// The hyper-parameters, the chosen `epochs` among them.
    public var params: [String: Double]
    /// The fitted model.
    public var model: any EmbeddingModel
    /// Seconds to fit the final model on the training split (epoch selection excluded).
    public var trainSeconds: Double
    /// Seconds of the epoch selection on the validation split.
    public var selectionSeconds: Double
    /// NDCG@10 at the chosen epoch on the validation split.
    public var validationNDCG10: Double
}

/// Trains deep models: the number of epochs is chosen by validation NDCG@10 on a split carved
/// from train only (``HoldoutSplit/validation(testFraction:seed:)``), with early stopping, then
/// the model is refitted on all of train for that many epochs.
public enum DeepModelTrainer {
    /// Trains `kind` on `split.train`.
    ///
    /// - Parameters:
    ///   - kind: the model.
    ///   - split: the train/test split; only `train` is read.
    ///   - validationSeed: the seed of the validation split carved from train.
    ///   - itemFeatures: content features per item index for the two-tower item tower, or nil.
    ///   - userFeatures: features per user index for the two-tower user tower, or nil.
    ///   - grid: the hyper-parameter values tried on the validation split.
    ///   - threads: threads for BLAS and for the validation evaluation.
    ///   - log: progress lines.
    /// - Returns: the fitted model, its parameters and timings.
    /// - Throws: ``VecDBError`` from the fits.
    public static func train(
        _ kind: DeepModelKind, split: HoldoutSplit, validationSeed: UInt64, itemFeatures: [[Float]]? = nil, userFeatures: [[Float]]? = nil,
        grid: DeepModelGrid = .init(),
        threads: Int = 1,
        log: (String) -> Void = { _ in }
    ) throws(VecDBError) -> TrainedDeepModel {
        BLAS.setThreads(threads)
        let clock = ContinuousClock()
        let search = clock.now
        let inner = try split.validation(seed: validationSeed)
        let evaluator = RankingEvaluator(inner)
        var best = (epoch: 0, ndcg: -1.0)
        switch kind {
        case .multDAE, .multVAE:
            let variant: MultVAEModel.Variant = kind == .multDAE ? .dae : .vae
            var c = MultVAEConfiguration()
            var chosen = c
            for decay in grid.weightDecays {
                var candidate = c
                candidate.weightDecay = decay
                var run = (epoch: 0, ndcg: -1.0)
                var sinceBest = 0
                _ = try MultVAETrainer.fit(variant, train: inner.train, epochs: c.maxEpochs, configuration: candidate) { epoch, model in
                    guard epoch % c.evaluateEvery == 0 else { return true }
                    let ndcg = evaluator.evaluate(model, threads: threads).ndcg10.mean
                    log("\(kind.rawValue) weight decay \(decay): epoch \(epoch) validation ndcg@10 \(ndcg)")
                    return keepGoing(epoch, ndcg, &run, &sinceBest, patience: c.patience)
                }
                if run.ndcg > best.ndcg {
                    best = run
                    chosen = candidate
                }
            }
            c = chosen
            let selection = BaselineTrainer.seconds(clock.now - search)
            let start = clock.now
            let model = try MultVAETrainer.fit(variant, train: split.train, epochs: best.epoch, configuration: c)
            var params: [String: Double] = [
                "epochs": Double(best.epoch), "hidden": Double(c.hidden), "latent": Double(c.latent),
                "dropout": Double("\(c.inputDropout)") ?? 0, "lr": Double("\(c.learningRate)") ?? 0, "batch": Double(c.batchSize),
            ]
            params["weight_decay"] = Double("\(c.weightDecay)") ?? 0
            if variant == .vae { params["beta_cap"] = Double("\(c.betaCap)") ?? 0 }
            return TrainedDeepModel(
                kind: kind, params: params, model: model, trainSeconds: BaselineTrainer.seconds(clock.now - start),
                selectionSeconds: selection, validationNDCG10: best.ndcg)
        case .twoTower, .twoTowerNoLogQ, .twoTowerFull:
            var c = TwoTowerConfiguration()
            c.softmax = kind == .twoTower ? .inBatchLogQ : kind == .twoTowerNoLogQ ? .inBatch : .full
            var chosen = c
            for temperature in grid.temperatures {
                var candidate = c
                candidate.temperature = temperature
                var run = (epoch: 0, ndcg: -1.0)
                var sinceBest = 0
                _ = try TwoTowerTrainer.fit(
                    train: inner.train, itemFeatures: itemFeatures, userFeatures: userFeatures, epochs: c.maxEpochs,
                    configuration: candidate
                ) { epoch, model in
                    guard epoch % c.evaluateEvery == 0 else { return true }
                    let ndcg = evaluator.evaluate(model, threads: threads).ndcg10.mean
                    log("\(kind.rawValue) temperature \(temperature): epoch \(epoch) validation ndcg@10 \(ndcg)")
                    return keepGoing(epoch, ndcg, &run, &sinceBest, patience: c.patience)
                }
                if run.ndcg > best.ndcg {
                    best = run
                    chosen = candidate
                }
            }
            c = chosen
            let selection = BaselineTrainer.seconds(clock.now - search)
            let start = clock.now
            let model = try TwoTowerTrainer.fit(
                train: split.train, itemFeatures: itemFeatures, userFeatures: userFeatures, epochs: best.epoch, configuration: c)
            var params = model.params
            params["epochs"] = Double(best.epoch)
            params["lr"] = Double("\(c.learningRate)") ?? 0
            return TrainedDeepModel(
                kind: kind, params: params, model: model, trainSeconds: BaselineTrainer.seconds(clock.now - start),
                selectionSeconds: selection, validationNDCG10: best.ndcg)
        }
    }

    /// Records a validation measurement; false once `patience` measurements brought no gain.
    static func keepGoing(_ epoch: Int, _ ndcg: Double, _ best: inout (epoch: Int, ndcg: Double), _ since: inout Int, patience: Int)
        -> Bool
    {
        if ndcg > best.ndcg {
            best = (epoch, ndcg)
            since = 0
        } else {
            since += 1
        }
        return since < patience
    }
}
