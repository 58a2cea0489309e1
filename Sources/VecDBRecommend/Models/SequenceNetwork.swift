import VecDBKernels
import VecDBNN

/// The sequence recommenders: GRU4Rec and SASRec.
public enum SequenceModelKind: String, CaseIterable, Sendable {
    /// Hidasi et al.: item embeddings → GRU → next-item scores.
    case gru4rec
    /// Kang & McAuley 2018: item plus learned position embeddings → causal self-attention
    /// blocks → next-item scores.
    case sasrec
}

/// Sizes and training settings of a sequence model.
public struct SequenceModelConfig: Sendable, Equatable {
    /// Width of the item embeddings and the hidden state.
    public var dimension = 64
    /// The most recent items a sequence is cut to (training windows and served histories).
    public var maxLength = 50
    /// SASRec: attention blocks and heads.
    public var blocks = 2
    public var heads = 1
    /// Dropout on the input embeddings and (SASRec) the block outputs.
    public var dropout: Float = 0.2
    public var learningRate: Float = 1e-3
    /// Training windows per step.
    public var batchSize = 64
    /// The most epochs; training stops earlier when validation NDCG@10 has not improved for
    /// `patience` evaluations, one every `evaluateEvery` epochs, and keeps the best weights.
    public var maxEpochs = 60
    public var evaluateEvery = 2
    public var patience = 3
    public var seed: UInt64 = 42

    public init() {}

    /// The settings each model was run with: dropout 0.4 for GRU4Rec and 0.2 for SASRec, each
    /// the better of {0.2, 0.4} by validation NDCG@10 on ML-100K (0.108 against 0.106, and
    /// 0.118 against 0.103); the rest as above.
    public init(kind: SequenceModelKind) {
        dropout = kind == .gru4rec ? 0.4 : 0.2
    }
}

/// The trainable network of a sequence model, over packed windows of item indices.
///
/// The item table `E` is shared by the input and the output (tied embeddings, as SASRec):
/// a token's hidden state `h` scores item `i` as `h · E[i]`, and the loss is the full softmax
/// cross-entropy of the next item at every position of every window.
///
/// - SASRec: `x_t = E[s_t] + P[t]`, dropout, then `blocks` pre-LayerNorm blocks
///   `x += drop(attn(LN(x)))`, `x += drop(W₂ relu(W₁ LN(x)))` with causal attention within each
///   window, and a final LayerNorm.
/// - GRU4Rec: `x_t = E[s_t]`, dropout, a GRU over the padded windows.
final class SequenceNetwork {
    let kind: SequenceModelKind
    let config: SequenceModelConfig
    let itemCount: Int
    let items: Parameter
    let positions: Parameter?
    let inputDropout: Dropout
    let gru: GRU?
    struct Block {
        let norm1: LayerNorm
        let attention: CausalSelfAttention
        let drop1: Dropout
        let norm2: LayerNorm
        let up: Linear
        let act: Activation
        let down: Linear
        let drop2: Dropout
    }
    let blocks: [Block]
    let finalNorm: LayerNorm?
    /// The last forward pass: its windows, spans, and the rows of tokens in the GRU's padded batch.
    var lastWindows: [[Int32]] = []
    var lastSpans: [Range<Int>] = []

    init(kind: SequenceModelKind, itemCount: Int, config: SequenceModelConfig) {
        self.kind = kind
        self.config = config
        self.itemCount = itemCount
        var g = SeededGenerator(seed: config.seed)
        let d = config.dimension
        items = Parameter(name: "items", value: .normal([itemCount, d], std: 1 / Float(d).squareRoot(), generator: &g))
        inputDropout = Dropout(rate: config.dropout, seed: config.seed &+ 1, name: "input_dropout")
        switch kind {
        case .sasrec:
            positions = Parameter(name: "positions", value: .normal([config.maxLength, d], std: 1 / Float(d).squareRoot(), generator: &g))
            gru = nil
            blocks = (0..<config.blocks).map { b in
                Block(
                    norm1: LayerNorm(dimension: d, name: "block\(b).norm1"),
                    attention: CausalSelfAttention(width: d, heads: config.heads, name: "block\(b).attention", generator: &g),
                    drop1: Dropout(rate: config.dropout, seed: config.seed &+ 10 &+ UInt64(b), name: "block\(b).drop1"),
                    norm2: LayerNorm(dimension: d, name: "block\(b).norm2"),
                    up: Linear(d, d, name: "block\(b).up", generator: &g), act: Activation(.relu),
                    down: Linear(d, d, name: "block\(b).down", generator: &g),
                    drop2: Dropout(rate: config.dropout, seed: config.seed &+ 20 &+ UInt64(b), name: "block\(b).drop2"))
            }
            finalNorm = LayerNorm(dimension: d, name: "final_norm")
        case .gru4rec:
            positions = nil
            gru = GRU(d, hidden: d, name: "gru", generator: &g)
            blocks = []
            finalNorm = nil
        }
    }

    var parameters: [Parameter] {
        var out = [items]
        if let positions { out.append(positions) }
        if let gru { out += gru.parameters }
        for b in blocks { out += b.norm1.parameters + b.attention.parameters + b.norm2.parameters + b.up.parameters + b.down.parameters }
        if let finalNorm { out += finalNorm.parameters }
        return out
    }

    /// The hidden state of every token of `windows` (each at most `maxLength` items), packed
    /// window after window: `[tokens, dimension]`.
    func forward(_ windows: [[Int32]], training: Bool) throws(VecDBError) -> Tensor {
        let d = config.dimension
        var spans: [Range<Int>] = []
        var tokens = 0
        for w in windows {
            spans.append(tokens..<(tokens + w.count))
            tokens += w.count
        }
        lastWindows = windows
        lastSpans = spans
        var x = [Float](repeating: 0, count: tokens * d)
        let e = items.value.storage
        for (w, span) in zip(windows, spans) {
            for (t, item) in w.enumerated() {
                let row = (span.lowerBound + t) * d
                let src = Int(item) * d
                for j in 0..<d { x[row + j] = e[src + j] }
                if let positions { for j in 0..<d { x[row + j] += positions.value.storage[t * d + j] } }
            }
        }
        var h = try inputDropout.forward(try Tensor(shape: [tokens, d], storage: x), training: training)
        if let gru {
            let states = try gru.forward(try padded(h), lengths: windows.map(\.count), training: training)
            return try packed(states)
        }
        for b in blocks {
            let a = try b.drop1.forward(
                try b.attention.forward(try b.norm1.forward(h, training: training), spans: spans, training: training), training: training)
            h = try h + a
            let f = try b.drop2.forward(
                try b.down.forward(
                    try b.act.forward(try b.up.forward(try b.norm2.forward(h, training: training), training: training), training: training),
                    training: training),
                training: training)
            h = try h + f
        }
        if let finalNorm { h = try finalNorm.forward(h, training: training) }
        return h
    }

    /// Back through the last forward pass, from the gradient of its output; gradients are added
    /// to every parameter.
    func backward(_ g: Tensor) throws(VecDBError) {
        let d = config.dimension
        var dh = g
        if let gru {
            dh = try packed(try gru.backward(try padded(g)))
        } else {
            if let finalNorm { dh = try finalNorm.backward(dh) }
            for b in blocks.reversed() {
                let df = try b.norm2.backward(try b.up.backward(try b.act.backward(try b.down.backward(try b.drop2.backward(dh)))))
                dh = try dh + df
                let da = try b.norm1.backward(try b.attention.backward(try b.drop1.backward(dh)))
                dh = try dh + da
            }
        }
        let dx = try inputDropout.backward(dh)
        for (w, span) in zip(lastWindows, lastSpans) {
            for (t, item) in w.enumerated() {
                let row = (span.lowerBound + t) * d
                let dst = Int(item) * d
                for j in 0..<d { items.gradient.storage[dst + j] += dx.storage[row + j] }
                if let positions { for j in 0..<d { positions.gradient.storage[t * d + j] += dx.storage[row + j] } }
            }
        }
    }

    /// Packed token rows of the last forward pass's windows (`[tokens, dimension]`) as the GRU's
    /// left-aligned padded batch `[windows, longest, dimension]`, padding zero.
    func padded(_ x: Tensor) throws(VecDBError) -> Tensor {
        let d = config.dimension
        let longest = lastWindows.map(\.count).max() ?? 0
        var out = [Float](repeating: 0, count: lastWindows.count * longest * d)
        for (b, span) in lastSpans.enumerated() {
            for t in 0..<span.count { for j in 0..<d { out[(b * longest + t) * d + j] = x.storage[(span.lowerBound + t) * d + j] } }
        }
        return try Tensor(shape: [lastWindows.count, longest, d], storage: out)
    }

    /// The inverse of ``padded(_:)``: the rows of real steps, packed window after window.
    func packed(_ x: Tensor) throws(VecDBError) -> Tensor {
        let d = config.dimension
        let longest = lastWindows.map(\.count).max() ?? 0
        let tokens = lastSpans.last?.upperBound ?? 0
        var out = [Float](repeating: 0, count: tokens * d)
        for (b, span) in lastSpans.enumerated() {
            for t in 0..<span.count { for j in 0..<d { out[(span.lowerBound + t) * d + j] = x.storage[(b * longest + t) * d + j] } }
        }
        return try Tensor(shape: [tokens, d], storage: out)
    }

    /// Scores of every item for hidden states `h` (`[rows, dimension]`): `h · Eᵀ`.
    func logits(_ h: Tensor) throws(VecDBError) -> Tensor {
        try Tensor.matmul(h, items.value, transposeB: true)
    }
}
