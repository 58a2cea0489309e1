import CVecDBKernels
import VecDBKernels

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Adam, and AdamW with decoupled weight decay.
///
/// `d = g + λ₂·w` (L2 decay, Adam), `m ← β₁m + (1−β₁)d`, `v ← β₂v + (1−β₂)d²`,
/// `w ← w − lr·(m̂ / (√v̂ + ε) + λ_w·w)` with bias-corrected `m̂ = m / (1−β₁ᵗ)`, `v̂ = v / (1−β₂ᵗ)`,
/// and `λ_w` the decoupled (AdamW) decay. Sparse rows use the global step `t` (lazy Adam).
public final class Adam: Optimizer {
    public var learningRate: Float
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float
    /// L2 decay added to the gradient (classic Adam).
    public let weightDecay: Float
    /// Decoupled decay applied to the weights (AdamW).
    public let decoupledWeightDecay: Float
    public private(set) var stepCount = 0
    var moments: [ObjectIdentifier: (m: [Float], v: [Float])] = [:]

    public init(
        learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
        weightDecay: Float = 0, decoupledWeightDecay: Float = 0
    ) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
    }

    /// AdamW: Adam with decoupled weight decay (Loshchilov & Hutter).
    public static func adamW(
        learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
        weightDecay: Float = 0.01
    ) -> Adam {
        Adam(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, decoupledWeightDecay: weightDecay)
    }

    public func step(_ parameters: [Parameter]) {
        stepCount += 1
        let t = Float(stepCount)
        let bc1 = 1 - powf(beta1, t)
        let bc2 = 1 - powf(beta2, t)
        for p in parameters where p.isTrainable {
            let key = ObjectIdentifier(p)
            var state = moments[key] ?? ([Float](repeating: 0, count: p.value.count), [Float](repeating: 0, count: p.value.count))
            moments[key] = nil
            let w = p.rowWidth
            p.value.storage.withUnsafeMutableBufferPointer { wp in
                state.m.withUnsafeMutableBufferPointer { mp in
                    state.v.withUnsafeMutableBufferPointer { vp in
                        guard let wb = wp.baseAddress, let mb = mp.baseAddress, let vb = vp.baseAddress else { return }
                        if p.isSparse {
                            p.sparseGradient.withUnsafeBufferPointer { gp in
                                guard let gb = gp.baseAddress else { return }
                                for (slot, row) in p.sparseRows.enumerated() {
                                    let o = Int(row) * w
                                    vdb_nn_adam(
                                        wb + o, gb + slot * w, mb + o, vb + o, w, learningRate, beta1, beta2, epsilon,
                                        bc1, bc2, weightDecay, decoupledWeightDecay)
                                }
                            }
                        } else {
                            p.gradient.storage.withUnsafeBufferPointer { gp in
                                vdb_nn_adam(
                                    wb, gp.baseAddress, mb, vb, wp.count, learningRate, beta1, beta2, epsilon,
                                    bc1, bc2, weightDecay, decoupledWeightDecay)
                            }
                        }
                    }
                }
            }
            moments[key] = state
        }
    }
}
