import VecDBKernels

/// Strong generalisation (Liang et al. 2018): some users are held out entirely. Models are
/// fitted on the other users only; each held-out user's history is then split per user into a
/// fold-in part, which the model sees at scoring time (``ItemScorer/score(history:into:)``,
/// without retraining), and a test part it is scored against.
///
/// Held-out users are drawn with a seeded shuffle of the users (⌈n · heldOutFraction⌉ of them,
/// at least one, never all). Their items are cut as ``HoldoutSplit/random(_:testFraction:seed:)``
/// cuts them (ceil(20 %) test, at least one fold-in item). All three matrices share the users
/// and items of the data, so item indices mean the same thing everywhere; rows that do not take
/// part are empty.
public struct StrongGeneralizationSplit: Sendable {
    /// The training users' whole histories (held-out users' rows empty), with the hold-out
    /// used for choosing hyper-parameters (``HoldoutSplit/validation(testFraction:seed:)`` of it).
    public let fit: HoldoutSplit
    /// The held-out users' fold-in histories (other rows empty).
    public let foldIn: InteractionMatrix
    /// The held-out users' test items (other rows empty).
    public let test: InteractionMatrix
    /// The held-out users' indices, ascending.
    public let heldOutUsers: [Int]

    /// Splits `data`.
    ///
    /// - Parameters:
    ///   - data: the interactions.
    ///   - heldOutFraction: the share of users held out, in (0, 1); 0.1 by default.
    ///   - testFraction: the share of a held-out user's items tested, in (0, 1); 0.2 by default.
    ///   - seed: the seed of both shuffles.
    /// - Throws: `VecDBError.Code.invalidArgument` for fractions outside (0, 1) or fewer than
    ///   two users.
    /// - Complexity: O(pairs).
    public static func random(
        _ data: InteractionMatrix, heldOutFraction: Double = 0.1, testFraction: Double = 0.2, seed: UInt64
    ) throws(VecDBError) -> StrongGeneralizationSplit {
        guard heldOutFraction > 0, heldOutFraction < 1 else {
            throw VecDBError(.invalidArgument, "the held-out user fraction must be in (0, 1), got \(heldOutFraction)")
        }
        guard data.userCount >= 2 else {
            throw VecDBError(.invalidArgument, "strong generalisation needs at least 2 users, got \(data.userCount)")
        }
        var rng = SeededGenerator(seed: seed)
        var users = Array(0..<data.userCount)
        users.shuffle(using: &rng)
        let n = min(data.userCount - 1, max(1, Int((Double(data.userCount) * heldOutFraction - 1e-9).rounded(.up))))
        let heldOut = Array(users.prefix(n)).sorted()
        var isHeldOut = [Bool](repeating: false, count: data.userCount)
        for u in heldOut { isHeldOut[u] = true }

        var fitRows = [[Int32]](repeating: [], count: data.userCount)
        var heldRows = [[Int32]](repeating: [], count: data.userCount)
        for u in 0..<data.userCount {
            if isHeldOut[u] { heldRows[u] = Array(data.items(ofUser: u)) } else { fitRows[u] = Array(data.items(ofUser: u)) }
        }
        let fitMatrix = data.withRows(fitRows)
        let held = try HoldoutSplit.random(data.withRows(heldRows), testFraction: testFraction, seed: seed &+ 7)
        let empty = data.withRows([[Int32]](repeating: [], count: data.userCount))
        return StrongGeneralizationSplit(
            fit: HoldoutSplit(train: fitMatrix, test: empty), foldIn: held.train, test: held.test, heldOutUsers: heldOut)
    }

    /// The evaluator over the held-out users: their fold-in items are the history a model
    /// scores from (and are excluded from the ranking); their test items are the targets.
    public var evaluator: RankingEvaluator { RankingEvaluator(HoldoutSplit(train: foldIn, test: test)) }
}
