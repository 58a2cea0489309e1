import CVecDBKernels
import Dispatch
import Foundation
import VecDBKernels
import VecDBNN

extension SentenceEncoder {
    /// Encodes `sequences`: sorted by length (longest first), cut into batches of at most
    /// ``batchTokens`` tokens, run on `threads` workers that claim batches in turn.
    func run(_ sequences: [Sequence], threads: Int, profile: EncoderProfile?) -> [[Float]] {
        let h = configuration.hiddenSize
        let order = sequences.indices.sorted { sequences[$0].ids.count > sequences[$1].ids.count }
        var batches: [[Int]] = []
        var current: [Int] = []
        var tokens = 0
        for i in order {
            let n = sequences[i].ids.count
            if !current.isEmpty && tokens + n > Self.batchTokens {
                batches.append(current)
                current = []
                tokens = 0
            }
            current.append(i)
            tokens += n
        }
        if !current.isEmpty { batches.append(current) }
        let output = OutputRows(count: sequences.count, width: h)
        let batchList = batches
        let workers = max(1, min(threads, batchList.count))
        // Workers run whole batches, each with a single-threaded BLAS; the caller's setting is
        // restored after.
        let blasThreads = BLAS.threads
        BLAS.setThreads(1)
        defer { BLAS.setThreads(blasThreads) }
        let next = BatchCounter()
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            var buffers = ForwardBuffers(configuration: configuration)
            while let b = next.claim(below: batchList.count) {
                let batch = batchList[b].map { sequences[$0] }
                let vectors = forward(batch, buffers: &buffers, profile: profile)
                for (j, i) in batchList[b].enumerated() { output.set(i, Array(vectors[(j * h)..<((j + 1) * h)])) }
            }
            buffers.release()
        }
        return output.rows()
    }

    /// One batch's pooled, normalised embeddings, `batch.count × h` values.
    func forward(_ batch: [Sequence], buffers: inout ForwardBuffers, profile: EncoderProfile?) -> [Float] {
        let c = configuration
        let h = c.hiddenSize
        let inner = c.intermediateSize
        var spans: [Range<Int>] = []
        var t = 0
        for s in batch {
            spans.append(t..<(t + s.ids.count))
            t += s.ids.count
        }
        buffers.reserve(tokens: t, longest: spans.map(\.count).max() ?? 1)
        let x = buffers.x
        let qkv = buffers.qkv
        let attended = buffers.attended
        let up = buffers.up
        var clock = PartClock(profile: profile)

        // Embeddings: word + position + token type 0, then LayerNorm.
        words.withUnsafeBufferPointer { wp in
            positions.withUnsafeBufferPointer { pp in
                tokenType.withUnsafeBufferPointer { tp in
                    guard let w = wp.baseAddress, let p = pp.baseAddress, let ty = tp.baseAddress else { return }
                    var row = 0
                    for s in batch {
                        for (id, pos) in zip(s.ids, s.positions) {
                            vdb_nn_add(w + Int(id) * h, p + Int(pos) * h, x + row * h, h)
                            vdb_nn_axpy(1, ty, x + row * h, h)
                            row += 1
                        }
                    }
                }
            }
        }
        clock.lap("embeddings")
        layerNorm(x, bias: nil, residual: nil, embeddingNorm, rows: t, &clock)

        for layer in layers {
            linear(x, layer.qkvWeight, into: qkv, rows: t, inputs: h, outputs: 3 * h, &clock)
            layer.qkvBias.withUnsafeBufferPointer { b in
                if let bp = b.baseAddress { vdb_nn_add_row_bias(qkv, bp, t, 3 * h) }
            }
            Attention.forward(
                qkv: UnsafePointer(qkv), spans: spans, width: h, heads: c.heads, causal: false, into: attended, scratch: buffers.scratch)
            clock.lap("attention")
            linear(attended, layer.outputWeight, into: qkv, rows: t, inputs: h, outputs: h, &clock)
            layerNorm(qkv, bias: layer.outputBias, residual: x, layer.attentionNorm, rows: t, &clock)
            linear(qkv, layer.upWeight, into: up, rows: t, inputs: h, outputs: inner, &clock)
            layer.upBias.withUnsafeBufferPointer { b in
                if let bp = b.baseAddress { vdb_nn_bias_gelu(up, bp, t, inner) }
            }
            clock.lap("gelu")
            linear(up, layer.downWeight, into: x, rows: t, inputs: inner, outputs: h, &clock)
            layerNorm(x, bias: layer.downBias, residual: qkv, layer.outputNorm, rows: t, &clock)
        }

        // Mean over each sentence's tokens, then unit length.
        var pooled = [Float](repeating: 0, count: batch.count * h)
        pooled.withUnsafeMutableBufferPointer { out in
            guard let o = out.baseAddress else { return }
            for (j, span) in spans.enumerated() {
                let row = o + j * h
                for r in span { vdb_nn_axpy(1, x + r * h, row, h) }
                let norm = vdb_nn_sum_squares(row, h).squareRoot()
                vdb_nn_scale(norm > 0 ? Float(1 / norm) : 0, row, h)
            }
        }
        clock.lap("pooling")
        return pooled
    }

    /// `out = input · weightᵀ` for `rows` rows (the bias is added by the kernel that follows).
    private func linear(
        _ input: UnsafeMutablePointer<Float>, _ weight: [Float], into out: UnsafeMutablePointer<Float>,
        rows: Int, inputs: Int, outputs: Int, _ clock: inout PartClock
    ) {
        weight.withUnsafeBufferPointer { wp in
            guard let w = wp.baseAddress else { return }
            BLAS.sgemm(transB: true, m: rows, n: outputs, k: inputs, a: input, lda: inputs, b: w, ldb: inputs, c: out, ldc: outputs)
        }
        clock.lap("gemm")
    }

    /// `x = LayerNorm(x + bias + residual)`.
    private func layerNorm(
        _ x: UnsafeMutablePointer<Float>, bias: [Float]?, residual: UnsafeMutablePointer<Float>?, _ norm: (gamma: [Float], beta: [Float]),
        rows: Int, _ clock: inout PartClock
    ) {
        let b = bias ?? []
        norm.gamma.withUnsafeBufferPointer { gp in
            norm.beta.withUnsafeBufferPointer { betap in
                b.withUnsafeBufferPointer { biasp in
                    guard let g = gp.baseAddress, let beta = betap.baseAddress else { return }
                    vdb_nn_residual_layernorm(
                        x, bias == nil ? nil : biasp.baseAddress, residual, g, beta, rows, configuration.hiddenSize,
                        configuration.layerNormEpsilon)
                }
            }
        }
        clock.lap("layernorm")
    }
}

/// One worker's activations, grown to the largest batch it has run.
struct ForwardBuffers {
    let hidden: Int
    let inner: Int
    let heads: Int
    private(set) var tokens = 0
    private(set) var longest = 0
    private(set) var x = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var qkv = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var attended = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var up = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var scratch = UnsafeMutablePointer<Float>.allocate(capacity: 1)

    init(configuration: BertConfiguration) {
        hidden = configuration.hiddenSize
        inner = configuration.intermediateSize
        heads = configuration.heads
    }

    mutating func reserve(tokens t: Int, longest l: Int) {
        if t > tokens {
            for p in [x, qkv, attended, up] { p.deallocate() }
            x = .allocate(capacity: t * hidden)
            qkv = .allocate(capacity: t * 3 * hidden)
            attended = .allocate(capacity: t * hidden)
            up = .allocate(capacity: t * inner)
            tokens = t
        }
        if l > longest {
            scratch.deallocate()
            scratch = .allocate(capacity: Attention.scratchCount(longest: l, width: hidden, heads: heads))
            longest = l
        }
    }

    func release() {
        for p in [x, qkv, attended, up, scratch] { p.deallocate() }
    }
}

/// Hands out batch numbers to workers.
final class BatchCounter: @unchecked Sendable {
    // Safe: `next` is read and written under `lock`.
    private let lock = NSLock()
    private var next = 0

    func claim(below count: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard next < count else { return nil }
        next += 1
        return next - 1
    }
}

/// One result row per sequence, each written by exactly one worker.
final class OutputRows: @unchecked Sendable {
    // Safe: each row index is claimed by one batch, hence one worker, and `rows()` runs after
    // the workers have finished.
    private var storage: [[Float]]
    private let lock = NSLock()

    init(count: Int, width: Int) { storage = [[Float]](repeating: [], count: count) }

    func set(_ i: Int, _ row: [Float]) {
        lock.lock()
        storage[i] = row
        lock.unlock()
    }

    func rows() -> [[Float]] { storage }
}

/// Attributes elapsed time to the parts of the forward pass when profiling.
struct PartClock {
    let profile: EncoderProfile?
    var last = DispatchTime.now().uptimeNanoseconds

    init(profile: EncoderProfile?) { self.profile = profile }

    mutating func lap(_ part: String) {
        guard let profile else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        profile.add(part, Double(now - last) / 1e9)
        last = now
    }
}
