import VecDB
import VecDBKernels
import VecDBRecommend

/// A small embedding model for exercising the embedding path of serving on real data
/// (`--model randproj`): each item's embedding is its column of the binary user × item matrix
/// projected on `dimension` random ±1 directions (one per user, seeded) and L2-normalised, so
/// inner products approximate the cosine of the items' user sets. A user's embedding is the sum
/// of their items' embeddings; scores are inner products. Not a tuned recommender.
struct RandomProjectionModel: EmbeddingScorer {
    static let name = "randproj"
    let dimension: Int
    /// items × dimension, row-major.
    let embeddings: [Float]

    var itemCount: Int { embeddings.count / dimension }

    static func fit(_ data: InteractionMatrix, dimension: Int = 64, seed: UInt64 = 42) -> RandomProjectionModel {
        var g = SeededGenerator(seed: seed)
        var e = [Float](repeating: 0, count: data.itemCount * dimension)
        var direction = [Float](repeating: 0, count: dimension)
        for u in 0..<data.userCount {
            for j in 0..<dimension { direction[j] = Bool.random(using: &g) ? 1 : -1 }
            for i in data.items(ofUser: u) {
                let base = Int(i) * dimension
                for j in 0..<dimension { e[base + j] += direction[j] }
            }
        }
        for i in 0..<data.itemCount {
            let row = (i * dimension)..<((i + 1) * dimension)
            let norm = e[row].reduce(0) { $0 + $1 * $1 }.squareRoot()
            if norm > 0 { for j in row { e[j] /= norm } }
        }
        return RandomProjectionModel(dimension: dimension, embeddings: e)
    }

    func itemEmbeddings() -> [[Float]] {
        (0..<itemCount).map { Array(embeddings[($0 * dimension)..<(($0 + 1) * dimension)]) }
    }

    func userEmbedding(history: ArraySlice<Int32>) throws(VecDBError) -> [Float] {
        var u = [Float](repeating: 0, count: dimension)
        for h in history where h >= 0 && Int(h) < itemCount {
            for j in 0..<dimension { u[j] += embeddings[Int(h) * dimension + j] }
        }
        return u
    }

    func score(history: ArraySlice<Int32>, into scores: inout [Float]) {
        let u = (try? userEmbedding(history: history)) ?? [Float](repeating: 0, count: dimension)
        for i in 0..<itemCount {
            var s: Float = 0
            for j in 0..<dimension { s += u[j] * embeddings[i * dimension + j] }
            scores[i] = s
        }
    }

    /// Registers the kind with ``ModelRegistry`` (idempotent).
    static func register() {
        ModelRegistry.register(
            ModelKind(
                name: name,
                train: { (input: TrainingInput) throws(VecDBError) in (RandomProjectionModel.fit(input.data), ["dimension": 64]) },
                encode: { (m: any ItemScorer) throws(VecDBError) in
                    guard let m = m as? RandomProjectionModel else { throw VecDBError(.unsupported, "not a randproj model") }
                    var out: [UInt8] = withUnsafeBytes(of: UInt32(m.dimension).littleEndian) { Array($0) }
                    for x in m.embeddings { withUnsafeBytes(of: x.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
                    return out
                },
                decode: { (b: [UInt8]) throws(VecDBError) in
                    guard b.count >= 4, (b.count - 4) % 4 == 0 else { throw VecDBError(.corruptFile, "randproj model is truncated") }
                    let d = Int(b[0]) | Int(b[1]) << 8 | Int(b[2]) << 16 | Int(b[3]) << 24
                    guard d >= 1, (b.count - 4) / 4 % d == 0 else { throw VecDBError(.corruptFile, "randproj model: bad dimension \(d)") }
                    let e = stride(from: 4, to: b.count, by: 4).map { o in
                        Float(bitPattern: UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24)
                    }
                    return RandomProjectionModel(dimension: d, embeddings: e)
                }))
    }
}
