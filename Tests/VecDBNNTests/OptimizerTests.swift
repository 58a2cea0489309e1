import Foundation
import Testing
import VecDBKernels
import VecDBTestSupport

@testable import VecDBNN

@Suite("Optimisers, clipping and schedules")
struct OptimizerTests {
    func parameter(_ values: [Float], grad: [Float]) throws -> Parameter {
        let p = Parameter(name: "p", value: try Tensor(shape: [values.count], storage: values))
        p.gradient = try Tensor(shape: [grad.count], storage: grad)
        return p
    }

    @Test func sgdMomentumAndWeightDecay() throws {
        let p = try parameter([1, -2], grad: [0.5, 0.25])
        let opt = SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
        opt.step([p])
        // v = g + λw; w -= lr·v
        let v1: [Float] = [0.5 + 0.01, 0.25 - 0.02]
        #expect(abs(p.value.storage[0] - (1 - 0.1 * v1[0])) < 1e-6)
        let w1 = p.value.storage
        opt.step([p])
        let v2 = (0..<2).map { 0.9 * v1[$0] + ([0.5, 0.25][$0] + 0.01 * w1[$0]) }
        for i in 0..<2 { #expect(abs(p.value.storage[i] - (w1[i] - 0.1 * v2[i])) < 1e-6) }
    }

    @Test func adamAndAdamW() throws {
        let a = try parameter([1, -2], grad: [0.5, -0.25])
        Adam(learningRate: 0.1).step([a])
        // The first Adam step moves each weight by lr·sign(g) (bias correction makes m̂/√v̂ = ±1).
        #expect(abs(a.value.storage[0] - 0.9) < 1e-5)
        #expect(abs(a.value.storage[1] - -1.9) < 1e-5)
        let w = try parameter([1, -2], grad: [0, 0])
        Adam.adamW(learningRate: 0.1, weightDecay: 0.5).step([w])
        // Zero gradient: AdamW still decays the weight by lr·λ·w; L2-coupled Adam would not move it by that.
        #expect(abs(w.value.storage[0] - 0.95) < 1e-6)
        #expect(abs(w.value.storage[1] - -1.9) < 1e-6)
    }

    @Test func sparseUpdatesTouchOnlyUsedRows() throws {
        var g = SeededGenerator(seed: 1)
        let table = Embedding(count: 5, dimension: 2, generator: &g)
        let before = table.weight.value
        _ = try table.forward(ids: [3, 1])
        try table.backward(Tensor(repeating: 1, shape: [2, 2]))
        Adam.adamW(learningRate: 0.1).step(table.parameters)
        for row in 0..<5 {
            let changed = (0..<2).contains { table.weight.value[row, $0] != before[row, $0] }
            #expect(changed == (row == 1 || row == 3), "row \(row)")
        }
        table.zeroGradients()
        #expect(table.weight.sparseRows.isEmpty)
        let sgdBefore = table.weight.value
        _ = try table.forward(ids: [0])
        try table.backward(Tensor(repeating: 1, shape: [1, 2]))
        SGD(learningRate: 0.5, momentum: 0.9).step(table.parameters)
        #expect(table.weight.value[0, 0] == sgdBefore[0, 0] - 0.5)
        #expect(table.weight.value[2, 0] == sgdBefore[2, 0])
    }

    @Test func globalNormClipping() throws {
        let a = try parameter([0, 0], grad: [3, 0])
        let b = try parameter([0], grad: [4])
        let norm = GradientClipping.clipGlobalNorm([a, b], maxNorm: 1)
        #expect(abs(norm - 5) < 1e-6)
        #expect(abs(a.gradient.storage[0] - 0.6) < 1e-6 && abs(b.gradient.storage[0] - 0.8) < 1e-6)
        GradientClipping.clipGlobalNorm([a, b], maxNorm: 10)
        #expect(abs(a.gradient.storage[0] - 0.6) < 1e-6)
    }

    @Test func schedules() {
        #expect(LearningRateSchedule.constant.factor(at: 100) == 1)
        let step = LearningRateSchedule.step(every: 10, factor: 0.5)
        #expect(step.factor(at: 9) == 1 && step.factor(at: 10) == 0.5 && step.factor(at: 25) == 0.25)
        let cosine = LearningRateSchedule.cosine(totalSteps: 100, minimumFactor: 0.1)
        #expect(cosine.factor(at: 0) == 1)
        #expect(abs(cosine.factor(at: 50) - 0.55) < 1e-5)
        #expect(abs(cosine.factor(at: 100) - 0.1) < 1e-6 && abs(cosine.factor(at: 500) - 0.1) < 1e-6)
        let warm = LearningRateSchedule.warmup(steps: 4, then: .constant)
        #expect(warm.factor(at: 0) == 0.25 && warm.factor(at: 3) == 1 && warm.factor(at: 10) == 1)
        #expect(warm.rate(base: 0.2, step: 1) == 0.1)
    }
}
