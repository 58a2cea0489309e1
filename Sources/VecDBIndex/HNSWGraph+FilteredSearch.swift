import CVecDBKernels
import VecDBKernels

extension HNSWGraph {
    /// The `k` nearest live nodes to `query` among those set in `admitted`, by a walk that
    /// computes distances to admitted nodes only.
    ///
    /// The walk of ``search(_:k:ef:allow:)`` with a filter routes through rejected nodes: it
    /// computes their distances, keeps the near ones as candidates, and goes on until it holds
    /// `ef` admitted nodes, so at selectivity `s` it costs about `1/s` times the unfiltered
    /// walk. This walk (the two-hop expansion of ACORN, Patel et al., SIGMOD 2024, on an
    /// ordinary graph) expands a node into its admitted neighbours and, while that gives
    /// fewer than `M`, into the admitted neighbours of its rejected neighbours. Rejected
    /// nodes serve only as bridges, read from the link lists and never compared with the query,
    /// so the walk runs over the subgraph of admitted nodes at about the cost of an unfiltered
    /// walk. Below a selectivity of about `1 / M` two hops no longer reach enough admitted
    /// nodes to keep that subgraph connected; the planner then uses the routing walk or the
    /// exact scan.
    ///
    /// - Parameters:
    ///   - query: `dimension` floats; unit length for cosine graphs.
    ///   - ef: the size of the dynamic candidate list (at least `k` is used).
    ///   - admitted: a bitmap over node numbers (bit `i % 64` of word `i / 64`); nodes past
    ///     its end are rejected. Deleted nodes are rejected whatever it says.
    /// - Returns: up to `k` admitted neighbours, nearest first. Fewer than `k` when fewer are
    ///   admitted or when the walk could not reach them (the caller then scans exactly).
    /// - Complexity: about as many distance computations as an unfiltered search at `ef`,
    ///   and up to `(2·M)²` link reads per expansion.
    public func search(_ query: UnsafePointer<Float>, k: Int, ef: Int, admitted: UnsafeBufferPointer<UInt64>) -> [Neighbor] {
        guard count > 0, k > 0, maxLevel >= 0, let bits = admitted.baseAddress else { return [] }
        let width = max(ef, k)
        let visited = visitedPool.take(count: count)
        defer { visitedPool.give(visited) }
        visited.reserveScratch(maxM + maxM0)
        let (entry, entryDistance) = descend(query, scratch: visited)
        var frontier = CandidateHeap(order: .min, capacity: width * 2)
        var found = CandidateHeap(order: .max, capacity: width + 1)
        let limit = UInt32(truncatingIfNeeded: min(count, admitted.count &* 64))
        let dead = deletedCount > 0 ? UnsafePointer(deletedBits) : nil
        @inline(__always) func isAdmitted(_ u: UInt32) -> Bool {
            guard u < limit else { return false }
            let w = Int(u &>> 6)
            let bit = UInt64(1) &<< UInt64(u & 63)
            if bits[w] & bit == 0 { return false }
            if let dead, dead[w] & bit != 0 { return false }
            return true
        }
        let marks = visited.marks
        let stamp = visited.epoch
        // The entry is the first node expanded whatever it is; it joins the results only when
        // admitted.
        marks[Int(entry)] = stamp
        frontier.push(entryDistance, entry)
        var bound = Float.infinity
        if isAdmitted(entry) {
            found.push(entryDistance, entry)
            bound = entryDistance
        }
        let w = walk
        let l0 = w.level0
        let s0 = w.stride0
        let nodes = w.nodes
        // At most M admitted nodes per expansion, as ACORN truncates its expanded lists: more
        // buys little recall for many more distances.
        let cap = maxM
        // The admitted nodes one expansion yields, scored together once gathered (and, before
        // the first admitted node is found, the rejected neighbours routed through after them):
        // at most M + 2M entries, reserved above.
        let gathered = visited.gathered
        let scores = visited.scores
        while !frontier.isEmpty {
            let (dist, c) = frontier.pop()
            if dist > bound && found.count >= width { break }
            let block = l0 + Int(c) &* s0
            let n = w.degree(block)
            var taken = 0
            for j in 0..<n {
                let u = block[1 &+ j]
                if u >= nodes || marks[Int(u)] == stamp { continue }
                if !isAdmitted(u) {
                    vdb_prefetch(UnsafeRawPointer(l0 + Int(u) &* s0))  // read if a second hop is needed
                    continue
                }
                marks[Int(u)] = stamp
                gathered[taken] = u
                taken &+= 1
            }
            if taken < cap {
                hops: for j in 0..<n {
                    let u = block[1 &+ j]
                    if u >= nodes || isAdmitted(u) { continue }
                    let second = l0 + Int(u) &* s0
                    let n2 = w.degree(second)
                    for i in 0..<n2 {
                        let v = second[1 &+ i]
                        if v >= nodes || marks[Int(v)] == stamp || !isAdmitted(v) { continue }
                        marks[Int(v)] = stamp
                        gathered[taken] = v
                        taken &+= 1
                        if taken == cap { break hops }
                    }
                }
            }
            if found.isEmpty {
                // No admitted node yet (the descent can end in a sparse corner, among rejected
                // nodes): route through the rejected neighbours too, as the routing walk does,
                // until the first admitted node is found. They go after the admitted ones.
                var routed = taken
                for j in 0..<n {
                    let u = block[1 &+ j]
                    if u >= nodes || marks[Int(u)] == stamp { continue }
                    marks[Int(u)] = stamp
                    gathered[routed] = u
                    routed &+= 1
                }
                w.score(query, gathered + taken, routed &- taken, into: scores + taken)
                for j in taken..<routed { frontier.push(scores[j], gathered[j]) }
            }
            w.score(query, gathered, taken, into: scores)
            for j in 0..<taken {
                let dc = scores[j]
                guard found.count < width || dc < bound else { continue }
                let cand = gathered[j]
                frontier.push(dc, cand)
                found.push(dc, cand)
                if found.count > width { found.pop() }
                bound = found.topDistance
            }
            if !frontier.isEmpty { w.prefetchLinks(frontier.topNode) }
        }
        return results(query, &found, k: k)
    }
}
