import CVecDBKernels
import Foundation
import VecDBKernels

extension HNSWGraph {
    /// The `k` nearest live nodes to `query`.
    ///
    /// - Parameters:
    ///   - query: `dimension` floats; unit length for cosine graphs.
    ///   - ef: the size of the dynamic candidate list; larger is slower and more accurate. At least `k` is used.
    ///   - allow: when given, only nodes it accepts are returned; the search still routes
    ///     through the others, as hnswlib's filtered search does.
    /// - Returns: up to `k` neighbours (ids are node numbers), nearest first.
    /// - Complexity: about O(ef × log n) distance computations.
    public func search(_ query: UnsafePointer<Float>, k: Int, ef: Int, allow: ((UInt32) -> Bool)? = nil) -> [Neighbor] {
        guard count > 0, k > 0, maxLevel >= 0 else { return [] }
        let (current, currentDistance) = descend(query)
        let width = max(ef, k)
        let visited = visitedPool.take(count: count)
        defer { visitedPool.give(visited) }
        var frontier = CandidateHeap(order: .min, capacity: width * 2)
        var found = CandidateHeap(order: .max, capacity: width + 1)
        let filtering = allow != nil || deletedCount > 0
        visited.marks[Int(current)] = visited.epoch
        frontier.push(currentDistance, current)
        var bound = Float.infinity
        if !filtering || passes(current, allow) {
            found.push(currentDistance, current)
            bound = currentDistance
        }
        // Hot loop: everything it reads is hoisted into locals (class properties would cost an
        // exclusivity check per access).
        let d = dimension
        let base = vectors.base
        let rowBytes = vectors.rowBytes
        let pair = self.pair
        let negate = self.negate
        let bias = self.bias
        let l0 = level0
        let s0 = stride0
        let m0 = maxM0
        let marks = visited.marks
        let stamp = visited.epoch
        let limit = UInt32(truncatingIfNeeded: count)
        while !frontier.isEmpty {
            let (dist, c) = frontier.pop()
            if dist > bound && (found.count >= width || !filtering) { break }
            let block = l0 + Int(c) &* s0
            let n = min(Int(block[0]), m0)
            if n > 0 && block[1] < limit { vdb_prefetch(base + Int(block[1]) &* rowBytes) }
            for j in 0..<n {
                let cand = block[1 &+ j]
                if j &+ 1 < n && block[2 &+ j] < limit { vdb_prefetch(base + Int(block[2 &+ j]) &* rowBytes) }
                if cand >= limit { continue }  // only a damaged file has these
                if marks[Int(cand)] == stamp { continue }
                marks[Int(cand)] = stamp
                let raw = pair(query, base + Int(cand) &* rowBytes, d)
                let dc = negate ? bias - raw : raw
                if found.count < width || dc < bound {
                    frontier.push(dc, cand)
                    if !filtering || passes(cand, allow) {
                        found.push(dc, cand)
                        if found.count > width { found.pop() }
                    }
                    if !found.isEmpty { bound = found.topDistance }
                }
            }
        }
        var out = found.drainSorted()
        if out.count > k { out.removeLast(out.count - k) }
        return out.map { Neighbor(id: UInt64($0.node), distance: $0.distance) }
    }

    /// The greedy descent through the upper levels: the level-0 entry nearest to `query` and
    /// its distance.
    func descend(_ query: UnsafePointer<Float>) -> (UInt32, Float) {
        var current = entryPoint
        var currentDistance = distance(query, current)
        guard maxLevel > 0 else { return (current, currentDistance) }
        for level in stride(from: maxLevel, to: 0, by: -1) {
            var changed = true
            while changed {
                changed = false
                let block = links(current, level)
                let n = min(Int(block[0]), maxM)
                for j in 0..<n {
                    let cand = block[1 + j]
                    if Int(cand) >= count || Int(levels[Int(cand)]) < level { continue }  // only a damaged file has these
                    let d = distance(query, cand)
                    if d < currentDistance {
                        currentDistance = d
                        current = cand
                        changed = true
                    }
                }
            }
        }
        return (current, currentDistance)
    }

    @inline(__always)
    func passes(_ node: UInt32, _ allow: ((UInt32) -> Bool)?) -> Bool {
        if deletedCount > 0 && isDeleted(node) { return false }
        if let allow { return allow(node) }
        return true
    }

    /// Structural problems, for tests: links to missing nodes, self-links, duplicate links,
    /// degrees over their bounds, and an entry point below the top level.
    public func invariantViolations() -> [String] {
        var problems: [String] = []
        for i in 0..<count {
            let node = UInt32(i)
            let top = level(of: node)
            for level in 0...top {
                let block = links(node, level)
                let n = Int(block[0])
                let limit = level == 0 ? maxM0 : maxM
                if n > limit { problems.append("node \(i) level \(level) has \(n) links, more than \(limit)") }
                var seen = Set<UInt32>()
                for j in 0..<min(n, limit) {
                    let t = block[1 + j]
                    if Int(t) >= count {
                        problems.append("node \(i) level \(level) links to missing node \(t)")
                    } else if level > self.level(of: t) {
                        problems.append("node \(i) level \(level) links to node \(t) of level \(self.level(of: t))")
                    }
                    if t == node { problems.append("node \(i) links to itself") }
                    if !seen.insert(t).inserted { problems.append("node \(i) level \(level) links to \(t) twice") }
                }
            }
        }
        if count > 0 && level(of: entryPoint) != maxLevel { problems.append("entry point is not on the top level") }
        return problems
    }
}

/// Reuses visited sets across searches; each concurrent search takes its own.
final class VisitedPool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [VisitedSet] = []

    func take(count: Int) -> VisitedSet {
        lock.lock()
        let v = free.popLast()
        lock.unlock()
        let set = v ?? VisitedSet(capacity: count)
        set.reset(count: count)
        return set
    }

    func give(_ v: VisitedSet) {
        lock.lock()
        free.append(v)
        lock.unlock()
    }
}
