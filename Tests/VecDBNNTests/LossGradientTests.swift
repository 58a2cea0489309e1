import Foundation
import Testing
import VecDBKernels
import VecDBTestSupport

@testable import VecDBNN

@Suite("Loss gradients against finite differences")
struct LossGradientTests {
    @Test func softmaxCrossEntropy() throws {
        let logits = GradientCheck.weights([4, 5], seed: 40)
        let labels: [Int32] = [0, 3, 4, 1]
        let (loss, grad) = try Loss.softmaxCrossEntropy(logits: logits, labels: labels)
        try GradientCheck.checkFunction([logits], gradients: [grad]) { try Loss.softmaxCrossEntropy(logits: $0[0], labels: labels).loss }
        // Against the definition.
        var want = 0.0
        for r in 0..<4 {
            let row = (0..<5).map { Double(logits[r, $0]) }
            want += log(row.map { exp($0) }.reduce(0, +)) - row[Int(labels[r])]
        }
        #expect(abs(Double(loss) - want / 4) < 1e-5)
        // Stable for large logits.
        let big = try Loss.softmaxCrossEntropy(logits: Tensor(shape: [1, 2], storage: [1000, 0]), labels: [1])
        #expect(abs(big.loss - 1000) < 1e-2)
    }

    @Test func inBatchSampledSoftmax() throws {
        let u = GradientCheck.weights([4, 3], seed: 41)
        let v = GradientCheck.weights([4, 3], seed: 42)
        let logQ: [Float] = [-1, -2.5, -0.5, -3]
        let out = try Loss.inBatchSampledSoftmax(queries: u, items: v, logQ: logQ, temperature: 0.5)
        try GradientCheck.checkFunction([u, v], gradients: [out.queryGradient, out.itemGradient]) { xs in
            try Loss.inBatchSampledSoftmax(queries: xs[0], items: xs[1], logQ: logQ, temperature: 0.5).loss
        }
        // The logQ correction: logits are (u·v)/T − log q_j.
        var want = 0.0
        for i in 0..<4 {
            let l = (0..<4).map { j in (0..<3).map { Double(u[i, $0] * v[j, $0]) }.reduce(0, +) / 0.5 - Double(logQ[j]) }
            want += log(l.map { exp($0) }.reduce(0, +)) - l[i]
        }
        #expect(abs(Double(out.loss) - want / 4) < 1e-4)
    }

    @Test func multinomialLogLikelihood() throws {
        let logits = GradientCheck.weights([3, 6], seed: 43)
        var x = Tensor(zeros: [3, 6])
        for (r, c) in [(0, 1), (0, 4), (1, 0), (2, 2), (2, 3), (2, 5)] { x[r, c] = 1 }
        let (loss, grad) = try Loss.multinomialLogLikelihood(logits: logits, targets: x)
        try GradientCheck.checkFunction([logits], gradients: [grad]) { try Loss.multinomialLogLikelihood(logits: $0[0], targets: x).loss }
        #expect(loss > 0)
    }

    @Test func gaussianKLDivergence() throws {
        let mu = GradientCheck.weights([3, 4], seed: 44)
        var lv = GradientCheck.weights([3, 4], seed: 45)
        lv.scale(by: 0.5)
        let out = try Loss.gaussianKLDivergence(mean: mu, logVariance: lv)
        try GradientCheck.checkFunction([mu, lv], gradients: [out.meanGradient, out.logVarianceGradient]) { xs in
            try Loss.gaussianKLDivergence(mean: xs[0], logVariance: xs[1]).loss
        }
        let zero = try Loss.gaussianKLDivergence(mean: Tensor(zeros: [2, 3]), logVariance: Tensor(zeros: [2, 3]))
        #expect(zero.loss == 0)
    }

    @Test func bpr() throws {
        let pos = GradientCheck.weights([6], seed: 46)
        let neg = GradientCheck.weights([6], seed: 47)
        let out = try Loss.bpr(positive: pos, negative: neg)
        try GradientCheck.checkFunction([pos, neg], gradients: [out.positiveGradient, out.negativeGradient]) { xs in
            try Loss.bpr(positive: xs[0], negative: xs[1]).loss
        }
        let want = zip(pos.storage, neg.storage).map { log(1 + exp(-Double($0 - $1))) }.reduce(0, +) / 6
        #expect(abs(Double(out.loss) - want) < 1e-5)
    }

    @Test func lossShapeErrors() {
        expectVecDBError(.dimensionMismatch, containing: "[3, 4]") {
            try Loss.softmaxCrossEntropy(logits: Tensor(zeros: [3, 4]), labels: [0, 1])
        }
        expectVecDBError(.invalidArgument, containing: "label 7") {
            try Loss.softmaxCrossEntropy(logits: Tensor(zeros: [1, 4]), labels: [7])
        }
        expectVecDBError(.dimensionMismatch, containing: "[2, 3] and [2, 4]") {
            try Loss.multinomialLogLikelihood(logits: Tensor(zeros: [2, 3]), targets: Tensor(zeros: [2, 4]))
        }
    }
}
