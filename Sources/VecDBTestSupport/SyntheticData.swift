import Foundation
import VecDBKernels

/// Seeded data for tests: reproducible from the seed, small enough for a debug build.
public enum SyntheticData {
    /// `count` vectors of `dimension` uniform values in [-1, 1).
    public static func uniform(count: Int, dimension: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<(count * dimension)).map { _ in rng.nextUnitFloat() * 2 - 1 }
    }

    /// `count` vectors drawn around `clusters` Gaussian centres (spread `sigma`), the shape of
    /// real embedding data that ANN indexes are built for.
    ///
    /// The centres come from `seed`; the points from `pointSeed` when given (so queries can be
    /// drawn around the same centres as the data), otherwise from the same stream.
    public static func clustered(
        count: Int, dimension: Int, clusters: Int, sigma: Float = 0.1, seed: UInt64,
        pointSeed: UInt64? = nil
    ) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        let centres = (0..<(clusters * dimension)).map { _ in rng.nextUnitFloat() * 2 - 1 }
        if let pointSeed { rng = SeededGenerator(seed: pointSeed) }
        var out = [Float]()
        out.reserveCapacity(count * dimension)
        for _ in 0..<count {
            let c = Int(rng.next() % UInt64(clusters))
            for j in 0..<dimension { out.append(centres[c * dimension + j] + sigma * rng.nextGaussian()) }
        }
        return out
    }

    /// Brute-force nearest neighbours in Double precision: the oracle for every search test.
    ///
    /// Distances follow ``Metric``'s conventions; ties break by smaller index.
    public static func bruteForce(
        query: [Float], rows: [Float], dimension: Int, metric: Metric, k: Int,
        allow: (Int) -> Bool = { _ in true }
    ) -> [(index: Int, distance: Double)] {
        let n = rows.count / dimension
        var all: [(index: Int, distance: Double)] = []
        for r in 0..<n where allow(r) {
            all.append((r, referenceDistance(query, Array(rows[(r * dimension)..<((r + 1) * dimension)]), metric)))
        }
        all.sort { $0.distance < $1.distance || ($0.distance == $1.distance && $0.index < $1.index) }
        return Array(all.prefix(k))
    }

    /// The naive Double-precision distance, as documented on ``Metric`` (see ``BruteForce``).
    public static func referenceDistance(_ a: [Float], _ b: [Float], _ metric: Metric) -> Double {
        BruteForce.distance(metric, a, b)
    }
}
