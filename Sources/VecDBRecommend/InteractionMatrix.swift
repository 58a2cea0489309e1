import VecDBKernels
import VecDBStorage

/// Implicit feedback as a binary user × item matrix in compressed rows.
///
/// Every interaction is a positive; repeated user–item pairs count once. Users and items get
/// dense indices in ascending key order, so the same data gives the same indices whatever the
/// order of the file. Each user's row holds ascending item indices.
///
/// ```
///   offsets: [0, 3, 5, …]         user u's items are items[offsets[u] ..< offsets[u + 1]]
///   items:   [2, 7, 9 | 0, 7 | …]  ascending within a row
/// ```
public struct InteractionMatrix: Sendable, Equatable {
    /// The key of each user index.
    public let userKeys: [Key]
    /// The key of each item index.
    public let itemKeys: [Key]
    @usableFromInline let offsets: [Int]
    @usableFromInline let columns: [Int32]

    /// Builds the matrix of `interactions`, deduplicating user–item pairs.
    ///
    /// - Complexity: O(n log n) for n interactions.
    public init(_ interactions: [Interaction]) {
        let users = Array(Set(interactions.map(\.user))).sorted()
        let items = Array(Set(interactions.map(\.item))).sorted()
        var userIndex: [Key: Int] = [:]
        var itemIndex: [Key: Int32] = [:]
        for (i, k) in users.enumerated() { userIndex[k] = i }
        for (i, k) in items.enumerated() { itemIndex[k] = Int32(i) }
        var rows = [[Int32]](repeating: [], count: users.count)
        for x in interactions {
            if let u = userIndex[x.user], let i = itemIndex[x.item] { rows[u].append(i) }
        }
        self.init(userKeys: users, itemKeys: items, rows: rows)
    }

    /// Builds a matrix from rows of item indices (sorted and deduplicated here).
    package init(userKeys: [Key], itemKeys: [Key], rows: [[Int32]]) {
        self.userKeys = userKeys
        self.itemKeys = itemKeys
        var offsets = [0]
        offsets.reserveCapacity(rows.count + 1)
        var columns: [Int32] = []
        columns.reserveCapacity(rows.reduce(0) { $0 + $1.count })
        for row in rows {
            var previous: Int32 = -1
            for i in row.sorted() where i != previous {
                columns.append(i)
                previous = i
            }
            offsets.append(columns.count)
        }
        self.offsets = offsets
        self.columns = columns
    }

    /// Builds a matrix from index pairs, for tests and synthetic data.
    package init(userCount: Int, itemCount: Int, pairs: [(user: Int, item: Int)]) {
        var rows = [[Int32]](repeating: [], count: userCount)
        for p in pairs { rows[p.user].append(Int32(p.item)) }
        self.init(userKeys: (0..<userCount).map { .int(UInt64($0)) }, itemKeys: (0..<itemCount).map { .int(UInt64($0)) }, rows: rows)
    }

    /// The number of users (rows).
    public var userCount: Int { userKeys.count }
    /// The number of items (columns).
    public var itemCount: Int { itemKeys.count }
    /// The number of distinct user–item pairs.
    public var pairCount: Int { columns.count }

    /// The item indices of user `u`, ascending.
    @inlinable
    public func items(ofUser u: Int) -> ArraySlice<Int32> { columns[offsets[u]..<offsets[u + 1]] }

    /// The same users and items with other rows: the rows of a split share the key tables.
    package func withRows(_ rows: [[Int32]]) -> InteractionMatrix {
        InteractionMatrix(userKeys: userKeys, itemKeys: itemKeys, rows: rows)
    }

    /// How many users hold each item.
    public func itemCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: itemCount)
        for i in columns { counts[Int(i)] += 1 }
        return counts
    }

    /// Calls `body` with consecutive blocks of at most `blockRows` users as a dense row-major
    /// 0/1 matrix (`rows × itemCount`); the buffer is reused between calls.
    package func forEachDenseBlock(blockRows: Int, _ body: (_ firstUser: Int, _ rows: Int, _ dense: UnsafePointer<Float>) -> Void) {
        let n = itemCount
        let b = max(1, blockRows)
        var dense = [Float](repeating: 0, count: b * n)
        var first = 0
        while first < userCount {
            let rows = min(b, userCount - first)
            dense.withUnsafeMutableBufferPointer { d in
                for r in 0..<rows { for i in items(ofUser: first + r) { d[r * n + Int(i)] = 1 } }
                if let p = d.baseAddress { body(first, rows, p) }
                for r in 0..<rows { for i in items(ofUser: first + r) { d[r * n + Int(i)] = 0 } }
            }
            first += rows
        }
    }
}
