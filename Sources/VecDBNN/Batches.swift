import VecDBKernels

/// Seeded shuffling and mini-batch slicing, so a training run is repeatable from its seed.
public enum Batches {
    /// `values` in a random order (Fisher–Yates, drawing from `generator`). Unlike the standard
    /// library's `shuffled(using:)`, the algorithm is fixed here, so an order depends only on the seed.
    public static func shuffled<T>(_ values: [T], generator: inout SeededGenerator) -> [T] {
        var out = values
        var i = out.count - 1
        while i > 0 {
            let j = Int(generator.next() % UInt64(i + 1))
            out.swapAt(i, j)
            i -= 1
        }
        return out
    }

    /// The half-open ranges of consecutive batches of at most `size` over `count` items.
    public static func ranges(count: Int, size: Int) -> [Range<Int>] {
        let s = max(size, 1)
        return stride(from: 0, to: max(count, 0), by: s).map { $0..<min($0 + s, count) }
    }

    /// Rows `rows` of a `[n, …]` tensor, in that order, as `[rows.count, …]`.
    public static func gather(_ t: Tensor, rows: [Int]) throws(VecDBError) -> Tensor {
        guard t.rank >= 1 else { throw VecDBError(.dimensionMismatch, "gather expects a tensor [n, …], got \(Tensor.describe(t.shape))") }
        let n = t.shape[0]
        let w = n == 0 ? 0 : t.count / n
        var out = [Float](repeating: 0, count: rows.count * w)
        for (i, r) in rows.enumerated() {
            guard r >= 0 && r < n else { throw VecDBError(.invalidArgument, "gather: row \(r) is outside 0..<\(n)") }
            for j in 0..<w { out[i * w + j] = t.storage[r * w + j] }
        }
        var shape = t.shape
        shape[0] = rows.count
        return Tensor(uncheckedShape: shape, storage: out)
    }
}
