/// Where a deep model's training stands, reported after every epoch.
///
/// ``DeepModelTrainer`` runs three phases: the hyper-parameter and epoch selection on the
/// validation split (one run per grid setting, each stopped early), the final fit on all of
/// train, and, on refresh, the fine-tune warm-started from the previous version.
/// ``etaSeconds`` is an estimate from the mean epoch time so far: a selection run is assumed to
/// go on until the patience after its best epoch, and the final fit to last as many epochs as the
/// best run so far chose.
public struct TrainingProgress: Sendable, Equatable {
    /// The stage of training.
    public enum Phase: String, Sendable {
        /// Choosing hyper-parameters and the epoch count on the validation split.
        case selection
        /// Fitting the chosen configuration on all of train.
        case final
        /// Continuing from the previous version on the current interactions (refresh).
        case fineTune = "fine-tune"
    }

    /// The model's name (`mult-dae`, `two-tower`, …).
    public var model: String
    /// The stage.
    public var phase: Phase
    /// The hyper-parameter setting being tried (`weight_decay=1e-05`), empty outside selection.
    public var setting: String
    /// The epoch just finished, from 1.
    public var epoch: Int
    /// The most epochs this run may take.
    public var epochs: Int
    /// The mean training loss over the epoch's batches.
    public var loss: Double
    /// Validation NDCG@10 measured after this epoch, when it was measured.
    public var validationNDCG10: Double?
    /// Seconds since training began.
    public var elapsedSeconds: Double
    /// Estimated seconds until training ends.
    public var etaSeconds: Double

    /// Creates a report.
    public init(
        model: String, phase: Phase, setting: String, epoch: Int, epochs: Int, loss: Double, validationNDCG10: Double?,
        elapsedSeconds: Double, etaSeconds: Double
    ) {
        self.model = model
        self.phase = phase
        self.setting = setting
        self.epoch = epoch
        self.epochs = epochs
        self.loss = loss
        self.validationNDCG10 = validationNDCG10
        self.elapsedSeconds = elapsedSeconds
        self.etaSeconds = etaSeconds
    }

    /// One line for a log or a terminal: model, phase, setting, epoch, loss, validation NDCG and ETA.
    public var line: String {
        var parts = ["\(model) \(phase.rawValue)"]
        if !setting.isEmpty { parts.append(setting) }
        parts.append("epoch \(epoch)/\(epochs)")
        parts.append("loss \(Self.format(loss, digits: 4))")
        if let v = validationNDCG10 { parts.append("val ndcg@10 \(Self.format(v, digits: 4))") }
        parts.append("elapsed \(Self.duration(elapsedSeconds))")
        parts.append("eta \(Self.duration(etaSeconds))")
        return parts.joined(separator: "  ")
    }

    static func format(_ x: Double, digits: Int) -> String {
        guard x.isFinite else { return "\(x)" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let r = (abs(x) * scale).rounded()
        let whole = Int(r / scale)
        var frac = String(Int(r.truncatingRemainder(dividingBy: scale)))
        while frac.count < digits { frac = "0" + frac }
        return (x < 0 ? "-" : "") + "\(whole).\(frac)"
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(max(seconds, 0).rounded())
        return s >= 60 ? "\(s / 60)m\(s % 60 < 10 ? "0" : "")\(s % 60)s" : "\(s)s"
    }
}

/// Accumulates epoch times and turns them into ``TrainingProgress`` reports.
struct ProgressClock {
    let model: String
    let clock = ContinuousClock()
    let start: ContinuousClock.Instant
    var epochsRun = 0

    init(model: String) {
        self.model = model
        start = clock.now
    }

    var elapsed: Double { BaselineTrainer.seconds(clock.now - start) }

    /// The report of an epoch; `remainingEpochs` is the estimate of epochs still to run after it.
    mutating func epochDone(
        phase: TrainingProgress.Phase, setting: String, epoch: Int, epochs: Int, loss: Double, validation: Double?,
        remainingEpochs: Int
    ) -> TrainingProgress {
        epochsRun += 1
        let seconds = elapsed
        return TrainingProgress(
            model: model, phase: phase, setting: setting, epoch: epoch, epochs: epochs, loss: loss, validationNDCG10: validation,
            elapsedSeconds: seconds, etaSeconds: seconds / Double(epochsRun) * Double(max(remainingEpochs, 0)))
    }
}
