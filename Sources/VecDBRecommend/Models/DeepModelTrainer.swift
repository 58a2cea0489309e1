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
    /// Two-tower: the item-id dropout (DropoutNet) every run uses; the cold-item protocol picks
    /// it on its own validation split.
    public var itemIDDropout: Float

    /// The defaults: decay ∈ {1e-5, 0.02}; temperature ∈ {0.05, 0.1}; no item-id dropout.
    public init(weightDecays: [Float] = [1e-5, 0.02], temperatures: [Float] = [0.05, 0.1], itemIDDropout: Float = 0) {
        self.weightDecays = weightDecays
        self.temperatures = temperatures
        self.itemIDDropout = itemIDDropout
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
    ///   - progress: called after every epoch of every phase.
    /// - Returns: the fitted model, its parameters and timings.
    /// - Throws: ``VecDBError`` from the fits.
    public static func train(
        _ kind: DeepModelKind, split: HoldoutSplit, validationSeed: UInt64, itemFeatures: [[Float]]? = nil, userFeatures: [[Float]]? = nil,
        grid: DeepModelGrid = .init(),
        threads: Int = 1,
        progress: (TrainingProgress) -> Void = { _ in }
    ) throws(VecDBError) -> TrainedDeepModel {
        BLAS.setThreads(threads)
        let clock = ContinuousClock()
        let search = clock.now
        var selection = Selection(kind: kind, evaluator: RankingEvaluator(try split.validation(seed: validationSeed)), threads: threads)
        let inner = selection.evaluator.train
        switch kind {
        case .multDAE, .multVAE:
            let variant: MultVAEModel.Variant = kind == .multDAE ? .dae : .vae
            let base = MultVAEConfiguration()
            let candidates = grid.weightDecays.map { decay in
                var c = base
                c.weightDecay = decay
                return c
            }
            try selection.run(
                candidates.map { "weight_decay=\($0.weightDecay)" }, maxEpochs: base.maxEpochs, every: base.evaluateEvery,
                patience: base.patience, progress: progress
            ) { (g: Int, afterEpoch: (Int, Float, MultVAEModel) throws(VecDBError) -> Bool) throws(VecDBError) in
                _ = try MultVAETrainer.fit(
                    variant, train: inner, epochs: base.maxEpochs, configuration: candidates[g], afterEpoch: afterEpoch)
            }
            let c = candidates[selection.chosen]
            let selectionSeconds = BaselineTrainer.seconds(clock.now - search)
            let start = clock.now
            let model = try MultVAETrainer.fit(variant, train: split.train, epochs: selection.best.epoch, configuration: c) {
                epoch, loss, _ in
                progress(selection.finalEpoch(epoch, loss: loss))
                return true
            }
            return TrainedDeepModel(
                kind: kind, params: params(c, variant: variant, epochs: selection.best.epoch), model: model,
                trainSeconds: BaselineTrainer.seconds(clock.now - start), selectionSeconds: selectionSeconds,
                validationNDCG10: selection.best.ndcg)
        case .twoTower, .twoTowerNoLogQ, .twoTowerFull:
            var base = TwoTowerConfiguration()
            base.softmax = TwoTowerConfiguration.softmax(of: kind)
            base.itemIDDropout = grid.itemIDDropout
            let candidates = grid.temperatures.map { temperature in
                var c = base
                c.temperature = temperature
                return c
            }
            try selection.run(
                candidates.map { "temperature=\($0.temperature)" }, maxEpochs: base.maxEpochs, every: base.evaluateEvery,
                patience: base.patience, progress: progress
            ) { (g: Int, afterEpoch: (Int, Float, TwoTowerModel) throws(VecDBError) -> Bool) throws(VecDBError) in
                _ = try TwoTowerTrainer.fit(
                    train: inner, itemFeatures: itemFeatures, userFeatures: userFeatures, epochs: base.maxEpochs,
                    configuration: candidates[g], afterEpoch: afterEpoch)
            }
            let c = candidates[selection.chosen]
            let selectionSeconds = BaselineTrainer.seconds(clock.now - search)
            let start = clock.now
            let model = try TwoTowerTrainer.fit(
                train: split.train, itemFeatures: itemFeatures, userFeatures: userFeatures, epochs: selection.best.epoch,
                configuration: c
            ) { epoch, loss, _ in
                progress(selection.finalEpoch(epoch, loss: loss))
                return true
            }
            var params = model.params
            params["epochs"] = Double(selection.best.epoch)
            params["lr"] = Double("\(c.learningRate)") ?? 0
            return TrainedDeepModel(
                kind: kind, params: params, model: model, trainSeconds: BaselineTrainer.seconds(clock.now - start),
                selectionSeconds: selectionSeconds, validationNDCG10: selection.best.ndcg)
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
    ///   - oldUserIndex: per user index of `train`, its index in `previous` (two-tower), or nil
    ///     when users are not to be carried over.
    ///   - itemFeatures: item feature rows in `previous`'s encoding (two-tower), or nil.
    ///   - userFeatures: user feature rows in `previous`'s encoding (two-tower), or nil.
    /// - Returns: the fine-tuned model, its parameters and timing (`selectionSeconds` 0).
    /// - Throws: ``VecDBError/Code/invalidArgument`` when `previous` is not a `kind` model; the
    ///   trainer's errors.
    public static func fineTune(
        _ kind: DeepModelKind, previous: any ItemScorer, params previousParams: [String: Double], train: InteractionMatrix,
        oldItemIndex: [Int?], oldUserIndex: [Int?]? = nil, itemFeatures: [[Float]]? = nil, userFeatures: [[Float]]? = nil,
        epochs: Int, threads: Int = 1, progress: (TrainingProgress) -> Void = { _ in }
    ) throws(VecDBError) -> TrainedDeepModel {
        BLAS.setThreads(threads)
        let clock = ContinuousClock()
        let start = clock.now
        var ticker = ProgressClock(model: kind.rawValue)
        func afterEpoch(_ epoch: Int, _ loss: Float) {
            progress(
                ticker.epochDone(
                    phase: .fineTune, setting: "", epoch: epoch, epochs: epochs, loss: Double(loss), validation: nil,
                    remainingEpochs: epochs - epoch))
        }
        let model: any EmbeddingModel
        var p: [String: Double]
        switch (kind, previous) {
        case (.multDAE, let m as MultVAEModel) where m.variant == .dae, (.multVAE, let m as MultVAEModel) where m.variant == .vae:
            var c = MultVAEConfiguration()
            if let d = previousParams["weight_decay"] { c.weightDecay = Float(d) }
            if let b = previousParams["beta_cap"] { c.betaCap = Float(b) }
            model = try MultVAETrainer.fineTune(m, train: train, oldItemIndex: oldItemIndex, epochs: epochs, configuration: c) {
                epoch, loss, _ in
                afterEpoch(epoch, loss)
                return true
            }
            p = params(c, variant: m.variant, epochs: Int(previousParams["epochs"] ?? 0))
        case (.twoTower, let m as TwoTowerModel), (.twoTowerNoLogQ, let m as TwoTowerModel), (.twoTowerFull, let m as TwoTowerModel):
            let c = TwoTowerConfiguration(params: m.params, softmax: TwoTowerConfiguration.softmax(of: kind))
            let tower = try TwoTowerTrainer.fineTune(
                previous: m, train: train, itemFeatures: itemFeatures, userFeatures: userFeatures, oldItemIndex: oldItemIndex,
                oldUserIndex: oldUserIndex ?? [Int?](repeating: nil, count: train.userCount), epochs: epochs, configuration: c
            ) { epoch, loss, _ in
                afterEpoch(epoch, loss)
                return true
            }
            model = tower
            p = tower.params
            p["epochs"] = previousParams["epochs"]
        default:
            throw VecDBError(.invalidArgument, "\(kind.rawValue): cannot fine-tune a \(type(of: previous))")
        }
        p["fine_tune_epochs"] = Double(epochs)
        return TrainedDeepModel(
            kind: kind, params: p, model: model, trainSeconds: BaselineTrainer.seconds(clock.now - start), selectionSeconds: 0,
            validationNDCG10: previousParams["validation_ndcg_10"] ?? 0)
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

    /// The grid and epoch selection every deep model shares: one run per candidate setting on
    /// the validation split, validation NDCG@10 every `every` epochs, a run stopped after
    /// `patience` measurements without a gain; the best (setting, epoch) wins.
    struct Selection {
        let kind: DeepModelKind
        let evaluator: RankingEvaluator
        let threads: Int
        var ticker: ProgressClock
        /// The best measurement so far over every run.
        var best = (epoch: 0, ndcg: -1.0)
        /// The index of the candidate that gave ``best``.
        var chosen = 0

        init(kind: DeepModelKind, evaluator: RankingEvaluator, threads: Int) {
            self.kind = kind
            self.evaluator = evaluator
            self.threads = threads
            ticker = ProgressClock(model: kind.rawValue)
        }

        /// Runs `fit(g, afterEpoch)` for each candidate g, `settings[g]` naming it in progress.
        mutating func run<Model: ItemScorer>(
            _ settings: [String], maxEpochs: Int, every: Int, patience: Int, progress: (TrainingProgress) -> Void,
            fit: (Int, (Int, Float, Model) throws(VecDBError) -> Bool) throws(VecDBError) -> Void
        ) throws(VecDBError) {
            // `progress` is only called during `fit`: it does not escape.
            try withoutActuallyEscaping(progress) { (progress) throws(VecDBError) in
                try runAll(settings, maxEpochs: maxEpochs, every: every, patience: patience, progress: progress, fit: fit)
            }
        }

        mutating func runAll<Model: ItemScorer>(
            _ settings: [String], maxEpochs: Int, every: Int, patience: Int, progress: @escaping (TrainingProgress) -> Void,
            fit: (Int, (Int, Float, Model) throws(VecDBError) -> Bool) throws(VecDBError) -> Void
        ) throws(VecDBError) {
            for g in settings.indices {
                var run = (epoch: 0, ndcg: -1.0)
                var sinceBest = 0
                try fit(g) { (epoch: Int, loss: Float, model: Model) throws(VecDBError) -> Bool in
                    var ndcg: Double?
                    var going = true
                    if epoch % every == 0 {
                        let v = evaluator.evaluate(model, threads: threads).ndcg10.mean
                        if v > run.ndcg {
                            run = (epoch, v)
                            sinceBest = 0
                        } else {
                            sinceBest += 1
                        }
                        going = sinceBest < patience
                        ndcg = v
                    }
                    // Left: this run until its patience runs out, the other runs about as long as
                    // the best so far, then the final fit.
                    let ends = going ? min(maxEpochs, max(run.epoch, epoch) + every * patience) : epoch
                    let typical = min(maxEpochs, max(run.epoch, best.epoch) + every * patience)
                    let final = max(run.ndcg > best.ndcg ? run.epoch : best.epoch, 1)
                    let left = (ends - epoch) + (settings.count - 1 - g) * typical + final
                    progress(
                        ticker.epochDone(
                            phase: .selection, setting: settings[g], epoch: epoch, epochs: maxEpochs, loss: Double(loss), validation: ndcg,
                            remainingEpochs: left))
                    return going
                }
                if run.ndcg > best.ndcg {
                    best = run
                    chosen = g
                }
            }
        }

        /// The report of an epoch of the final fit.
        mutating func finalEpoch(_ epoch: Int, loss: Float) -> TrainingProgress {
            ticker.epochDone(
                phase: .final, setting: "", epoch: epoch, epochs: best.epoch, loss: Double(loss), validation: nil,
                remainingEpochs: best.epoch - epoch)
        }
    }
}

extension TwoTowerConfiguration {
    /// The softmax of a two-tower model kind.
    static func softmax(of kind: DeepModelKind) -> Softmax {
        kind == .twoTower ? .inBatchLogQ : kind == .twoTowerNoLogQ ? .inBatch : .full
    }

    /// The configuration a model was trained with, read back from its ``TwoTowerModel/params``
    /// (the defaults where a value is missing).
    init(params: [String: Double], softmax: Softmax) {
        self.init()
        self.softmax = softmax
        func int(_ k: String) -> Int? { params[k].flatMap { $0.isFinite && $0 >= 0 && $0 < 1e9 ? Int($0) : nil } }
        if let v = params["temperature"], v > 0 { temperature = Float(v) }
        if let v = int("embedding"), v > 0 { embeddingWidth = v }
        if let v = int("hidden"), v > 0 { hidden = v }
        if let v = int("output"), v > 0 { output = v }
        if let v = int("batch"), v > 1 { batchSize = v }
        if let v = params["user_id"] { userID = v != 0 }
        if let v = params["user_features"] { userFeatures = v > 0 }
        if let v = params["id_dropout"], (0...1).contains(v) { userIDDropout = Float(v) }
        if let v = params["item_id_dropout"], (0...1).contains(v) { itemIDDropout = Float(v) }
        if let v = params["dropout"], (0..<1).contains(v) { dropout = Float(v) }
        if let v = params["batch_norm"] { batchNorm = v != 0 }
        if let v = params["weight_decay"], v >= 0 { weightDecay = Float(v) }
        if let v = params["lr"], v > 0 { learningRate = Float(v) }
    }
}
