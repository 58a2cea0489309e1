/// A binary heap of (distance, node) pairs over a buffer it owns, for graph search.
///
/// `Order.max` keeps the farthest on top (the result set, bounded by `ef`); `Order.min` keeps the
/// nearest on top (the frontier still to expand). Ties break by node id so searches are
/// deterministic.
struct CandidateHeap: ~Copyable {
    enum Order { case min, max }

    private(set) var count = 0
    private var capacity: Int
    private var distances: UnsafeMutablePointer<Float>
    private var nodes: UnsafeMutablePointer<UInt32>
    private let isMax: Bool

    init(order: Order, capacity: Int) {
        self.capacity = max(capacity, 16)
        distances = .allocate(capacity: self.capacity)
        nodes = .allocate(capacity: self.capacity)
        isMax = order == .max
    }

    deinit {
        distances.deallocate()
        nodes.deallocate()
    }

    var isEmpty: Bool { count == 0 }
    var topDistance: Float { distances[0] }
    var topNode: UInt32 { nodes[0] }

    mutating func removeAll() { count = 0 }

    @inline(__always)
    private func above(_ i: Int, _ j: Int) -> Bool {
        let a = distances[i]
        let b = distances[j]
        if a != b { return isMax ? a > b : a < b }
        return isMax ? nodes[i] > nodes[j] : nodes[i] < nodes[j]
    }

    @inline(__always)
    private func swap(_ i: Int, _ j: Int) {
        let d = distances[i]
        distances[i] = distances[j]
        distances[j] = d
        let n = nodes[i]
        nodes[i] = nodes[j]
        nodes[j] = n
    }

    mutating func push(_ distance: Float, _ node: UInt32) {
        if count == capacity { grow() }
        distances[count] = distance
        nodes[count] = node
        var i = count
        count += 1
        while i > 0 {
            let p = (i &- 1) >> 1
            guard above(i, p) else { break }
            swap(i, p)
            i = p
        }
    }

    @discardableResult
    mutating func pop() -> (distance: Float, node: UInt32) {
        let top = (distances[0], nodes[0])
        count -= 1
        if count > 0 {
            distances[0] = distances[count]
            nodes[0] = nodes[count]
            var i = 0
            while true {
                let l = 2 &* i &+ 1
                if l >= count { break }
                var c = l
                if l &+ 1 < count && above(l &+ 1, l) { c = l &+ 1 }
                guard above(c, i) else { break }
                swap(c, i)
                i = c
            }
        }
        return top
    }

    private mutating func grow() {
        let n = capacity * 2
        let d = UnsafeMutablePointer<Float>.allocate(capacity: n)
        let v = UnsafeMutablePointer<UInt32>.allocate(capacity: n)
        d.update(from: distances, count: count)
        v.update(from: nodes, count: count)
        distances.deallocate()
        nodes.deallocate()
        distances = d
        nodes = v
        capacity = n
    }

    /// The contents, nearest first. Leaves the heap empty.
    mutating func drainSorted() -> [(distance: Float, node: UInt32)] {
        var out: [(distance: Float, node: UInt32)] = []
        out.reserveCapacity(count)
        while count > 0 { out.append(pop()) }
        if isMax { out.reverse() }
        return out
    }
}

/// Marks visited nodes by epoch, so starting a new search costs nothing (hnswlib's trick).
final class VisitedSet {
    /// Read these into locals in hot loops: `marks[i] == epoch` means visited.
    private(set) var marks: UnsafeMutablePointer<UInt16>
    private(set) var capacity: Int
    private(set) var epoch: UInt16 = 0
    /// Scratch for one expansion: the neighbours gathered and their distances.
    private(set) var gathered: UnsafeMutablePointer<UInt32>
    private(set) var scores: UnsafeMutablePointer<Float>
    private var scratchCapacity = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        marks = .allocate(capacity: self.capacity)
        marks.initialize(repeating: 0, count: self.capacity)
        gathered = .allocate(capacity: 0)
        scores = .allocate(capacity: 0)
    }

    deinit {
        marks.deallocate()
        gathered.deallocate()
        scores.deallocate()
    }

    /// Makes ``gathered`` and ``scores`` hold at least `width` entries.
    func reserveScratch(_ width: Int) {
        guard width > scratchCapacity else { return }
        gathered.deallocate()
        scores.deallocate()
        gathered = .allocate(capacity: width)
        scores = .allocate(capacity: width)
        scratchCapacity = width
    }

    /// Starts a new search over at least `count` nodes.
    func reset(count: Int) {
        if count > capacity {
            marks.deallocate()
            capacity = count
            marks = .allocate(capacity: capacity)
            marks.initialize(repeating: 0, count: capacity)
            epoch = 0
        }
        epoch &+= 1
        if epoch == 0 {
            marks.update(repeating: 0, count: capacity)
            epoch = 1
        }
    }
}
