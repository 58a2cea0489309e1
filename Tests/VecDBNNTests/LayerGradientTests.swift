import Foundation
import Testing
import VecDBKernels
import VecDBTestSupport

@testable import VecDBNN

@Suite("Layer gradients against finite differences")
struct LayerGradientTests {
    @Test func linear() throws {
        var g = SeededGenerator(seed: 1)
        let layer = Linear(5, 4, name: "fc", generator: &g)
        try GradientCheck.check(layer, input: GradientCheck.weights([3, 5], seed: 2), training: true)
        // Leading axes are a batch too.
        try GradientCheck.check(layer, input: GradientCheck.weights([2, 3, 5], seed: 3), training: false)
    }

    @Test func linearWithoutBias() throws {
        var g = SeededGenerator(seed: 1)
        try GradientCheck.check(Linear(4, 3, bias: false, generator: &g), input: GradientCheck.weights([2, 4], seed: 2), training: true)
    }

    @Test(arguments: Activation.Kind.allCases)
    func activation(_ kind: Activation.Kind) throws {
        let x = GradientCheck.awayFromZero([3, 7], seed: 4)
        try GradientCheck.check(Activation(kind), input: x, training: true, epsilon: kind == .relu ? 1e-3 : 1e-2)
    }

    @Test func dropoutTrainAndEval() throws {
        let layer = Dropout(rate: 0.4, seed: 9)
        layer.freezesMask = true
        let x = GradientCheck.weights([4, 6], seed: 5)
        _ = try layer.forward(x, training: true)
        try GradientCheck.check(layer, input: x, training: true)
        let y = try layer.forward(x, training: true)
        let zeros = y.storage.filter { $0 == 0 }.count
        #expect(zeros > 0 && zeros < x.count)
        // Kept values are scaled by 1 / (1 − rate).
        for (a, b) in zip(x.storage, y.storage) where b != 0 { #expect(abs(b - a / 0.6) < 1e-5) }
        try GradientCheck.check(layer, input: x, training: false)
        #expect(try layer.forward(x, training: false) == x)
    }

    @Test func batchNorm1dTrainAndEval() throws {
        let layer = BatchNorm(channels: 3, name: "bn")
        layer.gamma.value = GradientCheck.weights([3], seed: 6)
        layer.beta.value = GradientCheck.weights([3], seed: 7)
        let x = GradientCheck.weights([5, 3], seed: 8)
        try GradientCheck.check(layer, input: x, training: true)
        for _ in 0..<5 { _ = try layer.forward(GradientCheck.weights([5, 3], seed: 9), training: true) }
        try GradientCheck.check(layer, input: x, training: false)
    }

    @Test func batchNorm2dTrainAndEval() throws {
        let layer = BatchNorm(channels: 2, name: "bn2d")
        layer.gamma.value = GradientCheck.weights([2], seed: 10)
        let x = GradientCheck.weights([3, 2, 3, 2], seed: 11)
        try GradientCheck.check(layer, input: x, training: true)
        _ = try layer.forward(GradientCheck.weights([3, 2, 3, 2], seed: 12), training: true)
        try GradientCheck.check(layer, input: x, training: false)
    }

    @Test func batchNormStatistics() throws {
        let layer = BatchNorm(channels: 2, momentum: 1)
        let x = try Tensor(shape: [4, 2], storage: [1, 10, 2, 20, 3, 30, 4, 40])
        let y = try layer.forward(x, training: true)
        // Each channel is normalised to mean 0, variance 1.
        for c in 0..<2 {
            let col = (0..<4).map { Double(y.storage[$0 * 2 + c]) }
            #expect(abs(col.reduce(0, +) / 4) < 1e-5)
            #expect(abs(col.map { $0 * $0 }.reduce(0, +) / 4 - 1) < 1e-3)
        }
        #expect(layer.runningMean.value.storage == [2.5, 25])
        #expect(abs(layer.runningVariance.value.storage[0] - 5.0 / 3.0) < 1e-5)  // unbiased
    }

    @Test func layerNorm() throws {
        let layer = LayerNorm(dimension: 6, name: "ln")
        layer.gamma.value = GradientCheck.weights([6], seed: 13)
        layer.beta.value = GradientCheck.weights([6], seed: 14)
        try GradientCheck.check(layer, input: GradientCheck.weights([2, 2, 6], seed: 15), training: true)
    }

    @Test func conv2d() throws {
        var g = SeededGenerator(seed: 16)
        let layer = Conv2D(inChannels: 2, outChannels: 3, kernel: 3, stride: 1, padding: 1, name: "conv", generator: &g)
        try GradientCheck.check(layer, input: GradientCheck.weights([2, 2, 5, 4], seed: 17), training: true)
    }

    @Test func conv2dStrided() throws {
        var g = SeededGenerator(seed: 18)
        let layer = Conv2D(inChannels: 1, outChannels: 2, kernel: 2, stride: 2, padding: 0, name: "conv", generator: &g)
        try GradientCheck.check(layer, input: GradientCheck.weights([2, 1, 5, 6], seed: 19), training: true)
        let padded = Conv2D(inChannels: 2, outChannels: 2, kernel: 3, stride: 2, padding: 1, name: "conv", generator: &g)
        try GradientCheck.check(padded, input: GradientCheck.weights([1, 2, 5, 6], seed: 32), training: true)
        let wide = Conv2D(inChannels: 1, outChannels: 2, kernel: 3, stride: 1, padding: 2, name: "conv", generator: &g)
        try GradientCheck.check(wide, input: GradientCheck.weights([1, 1, 3, 4], seed: 33), training: true)
    }

    @Test func conv2dMatchesDirectConvolution() throws {
        var g = SeededGenerator(seed: 20)
        let layer = Conv2D(inChannels: 2, outChannels: 2, kernel: 3, stride: 2, padding: 1, generator: &g)
        layer.bias?.value = try Tensor(shape: [2], storage: [0.5, -0.25])
        let x = GradientCheck.weights([1, 2, 5, 5], seed: 21)
        let y = try layer.forward(x, training: false)
        #expect(y.shape == [1, 2, 3, 3])
        for o in 0..<2 {
            for oh in 0..<3 {
                for ow in 0..<3 {
                    var s = Double(layer.bias?.value.storage[o] ?? 0)
                    for c in 0..<2 {
                        for i in 0..<3 {
                            for j in 0..<3 {
                                let ih = oh * 2 - 1 + i
                                let iw = ow * 2 - 1 + j
                                guard (0..<5).contains(ih), (0..<5).contains(iw) else { continue }
                                s += Double(layer.weight.value[o, c, i, j]) * Double(x[0, c, ih, iw])
                            }
                        }
                    }
                    #expect(abs(Double(y[0, o, oh, ow]) - s) < 1e-4)
                }
            }
        }
    }

    @Test func maxPool() throws {
        try GradientCheck.check(
            Pool2D(.max, kernel: 2), input: GradientCheck.distinct([2, 2, 4, 6], seed: 22), training: true, epsilon: 1e-3)
        let y = try Pool2D(.max, kernel: 2).forward(try Tensor(shape: [1, 1, 2, 2], storage: [1, 4, 3, 2]), training: false)
        #expect(y.storage == [4])
    }

    @Test func avgPool() throws {
        try GradientCheck.check(
            Pool2D(.average, kernel: 2, stride: 1), input: GradientCheck.weights([2, 1, 3, 4], seed: 23), training: true)
    }

    @Test func l2Normalize() throws {
        let x = GradientCheck.weights([3, 5], seed: 24)
        try GradientCheck.check(L2Normalize(), input: x, training: true, epsilon: 1e-3)
        let y = try L2Normalize().forward(x, training: false)
        for r in 0..<3 { #expect(abs((0..<5).map { y[r, $0] * y[r, $0] }.reduce(0, +) - 1) < 1e-5) }
    }

    @Test func flattenAndSequential() throws {
        var g = SeededGenerator(seed: 25)
        let model = Sequential(
            name: "net",
            [
                Conv2D(inChannels: 1, outChannels: 2, kernel: 3, padding: 1, name: "c1", generator: &g),
                Activation(.tanh),
                Pool2D(.average, kernel: 2),
                Flatten(),
                Linear(8, 3, name: "fc", generator: &g),
            ])
        try GradientCheck.check(model, input: GradientCheck.weights([2, 1, 4, 4], seed: 26), training: true)
        #expect(model.parameters.map(\.name) == ["c1.weight", "c1.bias", "fc.weight", "fc.bias"])
    }

    @Test func embeddingSparseGradient() throws {
        var g = SeededGenerator(seed: 27)
        let table = Embedding(count: 6, dimension: 3, name: "items", generator: &g)
        let ids: [Int32] = [4, 1, 4]
        let y = try table.forward(ids: ids)
        #expect(Array(y.storage[0..<3]) == Array(table.weight.value.storage[12..<15]))
        let r = GradientCheck.weights(y.shape, seed: 28)
        try table.backward(r)
        #expect(table.weight.sparseRows == [4, 1])
        // Row 4 was used twice: its gradient is the sum of both output rows.
        for j in 0..<3 {
            #expect(abs(table.weight.sparseGradient[j] - (r.storage[j] + r.storage[6 + j])) < 1e-6)
            #expect(table.weight.sparseGradient[3 + j] == r.storage[3 + j])
        }
        // Finite differences through the table.
        var analytic = [Float](repeating: 0, count: 18)
        for (slot, row) in table.weight.sparseRows.enumerated() {
            for j in 0..<3 { analytic[Int(row) * 3 + j] = table.weight.sparseGradient[slot * 3 + j] }
        }
        let weightsTensor = table.weight.value
        try GradientCheck.checkFunction([weightsTensor], gradients: [Tensor(uncheckedShape: [6, 3], storage: analytic)]) { xs in
            table.weight.value = xs[0]
            return Float(GradientCheck.dot(try table.forward(ids: ids), r))
        }
        table.weight.value = weightsTensor
        expectVecDBError(.invalidArgument, containing: "got id 6") { try table.forward(ids: [6]) }
    }

    @Test func concatenation() throws {
        let cat = Concatenation()
        let a = GradientCheck.weights([2, 3], seed: 29)
        let b = GradientCheck.weights([2, 2], seed: 30)
        let y = try cat.forward([a, b])
        #expect(y.shape == [2, 5])
        #expect(y[1, 3] == b[1, 0])
        let r = GradientCheck.weights([2, 5], seed: 31)
        let parts = try cat.backward(r)
        try GradientCheck.checkFunction([a, b], gradients: parts) { xs in
            Float(GradientCheck.dot(try Concatenation().forward(xs), r))
        }
    }
}
