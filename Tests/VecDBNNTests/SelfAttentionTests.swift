import Foundation
import Testing
import VecDBKernels
import VecDBTestSupport

@testable import VecDBNN

/// Trainable self-attention: finite differences, packing, causality, and agreement with the
/// inference pass the text encoder uses.
@Suite("Causal self-attention")
struct SelfAttentionTests {
    @Test("the backward pass matches finite differences, causal and not, one and two heads", arguments: [(true, 1), (true, 2), (false, 2)])
    func gradients(causal: Bool, heads: Int) throws {
        var g = SeededGenerator(seed: 61)
        let layer = CausalSelfAttention(width: 4, heads: heads, causal: causal, generator: &g)
        try GradientCheck.check(layer, input: GradientCheck.weights([5, 4], seed: 62), training: true)
    }

    @Test("packed spans: gradients match finite differences, and rows outside spans get none")
    func packedGradients() throws {
        var g = SeededGenerator(seed: 63)
        let layer = CausalSelfAttention(width: 4, heads: 2, generator: &g)
        let x = GradientCheck.weights([7, 4], seed: 64)
        let spans = [0..<3, 4..<7]  // row 3 belongs to no sequence
        let y = try layer.forward(x, spans: spans, training: true)
        let r = GradientCheck.weights(y.shape, seed: 65)
        layer.zeroGradients()
        let dx = try layer.backward(r)
        #expect(dx.storage[12..<16].allSatisfy { $0 == 0 })
        let params = layer.parameters
        let values = params.map(\.value)
        try GradientCheck.checkFunction([x] + values, gradients: [dx] + params.map(\.gradient)) { xs in
            for (p, v) in zip(params, xs.dropFirst()) { p.value = v }
            return Float(GradientCheck.dot(try layer.forward(xs[0], spans: spans, training: true), r))
        }
        for (p, v) in zip(params, values) { p.value = v }
    }

    @Test("each packed sequence gets what it gets alone, and a causal token ignores later ones")
    func packingAndCausality() throws {
        var g = SeededGenerator(seed: 66)
        let layer = CausalSelfAttention(width: 6, heads: 2, generator: &g)
        let a = GradientCheck.weights([4, 6], seed: 67)
        let b = GradientCheck.weights([3, 6], seed: 68)
        let packed = try layer.forward(try Tensor(shape: [7, 6], storage: a.storage + b.storage), spans: [0..<4, 4..<7], training: false)
        let alone = try layer.forward(b, training: false)
        for i in 0..<18 { #expect(abs(packed.storage[24 + i] - alone.storage[i]) < 1e-5) }
        // Changing the last token of `a` leaves the outputs of the first three unchanged.
        var changed = a.storage
        for j in 18..<24 { changed[j] += 5 }
        let before = try layer.forward(a, training: false)
        let after = try layer.forward(try Tensor(shape: [4, 6], storage: changed), training: false)
        #expect(Array(before.storage[0..<18]) == Array(after.storage[0..<18]))
        #expect(before.storage[18..<24] != after.storage[18..<24])
    }

    @Test("the forward pass equals the text encoder's inference attention on the same projections")
    func sharedForward() throws {
        var g = SeededGenerator(seed: 69)
        let width = 8
        let layer = CausalSelfAttention(width: width, heads: 2, generator: &g)
        let x = GradientCheck.weights([60, width], seed: 70)  // longer than the GEMM threshold
        let y = try layer.forward(x, spans: [0..<10, 10..<60], training: false)
        let qkv = try layer.projection.forward(x, training: false)
        var attended = [Float](repeating: 0, count: 60 * width)
        var scratch = [Float](repeating: 0, count: Attention.scratchCount(longest: 50, width: width, heads: 2))
        qkv.storage.withUnsafeBufferPointer { qp in
            attended.withUnsafeMutableBufferPointer { op in
                scratch.withUnsafeMutableBufferPointer { sp in
                    Attention.forward(
                        qkv: qp.baseAddress!, spans: [0..<10, 10..<60], width: width, heads: 2, causal: true, into: op.baseAddress!,
                        scratch: sp.baseAddress!)
                }
            }
        }
        let reference = try layer.output.forward(try Tensor(shape: [60, width], storage: attended), training: false)
        #expect(zip(y.storage, reference.storage).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    @Test("bad widths, shapes and spans are typed errors")
    func badInput() {
        var g = SeededGenerator(seed: 71)
        let odd = CausalSelfAttention(width: 5, heads: 2, generator: &g)
        expectVecDBError(.invalidArgument, containing: "not a positive multiple of 2 heads") {
            try odd.forward(Tensor(zeros: [3, 5]), training: true)
        }
        let layer = CausalSelfAttention(width: 4, heads: 2, generator: &g)
        expectVecDBError(.dimensionMismatch, containing: "expects input [tokens, 4]") {
            try layer.forward(Tensor(zeros: [3, 5]), training: true)
        }
        expectVecDBError(.invalidArgument, containing: "overlaps") {
            try layer.forward(Tensor(zeros: [5, 4]), spans: [0..<3, 2..<5], training: true)
        }
        expectVecDBError(.invalidArgument, containing: "outside 0..<5") {
            try layer.forward(Tensor(zeros: [5, 4]), spans: [3..<6], training: true)
        }
    }
}
