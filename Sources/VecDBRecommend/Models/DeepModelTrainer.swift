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
    ///   - grid: the hyper-parameter values tried on the validation split.
    ///   - threads: threads for BLAS and for the validation evaluation.
    ///   - progress: called after every epoch of every phase.
    /// - Returns: the fitted model, its parameters and timings.
    /// - Throws: ``VecDBError`` from the fits.
    public static func train(
        _ kind: DeepModelKind, split: HoldoutSplit, validationSeed: UInt64, itemFeatures: [[Float]]? = nil, grid: DeepModelGrid = .init(),
        threads: Int = 1,
        progress: (TrainingProgress) -> Void = { _ in }
    ) throws(VecDBError) -> TrainedDeepModel {
        BLAS.setThreads(threads)
        let clock = ContinuousClock()
        let search = clock.now
        var ticker = ProgressClock(model: kind.rawValue)
        let inner = try split.validation(seed: validationSeed)
        let evaluator = RankingEvaluator(inner)
        var best = (epoch: 0, ndcg: -1.0)
        switch kind {
        case .multDAE, .multVAE:
            let variant: MultVAEModel.Variant = kind == .multDAE ? .dae : .vae
            var c = MultVAEConfiguration()
            var chosen = c
            for (g, decay) in grid.weightDecays.enumerated() {
                var candidate = c
                candidate.weightDecay = decay
                var run = (epoch: 0, ndcg: -1.0)
                var sinceBest = 0
                _ = try MultVAETrainer.fit(variant, train: inner.train, epochs: c.maxEpochs, configuration: candidate) {
                    epoch, loss, model in
                    var ndcg: Double?
                    var going = true
                    if epoch % c.evaluateEvery == 0 {
                        let v = evaluator.evaluate(model, threads: threads).ndcg10.mean
                        going = keepGoing(epoch, v, &run, &sinceBest, patience: c.patience)
                        ndcg = v
                    }
                    let left = remaining(
                        epoch: epoch, max: c.maxEpochs, run: run, best: best, every: c.evaluateEvery, patience: c.patience,
                        runsLeft: grid.weightDecays.count - 1 - g, going: going)
                    progress(
                        ticker.epochDone(
                            phase: .selection, setting: "weight_decay=\(decay)", epoch: epoch, epochs: c.maxEpochs, loss: Double(loss),
                            validation: ndcg, remainingEpochs: left))
                    return going
                }
                if run.ndcg > best.ndcg {
                    best = run
                    chosen = candidate
                }
            }
            c = chosen
            let selection = BaselineTrainer.seconds(clock.now - search)
            let start = clock.now
            let model = try MultVAETrainer.fit(variant, train: split.train, epochs: best.epoch, configuration: c) { epoch, loss, _ in
                progress(
                    ticker.epochDone(
                        phase: .final, setting: "", epoch: epoch, epochs: best.epoch, loss: Double(loss), validation: nil,
                        remainingEpochs: best.epoch - epoch))
                return true
            }
            return TrainedDeepModel(
                kind: kind, params: params(c, variant: variant, epochs: best.epoch), model: model,
                trainSeconds: BaselineTrainer.seconds(clock.now - start), selectionSeconds: selection, validationNDCG10: best.ndcg)
        case .twoTower, .twoTowerNoLogQ, .twoTowerFull:
            var c = TwoTowerConfiguration()
            c.softmax = kind == .twoTower ? .inBatchLogQ : kind == .twoTowerNoLogQ ? .inBatch : .full
            var chosen = c
            for (g, temperature) in grid.temperatures.enumerated() {
                var candidate = c
                candidate.temperature = temperature
                var run = (epoch: 0, ndcg: -1.0)
                var sinceBest = 0
                _ = try TwoTowerTrainer.fit(
                    train: inner.train, itemFeatures: itemFeatures, epochs: c.maxEpochs, configuration: candidate
                ) { epoch, loss, model in
                    var ndcg: Double?
                    var going = true
                    if epoch % c.evaluateEvery == 0 {
                        let v = evaluator.evaluate(model, threads: threads).ndcg10.mean
                        going = keepGoing(epoch, v, &run, &sinceBest, patience: c.patience)
                        ndcg = v
                    }
                    let left = remaining(
                        epoch: epoch, max: c.maxEpochs, run: run, best: best, every: c.evaluateEvery, patience: c.patience,
                        runsLeft: grid.temperatures.count - 1 - g, going: going)
                    progress(
                        ticker.epochDone(
                            phase: .selection, setting: "temperature=\(temperature)", epoch: epoch, epochs: c.maxEpochs, loss: Double(loss),
                            validation: ndcg, remainingEpochs: left))
                    return going
                }
                if run.ndcg > best.ndcg {
                    best = run
                    chosen = candidate
                }
            }
            c = chosen
            let selection = BaselineTrainer.seconds(clock.now - search)
            let start = clock.now
            let model = try TwoTowerTrainer.fit(train: split.train, itemFeatures: itemFeatures, epochs: best.epoch, configuration: c) {
                epoch, loss, _ in
                progress(
                    ticker.epochDone(
                        phase: .final, setting: "", epoch: epoch, epochs: best.epoch, loss: Double(loss), validation: nil,
                        remainingEpochs: best.epoch - epoch))
                return true
            }
            var params = model.params
            params["epochs"] = Double(best.epoch)
            params["lr"] = Double("\(c.learningRate)") ?? 0
            return TrainedDeepModel(
                kind: kind, params: params, model: model, trainSeconds: BaselineTrainer.seconds(clock.now - start),
                selectionSeconds: selection, validationNDCG10: best.ndcg)
        }
    }

    /// Continues training a previous version of `kind` on `train` (refresh): no selection, the
    /// previous version's hyper-parameters, `epochs` more epochs from its weights. Items new to
    /// `train` get fresh rows; users are not parameters of the autoencoders.
    ///
    /// - Parameters:
    ///   - kind: the model; `previous` must be of it.
    ///   - previous: the model of the version being refreshed.
    ///   - params: its hyper-parameters, as ``TrainedDeepModel/params`` recorded them.
    ///   - train: every current interaction.
    ///   - oldItemIndex: per item index of `train`, its index in `previous`, or nil.
    ///   - epochs: the epochs to run.
    ///   - threads: threads for BLAS.
    ///   - progress: called after every epoch.
    /// - Returns: the fine-tuned model, its parameters and timing (`selectionSeconds` 0).
    /// - Throws: ``VecDBError/Code/invalidArgument`` when `previous` is not a `kind` model; the
    ///   trainer's errors.
    public static func fineTune(
        _ kind: DeepModelKind, previous: any ItemScorer, params previousParams: [String: Double], train: InteractionMatrix,
        oldItemIndex: [Int?], epochs: Int, threads: Int = 1, progress: (TrainingProgress) -> Void = { _ in }
    ) throws(VecDBError) -> TrainedDeepModel {
        BLAS.setThreads(threads)
        let clock = ContinuousClock()
        let start = clock.now
        var ticker = ProgressClock(model: kind.rawValue)
        switch (kind, previous) {
        case (.multDAE, let m as MultVAEModel) where m.variant == .dae, (.multVAE, let m as MultVAEModel) where m.variant == .vae:
            var c = MultVAEConfiguration()
            if let d = previousParams["weight_decay"] { c.weightDecay = Float(d) }
            if let b = previousParams["beta_cap"] { c.betaCap = Float(b) }
            let model = try MultVAETrainer.fineTune(m, train: train, oldItemIndex: oldItemIndex, epochs: epochs, configuration: c) {
                epoch, loss, _ in
                progress(
                    ticker.epochDone(
                        phase: .fineTune, setting: "", epoch: epoch, epochs: epochs, loss: Double(loss), validation: nil,
                        remainingEpochs: epochs - epoch))
                return true
            }
            var p = params(c, variant: m.variant, epochs: Int(previousParams["epochs"] ?? 0))
            p["fine_tune_epochs"] = Double(epochs)
            return TrainedDeepModel(
                kind: kind, params: p, model: model, trainSeconds: BaselineTrainer.seconds(clock.now - start),
                selectionSeconds: 0, validationNDCG10: previousParams["validation_ndcg_10"] ?? 0)
        default:
            throw VecDBError(.invalidArgument, "\(kind.rawValue): cannot fine-tune a \(type(of: previous))")
        }
    }

    /// The hyper-parameters of an autoencoder fit, as rows and checkpoints report them.
    static func params(_ c: MultVAEConfiguration, variant: MultVAEModel.Variant, epochs: Int) -> [String: Double] {
        var params: [String: Double] = [
            "epochs": Double(epochs), "hidden": Double(c.hidden), "latent": Double(c.latent),
            "dropout": Double("\(c.inputDropout)") ?? 0, "lr": Double("\(c.learningRate)") ?? 0, "batch": Double(c.batchSize),
        ]
        params["weight_decay"] = Double("\(c.weightDecay)") ?? 0
        if variant == .vae { params["beta_cap"] = Double("\(c.betaCap)") ?? 0 }
        return params
    }

    /// An estimate of the epochs left: this run until its patience runs out (or its maximum),
    /// the other grid runs as long as the best so far, then the final fit.
    static func remaining(
        epoch: Int, max: Int, run: (epoch: Int, ndcg: Double), best: (epoch: Int, ndcg: Double), every: Int, patience: Int,
        runsLeft: Int, going: Bool
    ) -> Int {
        let thisRunEnds = going ? min(max, Swift.max(run.epoch, epoch) + every * patience) : epoch
        let typical = Swift.max(run.epoch, best.epoch) + every * patience
        let finalEpochs = Swift.max(run.ndcg > best.ndcg ? run.epoch : best.epoch, 1)
        return (thisRunEnds - epoch) + runsLeft * Swift.min(typical, max) + finalEpochs
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
