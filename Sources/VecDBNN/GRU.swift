import CVecDBKernels
import Foundation
import VecDBKernels

/// A gated recurrent unit over padded batches of sequences, with backpropagation through time.
///
/// The gates follow PyTorch's `nn.GRU` (so its checkpoints load as they are), for input `x` and
/// previous state `h`:
///
/// ```
/// r = σ(W_ir x + b_ir + W_hr h + b_hr)
/// z = σ(W_iz x + b_iz + W_hz h + b_hz)
/// n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
/// h' = (1 − z) ⊙ n + z ⊙ h
/// ```
///
/// `weightIH` is `[3·hidden, inputs]` and `weightHH` `[3·hidden, hidden]`, their rows the r, z and
/// n gates in that order; the biases are `[3·hidden]`. The input is `[batch, steps, inputs]`, the
/// output every step's state, `[batch, steps, hidden]`, from a zero initial state. Sequences are
/// left-aligned: with ``forward(_:lengths:training:)``, the steps of sequence `b` from
/// `lengths[b]` on are padding. Their output is zero, their gradient is ignored, and they do not
/// touch the state, so a padded batch gives each sequence exactly what it gives alone.
///
/// The input projection of every step is one GEMM; each step then costs one `[batch, hidden] ×
/// [hidden, 3·hidden]` GEMM forward and two backward.
public final class GRU: Layer {
    public let name: String
    public let inputs: Int
    public let hidden: Int
    public let weightIH: Parameter
    public let weightHH: Parameter
    public let biasIH: Parameter
    public let biasHH: Parameter

    /// What the backward pass needs from the last forward pass.
    struct Cache {
        var input: Tensor
        var lengths: [Int]
        var batch: Int
        var steps: Int
        /// States by step, time-major: `[steps + 1][batch][hidden]`, step 0 the zero state.
        var states: [Float]
        /// Gate values by step, time-major `[steps][batch][hidden]`.
        var r: [Float]
        var z: [Float]
        var n: [Float]
        /// `W_hn h + b_hn` by step, time-major.
        var hn: [Float]
    }

    var cache: Cache?

    /// Uniform weights and biases in ±1/√hidden, as PyTorch initialises them.
    public init(_ inputs: Int, hidden: Int, name: String = "gru", generator: inout SeededGenerator) {
        self.name = name
        self.inputs = inputs
        self.hidden = hidden
        let bound = 1 / Float(max(hidden, 1)).squareRoot()
        weightIH = Parameter(name: name + ".weight_ih", value: .uniform([3 * hidden, inputs], bound: bound, generator: &generator))
        weightHH = Parameter(name: name + ".weight_hh", value: .uniform([3 * hidden, hidden], bound: bound, generator: &generator))
        biasIH = Parameter(name: name + ".bias_ih", value: .uniform([3 * hidden], bound: bound, generator: &generator))
        biasHH = Parameter(name: name + ".bias_hh", value: .uniform([3 * hidden], bound: bound, generator: &generator))
    }

    public var parameters: [Parameter] { [weightIH, weightHH, biasIH, biasHH] }

    /// Every step of every sequence is real.
    public func forward(_ x: Tensor, training: Bool) throws(VecDBError) -> Tensor {
        guard x.rank == 3 else {
            throw VecDBError(.dimensionMismatch, "GRU '\(name)' expects input [batch, steps, \(inputs)], got \(Tensor.describe(x.shape))")
        }
        return try forward(x, lengths: [Int](repeating: x.shape[1], count: x.shape[0]), training: training)
    }

    /// Runs the sequences of `x`, sequence `b` for its first `lengths[b]` steps.
    /// - Throws: `dimensionMismatch` for an input not `[batch, steps, inputs]`; `invalidArgument`
    ///   for a length outside `0...steps` or a count of lengths other than the batch.
    public func forward(_ x: Tensor, lengths: [Int], training: Bool) throws(VecDBError) -> Tensor {
        guard inputs > 0, hidden > 0 else {
            throw VecDBError(.invalidArgument, "GRU '\(name)' has \(inputs) inputs and \(hidden) hidden units; both must be positive")
        }
        guard x.rank == 3, x.shape[2] == inputs else {
            throw VecDBError(.dimensionMismatch, "GRU '\(name)' expects input [batch, steps, \(inputs)], got \(Tensor.describe(x.shape))")
        }
        let (batch, steps) = (x.shape[0], x.shape[1])
        guard lengths.count == batch else {
            throw VecDBError(.invalidArgument, "GRU '\(name)': \(lengths.count) lengths for a batch of \(batch)")
        }
        if let bad = lengths.first(where: { $0 < 0 || $0 > steps }) {
            throw VecDBError(.invalidArgument, "GRU '\(name)': sequence length \(bad) outside 0...\(steps)")
        }
        let h = hidden
        let g3 = 3 * h
        // The input projections of every step at once: row b·steps + t.
        var xw = [Float](repeating: 0, count: batch * steps * g3)
        gemm(
            transA: false, transB: true, m: batch * steps, n: g3, k: inputs, a: x.storage, lda: inputs,
            b: weightIH.value.storage, ldb: inputs, beta: 0, c: &xw, ldc: g3)
        var c = Cache(
            input: x, lengths: lengths, batch: batch, steps: steps,
            states: [Float](repeating: 0, count: (steps + 1) * batch * h),
            r: [Float](repeating: 0, count: steps * batch * h), z: [Float](repeating: 0, count: steps * batch * h),
            n: [Float](repeating: 0, count: steps * batch * h), hn: [Float](repeating: 0, count: steps * batch * h))
        var y = Tensor(uncheckedShape: [batch, steps, h], storage: [Float](repeating: 0, count: batch * steps * h))
        var hw = [Float](repeating: 0, count: batch * g3)
        let bih = biasIH.value.storage
        let bhh = biasHH.value.storage
        for t in 0..<steps {
            let prev = t * batch * h
            let next = (t + 1) * batch * h
            let hPrev = Array(c.states[prev..<next])
            gemm(
                transA: false, transB: true, m: batch, n: g3, k: h, a: hPrev, lda: h, b: weightHH.value.storage, ldb: h, beta: 0,
                c: &hw, ldc: g3)
            for b in 0..<batch {
                let o = t * batch * h + b * h
                if t >= lengths[b] {
                    // Padding: the state passes through unchanged, the output stays zero.
                    for j in 0..<h { c.states[next + b * h + j] = c.states[prev + b * h + j] }
                    continue
                }
                let xr = (b * steps + t) * g3
                let hr = b * g3
                for j in 0..<h {
                    let r = Activation.sigmoid(xw[xr + j] + bih[j] + hw[hr + j] + bhh[j])
                    let z = Activation.sigmoid(xw[xr + h + j] + bih[h + j] + hw[hr + h + j] + bhh[h + j])
                    let hn = hw[hr + 2 * h + j] + bhh[2 * h + j]
                    let n = tanhf(xw[xr + 2 * h + j] + bih[2 * h + j] + r * hn)
                    let state = (1 - z) * n + z * c.states[prev + b * h + j]
                    c.r[o + j] = r
                    c.z[o + j] = z
                    c.n[o + j] = n
                    c.hn[o + j] = hn
                    c.states[next + b * h + j] = state
                    y.storage[(b * steps + t) * h + j] = state
                }
            }
        }
        cache = c
        return y
    }

    public func backward(_ g: Tensor) throws(VecDBError) -> Tensor {
        let c = try cached(cache, "forward pass")
        let (batch, steps, h) = (c.batch, c.steps, hidden)
        try requireGradient(g, matches: [batch, steps, h])
        let g3 = 3 * h
        var dxw = [Float](repeating: 0, count: batch * steps * g3)  // row b·steps + t
        var dhw = [Float](repeating: 0, count: batch * g3)
        var dh = [Float](repeating: 0, count: batch * h)  // the gradient reaching the state
        var dPrev = [Float](repeating: 0, count: batch * h)
        for t in stride(from: steps - 1, through: 0, by: -1) {
            let prev = t * batch * h
            for b in 0..<batch {
                if t >= c.lengths[b] {
                    // Padding: the state's gradient passes through to the step before.
                    for j in 0..<g3 { dhw[b * g3 + j] = 0 }
                    for j in 0..<h { dPrev[b * h + j] = dh[b * h + j] }
                    continue
                }
                let o = t * batch * h + b * h
                let xr = (b * steps + t) * g3
                for j in 0..<h {
                    let d = dh[b * h + j] + g.storage[(b * steps + t) * h + j]
                    let (r, z, n, hn) = (c.r[o + j], c.z[o + j], c.n[o + j], c.hn[o + j])
                    let hp = c.states[prev + b * h + j]
                    let dn = d * (1 - z) * (1 - n * n)
                    let dz = d * (hp - n) * z * (1 - z)
                    let dr = dn * hn * r * (1 - r)
                    dxw[xr + j] = dr
                    dxw[xr + h + j] = dz
                    dxw[xr + 2 * h + j] = dn
                    dhw[b * g3 + j] = dr
                    dhw[b * g3 + h + j] = dz
                    dhw[b * g3 + 2 * h + j] = dn * r
                    dPrev[b * h + j] = d * z
                }
            }
            // Recurrent weights: dW_hh += dHWᵀ · h_prev; bias: column sums; state: + dHW · W_hh.
            let hPrev = Array(c.states[prev..<(prev + batch * h)])
            gemm(
                transA: true, transB: false, m: g3, n: h, k: batch, a: dhw, lda: g3, b: hPrev, ldb: h, beta: 1,
                c: &weightHH.gradient.storage, ldc: h)
            columnSums(dhw, rows: batch, into: &biasHH.gradient.storage)
            gemm(
                transA: false, transB: false, m: batch, n: h, k: g3, a: dhw, lda: g3, b: weightHH.value.storage, ldb: h, beta: 1,
                c: &dPrev, ldc: h)
            swap(&dh, &dPrev)
        }
        let rows = batch * steps
        gemm(
            transA: true, transB: false, m: g3, n: inputs, k: rows, a: dxw, lda: g3, b: c.input.storage, ldb: inputs, beta: 1,
            c: &weightIH.gradient.storage, ldc: inputs)
        columnSums(dxw, rows: rows, into: &biasIH.gradient.storage)
        var dx = Tensor(uncheckedShape: c.input.shape, storage: [Float](repeating: 0, count: c.input.count))
        gemm(
            transA: false, transB: false, m: rows, n: inputs, k: g3, a: dxw, lda: g3, b: weightIH.value.storage, ldb: inputs, beta: 0,
            c: &dx.storage, ldc: inputs)
        return dx
    }

    /// Adds the column sums of `rows × 3·hidden` values to a bias gradient.
    func columnSums(_ g: [Float], rows: Int, into acc: inout [Float]) {
        g.withUnsafeBufferPointer { gp in
            acc.withUnsafeMutableBufferPointer { vdb_nn_column_sums(gp.baseAddress, $0.baseAddress, rows, 3 * hidden) }
        }
    }
}
