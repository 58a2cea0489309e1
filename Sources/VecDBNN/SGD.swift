import CVecDBKernels
import VecDBKernels

/// Stochastic gradient descent with momentum (optionally Nesterov) and L2 weight decay:
/// `v ← μ·v + (g + λ·w)`, `w ← w − lr·v`.
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float
    public let weightDecay: Float
    public let nesterov: Bool
    public private(set) var stepCount = 0
    var velocity: [ObjectIdentifier: [Float]] = [:]

    public init(learningRate: Float, momentum: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    public func step(_ parameters: [Parameter]) {
        stepCount += 1
        for p in parameters where p.isTrainable {
            let key = ObjectIdentifier(p)
            var v = velocity[key] ?? [Float](repeating: 0, count: p.value.count)
            velocity[key] = nil
            if p.isSparse {
                let w = p.rowWidth
                p.value.storage.withUnsafeMutableBufferPointer { wp in
                    p.sparseGradient.withUnsafeBufferPointer { gp in
                        v.withUnsafeMutableBufferPointer { vp in
                            guard let wb = wp.baseAddress, let gb = gp.baseAddress, let vb = vp.baseAddress else { return }
                            for (slot, row) in p.sparseRows.enumerated() {
                                let o = Int(row) * w
                                vdb_nn_sgd(wb + o, gb + slot * w, vb + o, w, learningRate, momentum, weightDecay, nesterov ? 1 : 0)
                            }
                        }
                    }
                }
            } else {
                p.value.storage.withUnsafeMutableBufferPointer { wp in
                    p.gradient.storage.withUnsafeBufferPointer { gp in
                        v.withUnsafeMutableBufferPointer { vp in
                            vdb_nn_sgd(
                                wp.baseAddress, gp.baseAddress, vp.baseAddress, wp.count, learningRate, momentum,
                                weightDecay, nesterov ? 1 : 0)
                        }
                    }
                }
            }
            velocity[key] = v
        }
    }
}
