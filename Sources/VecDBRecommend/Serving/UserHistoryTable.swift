import VecDB
import VecDBKernels

/// Every user's items, from the interaction log, kept current as interactions are recorded.
///
/// Shared by every snapshot of a recommender, so a reader holding an old model version still
/// excludes items the user interacted with after that version was trained. Thread-safe: the
/// table is a `Mutex`.
final class UserHistoryTable: Sendable {
    let table = Lock<[Key: [(item: Key, time: Int64)]]>([:])

    init(_ interactions: [Interaction]) { add(interactions) }

    /// Adds each interaction's item to its user's history, which stays in time order: by
    /// timestamp, equal timestamps in recording order, each item once at its earliest time.
    func add(_ interactions: [Interaction]) {
        table.withLock { t in
            for x in interactions {
                var h = t[x.user] ?? []
                if let at = h.firstIndex(where: { $0.item == x.item }) {
                    guard x.timestamp < h[at].time else { continue }
                    h.remove(at: at)
                }
                // After every entry at or before this time: recording order among equals.
                var position = h.count
                while position > 0 && h[position - 1].time > x.timestamp { position -= 1 }
                h.insert((x.item, x.timestamp), at: position)
                t[x.user] = h
            }
        }
    }

    /// The items of `user` in time order (most recent last), or `nil` for a user never seen.
    func items(of user: Key) -> [Key]? { table.withLock { $0[user]?.map(\.item) } }

    /// The users, sorted.
    func users() -> [Key] { table.withLock { $0.keys.sorted() } }
}
