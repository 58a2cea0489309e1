import VecDBKernels

/// Seeded vectors for tests (the generator is VecDBKernels' SplitMix64 `SeededGenerator`).
extension SeededGenerator {
    /// A vector of `dimension` uniform values in [-1, 1).
    public mutating func vector(_ dimension: Int) -> [Float] {
        (0..<dimension).map { _ in Float.random(in: -1..<1, using: &self) }
    }

    /// `count` vectors, flat and row-major.
    public mutating func vectors(_ count: Int, dimension: Int) -> [Float] {
        (0..<(count * dimension)).map { _ in Float.random(in: -1..<1, using: &self) }
    }
}

/// Brute-force nearest neighbours: the oracle that searches are checked against.
public enum BruteForce {
    /// Distance as VecDB defines it (smaller is closer), computed plainly in Double.
    public static func distance(_ metric: Metric, _ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0
        var na = 0.0
        var nb = 0.0
        var l2 = 0.0
        for i in 0..<a.count {
            let x = Double(a[i])
            let y = Double(b[i])
            dot += x * y
            na += x * x
            nb += y * y
            l2 += (x - y) * (x - y)
        }
        switch metric {
        case .l2: return l2
        case .ip: return -dot
        case .cosine: return na > 0 && nb > 0 ? 1 - dot / (na.squareRoot() * nb.squareRoot()) : 1
        }
    }

    /// The `k` nearest of `candidates` (id, vector), nearest first.
    public static func nearest<ID>(_ query: [Float], _ candidates: [(ID, [Float])], k: Int, metric: Metric) -> [(ID, Double)] {
        let scored = candidates.map { ($0.0, distance(metric, query, $0.1)) }
        return Array(scored.sorted { $0.1 < $1.1 }.prefix(k))
    }
}
