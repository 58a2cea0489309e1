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
        let (entry, entryDistance) = descend(query)
        let width = max(ef, k)
        let visited = visitedPool.take(count: count)
        defer { visitedPool.give(visited) }
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
        let d = dimension
        let base = vectors.base
        let rowBytes = vectors.rowBytes
        let pair = self.pair
        let negate = self.negate
        let bias = self.bias
        let l0 = level0
        let s0 = stride0
        let m0 = maxM0
        let nodes = UInt32(truncatingIfNeeded: count)
        // At most M admitted nodes per expansion, as ACORN truncates its expanded lists: more
        // buys little recall for many more distances.
        let cap = maxM
        // The admitted nodes one expansion yields, compared after they are gathered so their
        // rows can be prefetched ahead of the distance loop.
        let gathered = UnsafeMutablePointer<UInt32>.allocate(capacity: max(m0, cap))
        defer { gathered.deallocate() }
        while !frontier.isEmpty {
            let (dist, c) = frontier.pop()
            if dist > bound && found.count >= width { break }
            let block = l0 + Int(c) &* s0
            let n = min(Int(block[0]), m0)
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
                    let n2 = min(Int(second[0]), m0)
                    for i in 0..<n2 {
                        let w = second[1 &+ i]
                        if w >= nodes || marks[Int(w)] == stamp || !isAdmitted(w) { continue }
                        marks[Int(w)] = stamp
                        gathered[taken] = w
                        taken &+= 1
                        if taken == cap { break hops }
                    }
                }
            }
            if found.isEmpty {
                // No admitted node yet (the descent can end in a sparse corner, among rejected
                // nodes): route through the rejected neighbours too, as the routing walk does,
                // until the first admitted node is found.
                for j in 0..<n {
                    let u = block[1 &+ j]
                    if u >= nodes || marks[Int(u)] == stamp { continue }
                    marks[Int(u)] = stamp
                    let raw = pair(query, base + Int(u) &* rowBytes, d)
                    frontier.push(negate ? bias - raw : raw, u)
                }
            }
            if taken > 0 { vdb_prefetch(base + Int(gathered[0]) &* rowBytes) }
            for j in 0..<taken {
                let cand = gathered[j]
                if j &+ 1 < taken { vdb_prefetch(base + Int(gathered[j &+ 1]) &* rowBytes) }
                let raw = pair(query, base + Int(cand) &* rowBytes, d)
                let dc = negate ? bias - raw : raw
                if found.count < width || dc < bound {
                    frontier.push(dc, cand)
                    found.push(dc, cand)
                    if found.count > width { found.pop() }
                    bound = found.topDistance
                }
            }
        }
        var out = found.drainSorted()
        if out.count > k { out.removeLast(out.count - k) }
        return out.map { Neighbor(id: UInt64($0.node), distance: $0.distance) }
    }
}
