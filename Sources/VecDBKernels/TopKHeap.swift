/// Keeps the `k` best (smallest distance, then smallest id) of a stream of candidates.
///
/// A bounded max-heap: the root is the worst candidate kept, so a new candidate is compared
/// with one value (``threshold``) and most are rejected without touching the heap.
///
/// - Complexity: O(log k) per accepted candidate, O(1) per rejected one.
public struct TopKHeap: Sendable {
    @usableFromInline var distances: [Float]
    @usableFromInline var ids: [UInt64]
    public let k: Int

    public init(k: Int) {
        self.k = max(0, k)
        distances = []
        ids = []
        // Reserved up to a bound: k may be a user's number far above the candidates there are.
        distances.reserveCapacity(min(self.k, 1 << 16))
        ids.reserveCapacity(min(self.k, 1 << 16))
    }

    @inlinable public var count: Int { distances.count }
    @inlinable public var isFull: Bool { distances.count >= k }

    /// Candidates at a greater distance than this cannot enter.
    @inlinable
    public var threshold: Float { isFull ? (k == 0 ? -.infinity : distances[0]) : .infinity }

    /// The id of the worst candidate kept; meaningful only when ``isFull``.
    @inlinable public var worstID: UInt64 { ids.first ?? .max }

    @inlinable
    static func worse(_ d1: Float, _ i1: UInt64, than d2: Float, _ i2: UInt64) -> Bool {
        d1 > d2 || (d1 == d2 && i1 > i2)
    }

    /// Offers a candidate; keeps it if it is among the best `k` so far.
    @inlinable
    public mutating func push(distance: Float, id: UInt64) {
        if distances.count < k {
            distances.append(distance)
            ids.append(id)
            siftUp(distances.count - 1)
        } else if k > 0, Self.worse(distances[0], ids[0], than: distance, id) {
            distances[0] = distance
            ids[0] = id
            siftDown(0)
        }
    }

    @inlinable
    mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.worse(distances[i], ids[i], than: distances[parent], ids[parent]) else { break }
            distances.swapAt(i, parent)
            ids.swapAt(i, parent)
            i = parent
        }
    }

    @inlinable
    mutating func siftDown(_ start: Int) {
        var i = start
        let n = distances.count
        while true {
            let l = 2 * i + 1
            if l >= n { break }
            var worst = l
            let r = l + 1
            if r < n, Self.worse(distances[r], ids[r], than: distances[l], ids[l]) { worst = r }
            guard Self.worse(distances[worst], ids[worst], than: distances[i], ids[i]) else { break }
            distances.swapAt(i, worst)
            ids.swapAt(i, worst)
            i = worst
        }
    }

    /// The kept candidates, best first.
    public func sorted() -> [Neighbor] {
        var out = (0..<distances.count).map { Neighbor(id: ids[$0], distance: distances[$0]) }
        out.sort(by: Neighbor.precedes)
        return out
    }
}
