import CVecDBKernels
import Dispatch
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
        let width = max(ef, k)
        let visited = visitedPool.take(count: count)
        defer { visitedPool.give(visited) }
        visited.reserveScratch(maxM0)
        let (current, currentDistance) = descend(query, scratch: visited)
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
        let w = walk
        visited.reserveScratch(w.maxM0)
        let gathered = visited.gathered
        let scores = visited.scores
        let marks = visited.marks
        let stamp = visited.epoch
        while !frontier.isEmpty {
            let (dist, c) = frontier.pop()
            if dist > bound && (found.count >= width || !filtering) { break }
            let block = w.block(c)
            let n = w.degree(block)
            var taken = 0
            for j in 0..<n {
                let u = block[1 &+ j]
                if u >= w.nodes || marks[Int(u)] == stamp { continue }  // past the end: only a damaged file
                marks[Int(u)] = stamp
                gathered[taken] = u
                taken &+= 1
            }
            w.score(query, gathered, taken, into: scores)
            for j in 0..<taken {
                let dc = scores[j]
                guard found.count < width || dc < bound else { continue }
                let cand = gathered[j]
                frontier.push(dc, cand)
                if !filtering || passes(cand, allow) {
                    found.push(dc, cand)
                    if found.count > width { found.pop() }
                }
                if !found.isEmpty { bound = found.topDistance }
            }
            if !frontier.isEmpty { w.prefetchLinks(frontier.topNode) }
        }
        return results(query, &found, k: k)
    }

    /// The `k` nearest live nodes to each row of `queries`, the rows shared out over `threads`
    /// threads. The answer for row `i` is what ``search(_:k:ef:allow:)`` returns for it.
    ///
    /// - Parameters:
    ///   - queries: rows of `dimension` floats; unit length for cosine graphs.
    ///   - k: neighbours per query.
    ///   - ef: the size of the dynamic candidate list (at least `k` is used).
    ///   - threads: worker threads (at least 1 is used).
    /// - Returns: one list per query, nearest first.
    /// - Complexity: that of `queries.count` single searches, divided over the threads.
    public func search(queries: RowMatrix, k: Int, ef: Int, threads: Int) -> [[Neighbor]] {
        let n = queries.count
        guard n > 0 else { return [] }
        var out = [[Neighbor]](repeating: [], count: n)
        let workers = max(1, min(threads, n))
        out.withUnsafeMutableBufferPointer { results in
            let slots = UncheckedSendable(results)
            // Small chunks dealt out in turn, so the threads finish close together.
            let chunk = 16
            let chunks = (n + chunk - 1) / chunk
            DispatchQueue.concurrentPerform(iterations: workers) { t in
                var c = t
                while c < chunks {
                    for i in (c * chunk)..<min(n, (c + 1) * chunk) {
                        slots.value[i] = search(queries[i], k: k, ef: ef)
                    }
                    c += workers
                }
            }
        }
        return out
    }

    /// The greedy descent through the upper levels: the level-0 entry nearest to `query` and
    /// its distance (both over the walk rows). Each step scores a node's links with one gather
    /// call, in `scratch`'s buffers (at least `M` entries).
    func descend(_ query: UnsafePointer<Float>, scratch: VisitedSet) -> (UInt32, Float) {
        var current = entryPoint
        var currentDistance = walkDistance(query, current)
        guard maxLevel > 0 else { return (current, currentDistance) }
        let w = walk
        let ids = scratch.gathered
        let scores = scratch.scores
        for level in stride(from: maxLevel, to: 0, by: -1) {
            var changed = true
            while changed {
                changed = false
                let block = links(current, level)
                let n = min(Int(block[0]), maxM)
                var taken = 0
                for j in 0..<n {
                    let cand = block[1 &+ j]
                    if Int(cand) >= count || Int(levels[Int(cand)]) < level { continue }  // only a damaged file has these
                    ids[taken] = cand
                    taken &+= 1
                }
                w.score(query, ids, taken, into: scores)
                for j in 0..<taken where scores[j] < currentDistance {
                    currentDistance = scores[j]
                    current = ids[j]
                    changed = true
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
