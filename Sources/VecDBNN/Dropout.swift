import CVecDBKernels
import VecDBKernels

/// Inverted dropout: in training, each value is zeroed with probability `rate` and the rest are
/// scaled by 1 / (1 − rate); in evaluation it is the identity.
///
/// The mask comes from the layer's own ``SeededGenerator``, so a seeded run is repeatable.
public final class Dropout: Layer {
    public let name: String
    public let rate: Float
    public var generator: SeededGenerator
    /// Tests: reuse the last mask instead of drawing a new one (for finite differences).
    var freezesMask = false
    var mask: [Float]?
    var lastTraining = false

    public init(rate: Float, seed: UInt64 = 0, name: String = "dropout") {
        self.name = name
        self.rate = min(max(rate, 0), 0.999)
        self.generator = SeededGenerator(seed: seed)
    }

    public func forward(_ x: Tensor, training: Bool) throws(VecDBError) -> Tensor {
        lastTraining = training
        guard training, rate > 0 else { return x }
        if !(freezesMask && mask?.count == x.count) {
            let keep = 1 / (1 - rate)
            var m = [Float](repeating: 0, count: x.count)
            for i in m.indices { m[i] = generator.nextUnitFloat() < rate ? 0 : keep }
            mask = m
        }
        guard let m = mask else { return x }
        var y = Tensor(uninitialized: x.shape)
        x.storage.withUnsafeBufferPointer { xp in
            m.withUnsafeBufferPointer { mp in
                y.storage.withUnsafeMutableBufferPointer { vdb_nn_mul(xp.baseAddress, mp.baseAddress, $0.baseAddress, xp.count) }
            }
        }
        return y
    }

    public func backward(_ g: Tensor) throws(VecDBError) -> Tensor {
        guard lastTraining, rate > 0 else { return g }
        let m = try cached(mask, "mask")
        guard m.count == g.count else {
            throw VecDBError(
                .dimensionMismatch, "\(name): gradient shape \(Tensor.describe(g.shape)) differs from the last input's size \(m.count)")
        }
        var dx = Tensor(uninitialized: g.shape)
        g.storage.withUnsafeBufferPointer { gp in
            m.withUnsafeBufferPointer { mp in
                dx.storage.withUnsafeMutableBufferPointer { vdb_nn_mul(gp.baseAddress, mp.baseAddress, $0.baseAddress, gp.count) }
            }
        }
        return dx
    }
}
