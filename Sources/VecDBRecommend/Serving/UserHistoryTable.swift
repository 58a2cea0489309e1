import VecDB
import VecDBKernels

/// Every user's items, from the interaction log, kept current as interactions are recorded.
///
/// Shared by every snapshot of a recommender, so a reader holding an old model version still
/// excludes items the user interacted with after that version was trained. Thread-safe: the
/// table is a `Mutex`.
final class UserHistoryTable: Sendable {
    let table = Lock<[Key: [Key]]>([:])

    init(_ interactions: [Interaction]) { add(interactions) }

    /// Appends each interaction's item to its user's history (once per user–item pair).
    func add(_ interactions: [Interaction]) {
        table.withLock { t in
            for x in interactions {
                if let h = t[x.user] {
                    if !h.contains(x.item) { t[x.user, default: []].append(x.item) }
                } else {
                    t[x.user] = [x.item]
                }
            }
        }
    }

    /// The items of `user`, in first-interaction order, or `nil` for a user never seen.
    func items(of user: Key) -> [Key]? { table.withLock { $0[user] } }

    /// The users, sorted.
    func users() -> [Key] { table.withLock { $0.keys.sorted() } }
}
