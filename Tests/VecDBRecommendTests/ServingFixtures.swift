import Foundation
import VecDB
import VecDBKernels
import VecDBTestSupport

@testable import VecDBRecommend

/// A model with planted item embeddings (a function of the item key), scoring a user by the
/// inner product of the mean of their items' embeddings with each item's.
struct PlantedEmbeddingModel: EmbeddingScorer {
    static let kindName = "planted-test"
    let dimension = 4
    let keys: [Key]

    var itemCount: Int { keys.count }

    static func embedding(_ key: Key) -> [Float] {
        let x = Float(Int(key.description) ?? 0)
        return [sin(x), cos(x), sin(0.5 * x), 0.1 * cos(0.3 * x)]
    }

    func itemEmbeddings() -> [[Float]] { keys.map(Self.embedding) }

    func userEmbedding(history: ArraySlice<Int32>) throws(VecDBError) -> [Float] {
        var m = [Float](repeating: 0, count: dimension)
        for i in history {
            let e = Self.embedding(keys[Int(i)])
            for j in 0..<dimension { m[j] += e[j] }
        }
        return m.map { $0 / Float(max(1, history.count)) }
    }

    func score(history: ArraySlice<Int32>, into scores: inout [Float]) {
        let u = (try? userEmbedding(history: history)) ?? []
        for (i, k) in keys.enumerated() {
            let e = Self.embedding(k)
            scores[i] = zip(u, e).reduce(0) { $0 + $1.0 * $1.1 }
        }
    }

    static func register() {
        ModelRegistry.register(
            ModelKind(
                name: kindName,
                train: { (input: TrainingInput) throws(VecDBError) in (PlantedEmbeddingModel(keys: input.data.itemKeys), [:]) },
                encode: { (m: any ItemScorer) throws(VecDBError) in
                    guard let p = m as? PlantedEmbeddingModel else { throw VecDBError(.unsupported, "not planted") }
                    return p.keys.flatMap { Array($0.description.utf8) + [0] }
                },
                decode: { (b: [UInt8]) throws(VecDBError) in
                    let keys = b.split(separator: 0, omittingEmptySubsequences: false).dropLast().map {
                        Key(parsing: String(decoding: $0, as: UTF8.self))
                    }
                    return PlantedEmbeddingModel(keys: keys)
                }))
    }
}

enum ServingFixtures {
    static let users = 30
    static let items = 40

    /// Seeded interactions: each user holds 3 to 12 items, skewed towards low item keys.
    static func interactions(seed: UInt64 = 7, users: Int = users, items: Int = items) -> [Interaction] {
        var g = SeededGenerator(seed: seed)
        var out: [Interaction] = []
        for u in 0..<users {
            let n = Int.random(in: 3...12, using: &g)
            var seen = Set<Int>()
            while seen.count < n {
                let a = Int.random(in: 0..<items, using: &g)
                let b = Int.random(in: 0..<items, using: &g)
                seen.insert(min(a, b))
            }
            for i in seen.sorted() { out.append(Interaction(user: .int(UInt64(1000 + u)), item: .int(UInt64(i + 1)))) }
        }
        return out
    }

    static func itemRecords(items: Int = items) -> [EntityRecord] {
        (1...items).map { i in
            EntityRecord(key: .int(UInt64(i)), title: "Movie \(i) (\(1980 + i % 20))", genres: i % 3 == 0 ? ["Comedy"] : ["Drama", "War"])
        }
    }

    /// The k best items of `scores` among `allowed`, ties to the lower index: the oracle.
    static func bruteForce(_ scores: [Float], allowed: (Int) -> Bool, k: Int) -> [Int] {
        Array(scores.indices.filter(allowed).sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }.prefix(k))
    }

    static func dot(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
}
