import VecDBKernels

/// Joins tensors along their last axis: `[*, a]`, `[*, b]` → `[*, a + b]`; the leading axes
/// must agree. `backward` splits the gradient back into one piece per input.
public final class Concatenation {
    public let name: String
    var widths: [Int] = []
    var leading: [Int] = []

    public init(name: String = "concat") { self.name = name }

    public func forward(_ inputs: [Tensor]) throws(VecDBError) -> Tensor {
        guard let first = inputs.first, first.rank >= 1 else {
            throw VecDBError(.invalidArgument, "concatenation '\(name)' needs at least one input of rank ≥ 1")
        }
        let lead = Array(first.shape.dropLast())
        for t in inputs where t.rank != first.rank || Array(t.shape.dropLast()) != lead {
            throw VecDBError(
                .dimensionMismatch,
                "concatenation '\(name)' expects inputs [\(lead.map(String.init).joined(separator: ", ")), *], got \(Tensor.describe(first.shape)) and \(Tensor.describe(t.shape))"
            )
        }
        let w = inputs.map { $0.shape[$0.rank - 1] }
        let total = w.reduce(0, +)
        let rows = lead.reduce(1, *)
        var out = [Float](repeating: 0, count: rows * total)
        var col = 0
        for (t, wi) in zip(inputs, w) {
            for r in 0..<rows {
                for j in 0..<wi { out[r * total + col + j] = t.storage[r * wi + j] }
            }
            col += wi
        }
        widths = w
        leading = lead
        return Tensor(uncheckedShape: lead + [total], storage: out)
    }

    public func backward(_ g: Tensor) throws(VecDBError) -> [Tensor] {
        let total = widths.reduce(0, +)
        guard g.shape == leading + [total] else {
            throw VecDBError(
                .dimensionMismatch,
                "concatenation '\(name)': gradient shape \(Tensor.describe(g.shape)) differs from output shape \(Tensor.describe(leading + [total]))"
            )
        }
        let rows = leading.reduce(1, *)
        var col = 0
        var parts: [Tensor] = []
        for wi in widths {
            var p = [Float](repeating: 0, count: rows * wi)
            for r in 0..<rows {
                for j in 0..<wi { p[r * wi + j] = g.storage[r * total + col + j] }
            }
            parts.append(Tensor(uncheckedShape: leading + [wi], storage: p))
            col += wi
        }
        return parts
    }
}
