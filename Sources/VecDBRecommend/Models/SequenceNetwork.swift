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
    public var patience = 5
    public var seed: UInt64 = 42
    /// With item content features: how many of the `dimension` columns of an item's vector
    /// are its features projected (learned), the rest being its id embedding.
    public var contentWidth = 32

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
/// The item table `R` is shared by the input and the output (tied embeddings, as SASRec):
/// a token's hidden state `h` scores item `i` as `h · R[i]`, and the loss is the full softmax
/// cross-entropy of the next item at every position of every window. Without content features
/// `R = E`, the id embeddings; with fixed features `F` (one row per item: a title or image
/// embedding), `R[i] = [E[i], F[i] W]`, the id embedding concatenated with the learned
/// projection of the features, so an item seen rarely or never in training still has a vector
/// that places it, as an input and as a candidate.
///
/// - SASRec: `x_t = E[s_t] + P[t]`, dropout, then `blocks` pre-LayerNorm blocks
///   `x += drop(attn(LN(x)))`, `x += drop(W₂ relu(W₁ LN(x)))` with causal attention within each
///   window, and a final LayerNorm.
/// - GRU4Rec: `x_t = E[s_t]`, dropout, a GRU over the padded windows.
final class SequenceNetwork {
    let kind: SequenceModelKind
    let config: SequenceModelConfig
    let itemCount: Int
    /// The id embeddings `E`: `[itemCount, dimension]`, or `dimension - contentWidth` columns
    /// with features.
    let items: Parameter
    /// Fixed content features `F` (`[itemCount, f]`) and their projection `W` (`[f, contentWidth]`).
    let features: Tensor?
    let content: Parameter?
    /// The item table `R` of the last forward pass.
    private(set) var table: Tensor
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

    /// - Parameter features: `[itemCount, f]` content features, or nil; with them
    ///   `config.contentWidth` must lie in `1..<config.dimension` (the caller checks).
    init(kind: SequenceModelKind, itemCount: Int, config: SequenceModelConfig, features: Tensor? = nil) {
        self.kind = kind
        self.config = config
        self.itemCount = itemCount
        var g = SeededGenerator(seed: config.seed)
        let d = config.dimension
        let idWidth = features == nil ? d : d - config.contentWidth
        let ids = Parameter(name: "items", value: .normal([itemCount, idWidth], std: 1 / Float(d).squareRoot(), generator: &g))
        items = ids
        table = ids.value
        self.features = features
        if let features {
            let f = features.shape[1]
            content = Parameter(
                name: "content", value: .normal([f, config.contentWidth], std: 1 / Float(f).squareRoot(), generator: &g))
        } else {
            content = nil
        }
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
        if let content { out.append(content) }
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
        table = try itemTable()
        var x = [Float](repeating: 0, count: tokens * d)
        let e = table.storage
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

    /// `R`: the id embeddings, with the projected features beside them when there are any.
    func itemTable() throws(VecDBError) -> Tensor {
        guard let features, let content else { return items.value }
        let projected = try Tensor.matmul(features, content.value)
        let (idWidth, p, d) = (items.value.shape[1], config.contentWidth, config.dimension)
        var out = [Float](repeating: 0, count: itemCount * d)
        for i in 0..<itemCount {
            for j in 0..<idWidth { out[i * d + j] = items.value.storage[i * idWidth + j] }
            for j in 0..<p { out[i * d + idWidth + j] = projected.storage[i * p + j] }
        }
        return try Tensor(shape: [itemCount, d], storage: out)
    }

    /// Back through the last forward pass, from the gradient of its output and of the item
    /// table `R` through the output scores (`[itemCount, dimension]`); gradients are added to
    /// every parameter.
    func backward(_ g: Tensor, tableGradient: Tensor) throws(VecDBError) {
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
        var dTable = tableGradient
        for (w, span) in zip(lastWindows, lastSpans) {
            for (t, item) in w.enumerated() {
                let row = (span.lowerBound + t) * d
                let dst = Int(item) * d
                for j in 0..<d { dTable.storage[dst + j] += dx.storage[row + j] }
                if let positions { for j in 0..<d { positions.gradient.storage[t * d + j] += dx.storage[row + j] } }
            }
        }
        guard let features, let content else {
            try items.gradient.add(dTable, scaledBy: 1)
            return
        }
        // R = [E, F W]: dE is dR's first columns, dW = Fᵀ dR's last columns.
        let (idWidth, p) = (items.value.shape[1], config.contentWidth)
        var dProjected = [Float](repeating: 0, count: itemCount * p)
        for i in 0..<itemCount {
            for j in 0..<idWidth { items.gradient.storage[i * idWidth + j] += dTable.storage[i * d + j] }
            for j in 0..<p { dProjected[i * p + j] = dTable.storage[i * d + idWidth + j] }
        }
        try content.gradient.add(try Tensor.matmul(features, try Tensor(shape: [itemCount, p], storage: dProjected), transposeA: true))
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

    /// Scores of every item for hidden states `h` (`[rows, dimension]`): `h · Rᵀ`, with the
    /// item table of the last forward pass.
    func logits(_ h: Tensor) throws(VecDBError) -> Tensor {
        try Tensor.matmul(h, table, transposeB: true)
    }
}
