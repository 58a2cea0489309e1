import CVecDBKernels
import Foundation
import Testing
import VecDBKernels

@testable import VecDBNN

/// The transformer inference kernels against double-precision formulas computed here.
@Suite("Transformer kernels")
struct TransformerKernelTests {
    @Test func expErfAndGeluMatchLibm() {
        let xs = stride(from: -12.0, through: 12.0, by: 0.001).map { Float($0) }
        var e = [Float](repeating: 0, count: xs.count)
        var r = e
        var g = e
        vdb_nn_exp(xs, &e, xs.count)
        vdb_nn_erf(xs, &r, xs.count)
        vdb_nn_gelu(xs, &g, xs.count)
        for (i, x) in xs.enumerated() {
            let d = Double(x)
            #expect(abs(Double(e[i]) - Foundation.exp(d)) <= 3e-7 * Foundation.exp(d), "exp(\(x))")
            #expect(abs(Double(r[i]) - Foundation.erf(d)) <= 5e-7, "erf(\(x)): \(r[i]) vs \(Foundation.erf(d))")
            let gelu = 0.5 * d * (1 + Foundation.erf(d / 2.0.squareRoot()))
            #expect(abs(Double(g[i]) - gelu) <= 5e-7 * max(1, abs(d)), "gelu(\(x))")
        }
        var big: [Float] = [-200, 200, 0]
        vdb_nn_exp(big, &big, 3)
        #expect(big[0] >= 0 && big[0] < 1e-37 && big[1].isFinite && big[2] == 1)
    }

    @Test func residualLayerNormMatchesTheFormula() {
        var g = SeededGenerator(seed: 5)
        let rows = 7
        let cols = 384
        let x = (0..<(rows * cols)).map { _ in g.nextGaussian() * 3 + 1 }
        let res = (0..<(rows * cols)).map { _ in g.nextGaussian() }
        let gamma = (0..<cols).map { _ in g.nextGaussian() }
        let beta = (0..<cols).map { _ in g.nextGaussian() }
        let bias = (0..<cols).map { _ in g.nextGaussian() }
        var y = x
        vdb_nn_residual_layernorm(&y, bias, res, gamma, beta, rows, cols, 1e-12)
        for r in 0..<rows {
            let v = (0..<cols).map { Double(x[r * cols + $0]) + Double(bias[$0]) + Double(res[r * cols + $0]) }
            let mean = v.reduce(0, +) / Double(cols)
            let variance = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(cols)
            for c in 0..<cols {
                let want = (v[c] - mean) / (variance + 1e-12).squareRoot() * Double(gamma[c]) + Double(beta[c])
                #expect(abs(Double(y[r * cols + c]) - want) <= 1e-4 * max(1, abs(want)))
            }
        }
    }

    @Test func biasGeluMatchesTheFormula() {
        let xs = stride(from: -6.0, through: 6.0, by: 0.01).map { Float($0) }
        let bias: [Float] = [0.5, -1, 0, 2]
        var y = Array(xs.prefix(1200))
        vdb_nn_bias_gelu(&y, bias, 300, 4)
        for (i, x) in xs.prefix(1200).enumerated() {
            let d = Double(x) + Double(bias[i % 4])
            #expect(abs(Double(y[i]) - 0.5 * d * (1 + Foundation.erf(d / 2.0.squareRoot()))) <= 1e-6 * max(1, abs(d)))
        }
    }

    /// Packed multi-head attention, with and without the causal mask, against the definition
    /// evaluated per sequence in double precision; the last span is long enough for the GEMM path.
    @Test(arguments: [false, true]) func packedAttentionMatchesTheDefinition(causal: Bool) {
        var g = SeededGenerator(seed: causal ? 8 : 7)
        let width = 12
        let heads = 3
        let headDim = width / heads
        let spans = [0..<5, 5..<6, 6..<14, 14..<(14 + Attention.gemmThreshold + 3)]
        let tokens = 17 + Attention.gemmThreshold
        let qkv = (0..<(tokens * 3 * width)).map { _ in g.nextGaussian() }
        var out = [Float](repeating: .nan, count: tokens * width)
        var scratch = [Float](repeating: 0, count: Attention.scratchCount(longest: Attention.gemmThreshold + 3, width: width, heads: heads))
        qkv.withUnsafeBufferPointer { q in
            out.withUnsafeMutableBufferPointer { o in
                scratch.withUnsafeMutableBufferPointer { s in
                    Attention.forward(
                        qkv: q.baseAddress!, spans: spans, width: width, heads: heads, causal: causal, into: o.baseAddress!,
                        scratch: s.baseAddress!)
                }
            }
        }
        func at(_ t: Int, _ part: Int, _ h: Int, _ d: Int) -> Double { Double(qkv[t * 3 * width + part * width + h * headDim + d]) }
        for span in spans {
            for h in 0..<heads {
                for i in span {
                    let keys = causal ? Array(span.lowerBound...i) : Array(span)
                    let scores = keys.map { j in
                        (0..<headDim).map { at(i, 0, h, $0) * at(j, 1, h, $0) }.reduce(0, +) / Double(headDim).squareRoot()
                    }
                    let m = scores.max() ?? 0
                    let w = scores.map { Foundation.exp($0 - m) }
                    let total = w.reduce(0, +)
                    for d in 0..<headDim {
                        let want = zip(keys, w).map { at($0, 2, h, d) * $1 }.reduce(0, +) / total
                        #expect(abs(Double(out[i * width + h * headDim + d]) - want) <= 1e-5, "token \(i) head \(h) dim \(d)")
                    }
                }
            }
        }
    }
}
