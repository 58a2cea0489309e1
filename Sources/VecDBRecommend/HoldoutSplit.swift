import VecDBKernels

/// A per-user random hold-out: each user's items are shuffled with a seeded generator and cut
/// into a training part and a test part.
///
/// For a user with n distinct items, the last `ceil(n · testFraction)` of the shuffle go to
/// ``test`` and the rest to ``train`` (scikit-learn's `train_test_split` rounding: for 80/20,
/// train is ⌊0.8 · n⌋ when 0.8 · n is not whole), but every user keeps at least one train item:
/// a user with one item keeps it in train and is skipped by the evaluation, which needs test
/// items. Users are visited in index order (key order) with one generator, so the split
/// depends only on the data and the seed.
///
/// Hyper-parameters are chosen on a validation split made by applying the same procedure to
/// ``train`` (with another seed), never on ``test``.
public struct HoldoutSplit: Sendable {
    /// The items models are fitted on.
    public let train: InteractionMatrix
    /// The held-out items they are scored against.
    public let test: InteractionMatrix

    /// Splits `data` per user.
    ///
    /// - Parameters:
    ///   - data: the interactions.
    ///   - testFraction: the share of each user's items held out, in (0, 1); 0.2 by default.
    ///   - seed: the seed of the shuffle.
    /// - Returns: train and test matrices over the same users and items as `data`.
    /// - Throws: ``VecDBError/Code/invalidArgument`` when `testFraction` is outside (0, 1).
    /// - Complexity: O(pairs).
    public static func random(_ data: InteractionMatrix, testFraction: Double = 0.2, seed: UInt64) throws(VecDBError) -> HoldoutSplit {
        guard testFraction > 0, testFraction < 1 else {
            throw VecDBError(.invalidArgument, "the test fraction must be in (0, 1), got \(testFraction)")
        }
        var rng = SeededGenerator(seed: seed)
        var trainRows = [[Int32]](repeating: [], count: data.userCount)
        var testRows = [[Int32]](repeating: [], count: data.userCount)
        for u in 0..<data.userCount {
            var items = Array(data.items(ofUser: u))
            items.shuffle(using: &rng)
            let cut = items.count - testCount(items.count, testFraction)
            trainRows[u] = Array(items[..<cut])
            testRows[u] = Array(items[cut...])
        }
        return HoldoutSplit(train: data.withRows(trainRows), test: data.withRows(testRows))
    }

    /// ceil(n · fraction), at most n − 1; the tolerance keeps 0.2 · 35 = 7.000000000000001 at 7.
    static func testCount(_ n: Int, _ fraction: Double) -> Int {
        guard n > 1 else { return 0 }
        return min(n - 1, Int((Double(n) * fraction - 1e-9).rounded(.up)))
    }

    /// The validation split: ``random(_:testFraction:seed:)`` applied to ``train``.
    ///
    /// - Parameter seed: the seed of the validation shuffle (use another than the test split's).
    public func validation(testFraction: Double = 0.2, seed: UInt64) throws(VecDBError) -> HoldoutSplit {
        try Self.random(train, testFraction: testFraction, seed: seed)
    }
}
