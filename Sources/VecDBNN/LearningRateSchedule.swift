#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A learning rate as a function of the step: `base · factor(step)`.
///
/// ```swift
/// let schedule = LearningRateSchedule.warmup(steps: 500, then: .cosine(totalSteps: 10_000, minimumFactor: 0.01))
/// optimizer.learningRate = schedule.rate(base: 1e-3, step: optimizer.stepCount)
/// ```
public indirect enum LearningRateSchedule: Sendable, Equatable {
    /// Always the base rate.
    case constant
    /// Multiplied by `factor` every `every` steps.
    case step(every: Int, factor: Float)
    /// Cosine decay from 1 to `minimumFactor` over `totalSteps`, then flat.
    case cosine(totalSteps: Int, minimumFactor: Float)
    /// Linear warm-up from 1/steps to 1 over `steps`, then `then` (counted from the end of the warm-up).
    case warmup(steps: Int, then: LearningRateSchedule)

    /// The multiplier of the base rate at `step` (0-based).
    public func factor(at step: Int) -> Float {
        switch self {
        case .constant:
            return 1
        case .step(let every, let factor):
            return powf(factor, Float(max(step, 0) / max(every, 1)))
        case .cosine(let total, let minimum):
            let p = min(Float(max(step, 0)) / Float(max(total, 1)), 1)
            return minimum + (1 - minimum) * 0.5 * (1 + cosf(Float.pi * p))
        case .warmup(let steps, let then):
            if step < steps { return Float(step + 1) / Float(max(steps, 1)) }
            return then.factor(at: step - steps)
        }
    }

    /// `base · factor(at: step)`.
    public func rate(base: Float, step: Int) -> Float { base * factor(at: step) }
}
