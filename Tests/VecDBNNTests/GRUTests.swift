import Foundation
import Testing
import VecDBKernels
import VecDBTestSupport

@testable import VecDBNN

/// The GRU layer: finite differences through time, padding, and the gate equations.
@Suite("GRU")
struct GRUTests {
    @Test("backpropagation through time matches finite differences, for the input and every weight")
    func gradients() throws {
        var g = SeededGenerator(seed: 41)
        let gru = GRU(3, hidden: 4, name: "gru", generator: &g)
        try GradientCheck.check(gru, input: GradientCheck.weights([2, 5, 3], seed: 42), training: true)
    }

    @Test("with padded sequences the gradients still match finite differences, and padding gets none")
    func maskedGradients() throws {
        var g = SeededGenerator(seed: 43)
        let gru = GRU(3, hidden: 4, name: "gru", generator: &g)
        let x = GradientCheck.weights([3, 4, 3], seed: 44)
        let lengths = [4, 2, 0]
        let y = try gru.forward(x, lengths: lengths, training: true)
        let r = GradientCheck.weights(y.shape, seed: 45)
        gru.zeroGradients()
        let dx = try gru.backward(r)
        // Padded steps: zero output, and no gradient to their input.
        for (b, n) in lengths.enumerated() {
            for t in n..<4 {
                #expect(y.storage[((b * 4) + t) * 4..<((b * 4) + t + 1) * 4].allSatisfy { $0 == 0 })
                #expect(dx.storage[((b * 4) + t) * 3..<((b * 4) + t + 1) * 3].allSatisfy { $0 == 0 })
            }
        }
        let params = gru.parameters
        let values = params.map(\.value)
        try GradientCheck.checkFunction([x] + values, gradients: [dx] + params.map(\.gradient)) { xs in
            for (p, v) in zip(params, xs.dropFirst()) { p.value = v }
            return Float(GradientCheck.dot(try gru.forward(xs[0], lengths: lengths, training: true), r))
        }
        for (p, v) in zip(params, values) { p.value = v }
    }

    @Test("a sequence padded in a batch gives the states it gives alone")
    func paddingIsInvisible() throws {
        var g = SeededGenerator(seed: 46)
        let gru = GRU(2, hidden: 3, name: "gru", generator: &g)
        let long = GradientCheck.weights([1, 5, 2], seed: 47)
        let short = GradientCheck.weights([1, 3, 2], seed: 48)
        var padded = [Float](repeating: 9, count: 2 * 5 * 2)  // garbage in the padding
        for i in 0..<10 { padded[i] = long.storage[i] }
        for i in 0..<6 { padded[10 + i] = short.storage[i] }
        let both = try gru.forward(try Tensor(shape: [2, 5, 2], storage: padded), lengths: [5, 3], training: false)
        let alone = try gru.forward(short, training: false)
        for i in 0..<9 { #expect(abs(both.storage[15 + i] - alone.storage[i]) < 1e-6) }
        let first = try gru.forward(long, training: false)
        #expect(Array(both.storage[0..<15]) == first.storage)
    }

    @Test("one step equals the gate equations computed by hand in Double")
    func oneStepByHand() throws {
        var g = SeededGenerator(seed: 49)
        let gru = GRU(2, hidden: 2, name: "gru", generator: &g)
        let x: [Float] = [0.5, -1.25, 0.75, 0.25]  // two steps
        let y = try gru.forward(try Tensor(shape: [1, 2, 2], storage: x), training: false)
        let (wi, wh) = (gru.weightIH.value.storage.map(Double.init), gru.weightHH.value.storage.map(Double.init))
        let (bi, bh) = (gru.biasIH.value.storage.map(Double.init), gru.biasHH.value.storage.map(Double.init))
        func sigmoid(_ v: Double) -> Double { 1 / (1 + exp(-v)) }
        var h = [0.0, 0.0]
        for t in 0..<2 {
            let xt = [Double(x[2 * t]), Double(x[2 * t + 1])]
            func pre(_ w: [Double], _ v: [Double], _ row: Int) -> Double { w[row * 2] * v[0] + w[row * 2 + 1] * v[1] }
            var next = h
            for j in 0..<2 {
                let r = sigmoid(pre(wi, xt, j) + bi[j] + pre(wh, h, j) + bh[j])
                let z = sigmoid(pre(wi, xt, 2 + j) + bi[2 + j] + pre(wh, h, 2 + j) + bh[2 + j])
                let n = tanh(pre(wi, xt, 4 + j) + bi[4 + j] + r * (pre(wh, h, 4 + j) + bh[4 + j]))
                next[j] = (1 - z) * n + z * h[j]
            }
            h = next
            for j in 0..<2 { #expect(abs(Double(y.storage[t * 2 + j]) - h[j]) < 1e-6, "step \(t) unit \(j)") }
        }
    }

    @Test("bad shapes and lengths are typed errors")
    func badInput() throws {
        var g = SeededGenerator(seed: 50)
        let gru = GRU(3, hidden: 2, generator: &g)
        expectVecDBError(.dimensionMismatch, containing: "expects input [batch, steps, 3]") {
            try gru.forward(Tensor(zeros: [2, 4, 2]), training: true)
        }
        expectVecDBError(.invalidArgument, containing: "outside 0...4") {
            try gru.forward(Tensor(zeros: [2, 4, 3]), lengths: [4, 5], training: true)
        }
        expectVecDBError(.invalidArgument, containing: "1 lengths for a batch of 2") {
            try gru.forward(Tensor(zeros: [2, 4, 3]), lengths: [4], training: true)
        }
        let fresh = GRU(3, hidden: 2, generator: &g)
        expectVecDBError(.invalidArgument, containing: "backward called before forward") { try fresh.backward(Tensor(zeros: [1, 1, 2])) }
    }
}
