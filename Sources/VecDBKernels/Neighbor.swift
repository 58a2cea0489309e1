/// One search result: an id and its distance to the query (smaller is closer).
public struct Neighbor: Sendable, Hashable, CustomStringConvertible {
    public var id: UInt64
    public var distance: Float

    @inlinable
    public init(id: UInt64, distance: Float) {
        self.id = id
        self.distance = distance
    }

    /// Result order: by distance, then by id, so ties break deterministically.
    @inlinable
    public static func precedes(_ a: Neighbor, _ b: Neighbor) -> Bool {
        a.distance < b.distance || (a.distance == b.distance && a.id < b.id)
    }

    public var description: String { "\(id):\(distance)" }
}
