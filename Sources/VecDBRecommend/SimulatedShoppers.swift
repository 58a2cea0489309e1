import VecDBKernels

/// Simulated users for a labelled image catalogue (Fashion-MNIST has images and classes but no
/// interactions): the semi-synthetic data of the cold-item protocol. Each user likes a few
/// classes; each of their interactions picks, with probability `1 − noise`, a random item of a
/// liked class, otherwise a random item of the whole catalogue. Deterministic for a seed, so
/// VecDB and any peer read the same interactions.
public struct SimulatedShoppers: Sendable, Equatable {
    /// Simulated users.
    public var users = 2000
    /// Classes each user likes, drawn without replacement.
    public var likedClasses = 2
    /// The fewest and most interactions per user (uniform between them).
    public var interactions = 20...60
    /// The share of interactions with a random item of any class.
    public var noise = 0.2
    /// The seed of the draws.
    public var seed: UInt64 = 42

    /// The defaults: 2,000 users, 2 liked classes, 20–60 interactions, 20 % noise, seed 42.
    public init() {}

    /// The interactions over items with `labels` (item index → class), as (user, item) index
    /// pairs; a user never interacts with one item twice.
    ///
    /// - Throws: ``VecDBError/Code/invalidArgument`` for no items, fewer classes than liked
    ///   classes, or settings out of range.
    public func generate(labels: [Int32]) throws(VecDBError) -> [(user: Int, item: Int)] {
        let classes = Set(labels).sorted()
        guard !labels.isEmpty, users > 0, likedClasses > 0, likedClasses <= classes.count, interactions.lowerBound > 0,
            (0...1).contains(noise)
        else {
            throw VecDBError(
                .invalidArgument,
                "simulated users: need items, 1...\(classes.count) liked classes, a positive interaction count and noise in [0, 1]")
        }
        var byClass: [Int32: [Int]] = [:]
        for (i, c) in labels.enumerated() { byClass[c, default: []].append(i) }
        var g = SeededGenerator(seed: seed)
        var pairs: [(user: Int, item: Int)] = []
        for u in 0..<users {
            var liked = classes
            liked.shuffle(using: &g)
            liked = Array(liked.prefix(likedClasses))
            let pool = liked.flatMap { byClass[$0] ?? [] }
            let span = UInt64(interactions.upperBound - interactions.lowerBound + 1)
            let n = min(interactions.lowerBound + Int(g.next() % span), labels.count)
            var chosen = Set<Int>()
            var attempts = 0
            while chosen.count < n && attempts < 20 * n {
                attempts += 1
                let fromPool = Double(g.nextUnitFloat()) >= noise && !pool.isEmpty
                let item = fromPool ? pool[Int(g.next() % UInt64(pool.count))] : Int(g.next() % UInt64(labels.count))
                chosen.insert(item)
            }
            for item in chosen.sorted() { pairs.append((u, item)) }
        }
        return pairs
    }
}
