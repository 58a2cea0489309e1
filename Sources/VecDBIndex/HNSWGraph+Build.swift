import Foundation
import VecDBKernels

// Building: insertion (single- or multi-threaded, with striped node locks), neighbour
// selection by the heuristic of the HNSW paper, and the search of one layer that both use.
extension HNSWGraph {
    /// Builds a graph over every row of `vectors`.
    ///
    /// - Parameters:
    ///   - threads: insertion threads; 1 gives a deterministic graph for a given seed.
    /// - Complexity: about O(n log n × efConstruction) distance computations.
    public static func build(
        vectors: RowMatrix, metric: Metric, parameters: Parameters = .init(), threads: Int = 1,
        progress: (@Sendable (Int) -> Void)? = nil
    ) throws(VecDBError) -> HNSWGraph {
        try build(vectors: StoredRows(vectors), metric: metric, parameters: parameters, threads: threads, progress: progress)
    }

    /// Builds a graph over every row of `vectors`, Float32 or Float16.
    public static func build(
        vectors: StoredRows, metric: Metric, parameters: Parameters = .init(), threads: Int = 1,
        progress: (@Sendable (Int) -> Void)? = nil
    ) throws(VecDBError) -> HNSWGraph {
        let g = try HNSWGraph(metric: metric, vectors: vectors, parameters: parameters)
        try g.add(upTo: vectors.count, threads: threads, progress: progress)
        return g
    }

    /// Inserts rows `count..<n` of the bound vectors.
    public func add(upTo n: Int, threads: Int = 1, progress: (@Sendable (Int) -> Void)? = nil) throws(VecDBError) {
        guard mapping == nil else { throw VecDBError(.readOnly, "an HNSW graph opened from a file is read-only; rebuild it to add rows") }
        guard n <= vectors.count else {
            throw VecDBError(.invalidArgument, "cannot index \(n) rows: only \(vectors.count) are bound")
        }
        guard n <= Int(UInt32.max - 1) else { throw VecDBError(.invalidArgument, "an HNSW graph holds at most 2^32 - 2 nodes") }
        guard n > count else { return }
        try checkWalkCopyRange(from: count, to: n)
        reserve(n)
        let first = count
        // The build compares exact rows; the copy serves searches.
        encodeWalkCopy(from: first, to: n)
        // Draw every new node's level up front, so upper blocks can be laid out before threads start.
        let multiplier = levelMultiplier
        for i in first..<n {
            let u = max(Double(rng.nextUnitFloat()), 1e-12)
            let lvl = min(Self.maximumLevel, Int(-log(u) * multiplier))
            levels[i] = UInt8(lvl)
            level0[i * stride0] = 0
            if lvl > 0 {
                if upperCount + lvl * strideU > upperCapacity { growUpper(upperCount + lvl * strideU) }
                upperOffset[i] = UInt32(upperCount)
                for l in 0..<lvl { upper[upperCount + l * strideU] = 0 }
                upperCount += lvl * strideU
            } else {
                upperOffset[i] = Self.noUpper
            }
        }
        var next = first
        if maxLevel < 0 {
            entryPoint = UInt32(first)
            maxLevel = Int(levels[first])
            next += 1
        }
        count = n
        let total = n - next
        if total <= 0 { return }
        if threads <= 1 || total < 1000 {
            var ctx = BuildContext(graph: self)
            for i in next..<n {
                insert(UInt32(i), &ctx, locks: nil)
                if let progress, (i - first) % 10_000 == 0 { progress(i) }
            }
        } else {
            let locks = StripedLocks(stripes: 4096)
            let start = next
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                var ctx = BuildContext(graph: self)
                var i = start + t
                while i < n {
                    insert(UInt32(i), &ctx, locks: locks)
                    // Thread 0 reports for everyone; the others advance in step with it.
                    if t == 0, let progress, (i - start) % (10_000 * threads) < threads { progress(i) }
                    i += threads
                }
            }
        }
        progress?(n)
    }

    func reserve(_ n: Int) {
        guard n > capacity else { return }
        var c = capacity
        while c < n { c *= 2 }
        let l0 = UnsafeMutablePointer<UInt32>.allocate(capacity: c * stride0)
        l0.update(from: level0, count: count * stride0)
        level0.deallocate()
        level0 = l0
        let lv = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
        lv.update(from: levels, count: count)
        levels.deallocate()
        levels = lv
        let uo = UnsafeMutablePointer<UInt32>.allocate(capacity: c)
        uo.update(from: upperOffset, count: count)
        upperOffset.deallocate()
        upperOffset = uo
        let words = (c + 63) / 64
        let old = (capacity + 63) / 64
        let db = UnsafeMutablePointer<UInt64>.allocate(capacity: words)
        db.update(from: deletedBits, count: old)
        (db + old).initialize(repeating: 0, count: words - old)
        deletedBits.deallocate()
        deletedBits = db
        capacity = c
    }

    func growUpper(_ need: Int) {
        var c = upperCapacity
        while c < need { c *= 2 }
        let u = UnsafeMutablePointer<UInt32>.allocate(capacity: c)
        u.update(from: upper, count: upperCount)
        upper.deallocate()
        upper = u
        upperCapacity = c
    }

    /// A list of (distance, node) pairs in buffers owned by a build context.
    struct PairList: ~Copyable {
        let distances: UnsafeMutablePointer<Float>
        let nodes: UnsafeMutablePointer<UInt32>
        var count = 0

        init(capacity: Int) {
            distances = .allocate(capacity: capacity)
            nodes = .allocate(capacity: capacity)
        }

        deinit {
            distances.deallocate()
            nodes.deallocate()
        }

        @inline(__always) mutating func append(_ d: Float, _ n: UInt32) {
            distances[count] = d
            nodes[count] = n
            count &+= 1
        }

        /// Insertion sort by distance, then node: the lists here hold at most 2M + 1 entries.
        mutating func sort() {
            var i = 1
            while i < count {
                let d = distances[i]
                let n = nodes[i]
                var j = i &- 1
                while j >= 0 && (distances[j] > d || (distances[j] == d && nodes[j] > n)) {
                    distances[j &+ 1] = distances[j]
                    nodes[j &+ 1] = nodes[j]
                    j &-= 1
                }
                distances[j &+ 1] = d
                nodes[j &+ 1] = n
                i &+= 1
            }
        }
    }

    /// Scratch space one inserting thread reuses, so inserting allocates nothing.
    struct BuildContext: ~Copyable {
        var visited: VisitedSet
        var frontier: CandidateHeap
        var found: CandidateHeap
        /// The layer search's results, nearest first, and the neighbours chosen from them.
        var candidates: PairList
        var chosen: PairList
        /// A full neighbour list being pruned, and what survives.
        var pruneIn: PairList
        var pruneOut: PairList
        var linkCopy: [UInt32]
        /// Three rows' worth of floats: Float16 rows are decoded here when they act as queries
        /// (the node being inserted, a node being pruned, a candidate being compared).
        let scratch: UnsafeMutablePointer<Float>

        init(graph: HNSWGraph) {
            scratch = .allocate(capacity: 3 * graph.dimension)
            let ef = graph.parameters.efConstruction
            visited = VisitedSet(capacity: graph.capacity)
            frontier = CandidateHeap(order: .min, capacity: ef * 2)
            found = CandidateHeap(order: .max, capacity: ef + 1)
            candidates = PairList(capacity: ef + 1)
            chosen = PairList(capacity: graph.maxM0 + 1)
            pruneIn = PairList(capacity: graph.maxM0 + 2)
            pruneOut = PairList(capacity: graph.maxM0 + 2)
            linkCopy = [UInt32](repeating: 0, count: graph.maxM0 + 1)
        }

        deinit { scratch.deallocate() }
    }

    func insert(_ node: UInt32, _ ctx: inout BuildContext, locks: StripedLocks?) {
        let q = vectors.floats(Int(node), scratch: ctx.scratch)
        let nodeLevel = Int(levels[Int(node)])
        // Entry point and top level; a node that raises the top level holds the global lock throughout.
        locks?.lockGlobal()
        var holdsGlobal = true
        let top = maxLevel
        var current = entryPoint
        if nodeLevel <= top || locks == nil {
            locks?.unlockGlobal()
            holdsGlobal = false
        }
        var currentDistance = distance(q, current)
        if top > nodeLevel {
            for level in stride(from: top, to: nodeLevel, by: -1) {
                var changed = true
                while changed {
                    changed = false
                    let n = copyLinks(current, level, &ctx.linkCopy, locks)
                    for j in 0..<n {
                        let cand = ctx.linkCopy[j]
                        let d = distance(q, cand)
                        if d < currentDistance {
                            currentDistance = d
                            current = cand
                            changed = true
                        }
                    }
                }
            }
        }
        for level in stride(from: min(nodeLevel, top), through: 0, by: -1) {
            searchLayer(
                q, entry: current, entryDistance: currentDistance, ef: parameters.efConstruction, level: level,
                ctx: &ctx, locks: locks)
            // Drain the max-heap into `candidates`, nearest first.
            let n = ctx.found.count
            ctx.candidates.count = n
            var i = n &- 1
            while i >= 0 {
                let (d, c) = ctx.found.pop()
                ctx.candidates.distances[i] = d
                ctx.candidates.nodes[i] = c
                i &-= 1
            }
            if n > 0 { (currentDistance, current) = (ctx.candidates.distances[0], ctx.candidates.nodes[0]) }
            let scratch = ctx.scratch + 2 &* dimension
            selectNeighbors(ctx.candidates, into: &ctx.chosen, max: maxM, scratch: scratch)
            // Our own links: nobody else writes them until we link back, but readers may look.
            locks?.lock(node)
            let own = links(node, level)
            own[0] = UInt32(ctx.chosen.count)
            for j in 0..<ctx.chosen.count { own[1 &+ j] = ctx.chosen.nodes[j] }
            locks?.unlock(node)
            let limit = level == 0 ? maxM0 : maxM
            for j in 0..<ctx.chosen.count {
                connect(
                    ctx.chosen.nodes[j], to: node, distance: ctx.chosen.distances[j], level: level, limit: limit,
                    ctx: &ctx, locks: locks)
            }
        }
        if nodeLevel > top {
            entryPoint = node
            maxLevel = nodeLevel
        }
        if holdsGlobal { locks?.unlockGlobal() }
    }

    /// Adds `node` to `target`'s links at `level`, pruning with the heuristic when full.
    func connect(
        _ target: UInt32, to node: UInt32, distance d: Float, level: Int, limit: Int,
        ctx: inout BuildContext, locks: StripedLocks?
    ) {
        locks?.lock(target)
        defer { locks?.unlock(target) }
        let block = links(target, level)
        let n = Int(block[0])
        for j in 0..<n where block[1 &+ j] == node { return }
        if n < limit {
            block[1 &+ n] = node
            block[0] = UInt32(n &+ 1)
            return
        }
        let t = vectors.floats(Int(target), scratch: ctx.scratch + dimension)
        ctx.pruneIn.count = 0
        ctx.pruneIn.append(d, node)
        for j in 0..<n {
            let other = block[1 &+ j]
            ctx.pruneIn.append(distance(t, other), other)
        }
        ctx.pruneIn.sort()
        let scratch = ctx.scratch + 2 &* dimension
        selectNeighbors(ctx.pruneIn, into: &ctx.pruneOut, max: limit, scratch: scratch)
        block[0] = UInt32(ctx.pruneOut.count)
        for j in 0..<ctx.pruneOut.count { block[1 &+ j] = ctx.pruneOut.nodes[j] }
    }

    /// hnswlib's heuristic: walk candidates nearest first and keep one only if it is closer to the
    /// base than to every neighbour kept so far, which spreads links in different directions.
    func selectNeighbors(_ sorted: borrowing PairList, into kept: inout PairList, max m: Int, scratch: UnsafeMutablePointer<Float>) {
        kept.count = 0
        if sorted.count <= m {
            for j in 0..<sorted.count { kept.append(sorted.distances[j], sorted.nodes[j]) }
            return
        }
        for j in 0..<sorted.count {
            if kept.count >= m { break }
            let c = sorted.nodes[j]
            let cd = sorted.distances[j]
            let cv = vectors.floats(Int(c), scratch: scratch)
            var good = true
            for s in 0..<kept.count where distance(cv, kept.nodes[s]) < cd {
                good = false
                break
            }
            if good { kept.append(cd, c) }
        }
    }

    @inline(__always)
    func copyLinks(_ node: UInt32, _ level: Int, _ out: inout [UInt32], _ locks: StripedLocks?) -> Int {
        locks?.lock(node)
        let block = links(node, level)
        let n = Int(block[0])
        out.withUnsafeMutableBufferPointer { o in
            for j in 0..<n { o[j] = block[1 + j] }
        }
        locks?.unlock(node)
        return n
    }

    /// Best-first search of one level during construction; leaves up to `ef` results in `ctx.found`.
    func searchLayer(
        _ q: UnsafePointer<Float>, entry: UInt32, entryDistance: Float, ef: Int, level: Int,
        ctx: inout BuildContext, locks: StripedLocks?
    ) {
        ctx.visited.reset(count: count)
        ctx.frontier.removeAll()
        ctx.found.removeAll()
        let w = exactWalk
        ctx.visited.reserveScratch(maxM0)
        let gathered = ctx.visited.gathered
        let scores = ctx.visited.scores
        let marks = ctx.visited.marks
        let stamp = ctx.visited.epoch
        marks[Int(entry)] = stamp
        ctx.frontier.push(entryDistance, entry)
        ctx.found.push(entryDistance, entry)
        while !ctx.frontier.isEmpty {
            let (d, c) = ctx.frontier.pop()
            if d > ctx.found.topDistance && ctx.found.count >= ef { break }
            let n = copyLinks(c, level, &ctx.linkCopy, locks)
            let taken = ctx.linkCopy.withUnsafeBufferPointer { linkBuffer in
                var taken = 0
                for j in 0..<n {
                    let cand = linkBuffer[j]
                    if marks[Int(cand)] == stamp { continue }
                    marks[Int(cand)] = stamp
                    gathered[taken] = cand
                    taken &+= 1
                }
                return taken
            }
            w.score(q, gathered, taken, into: scores)
            for j in 0..<taken {
                let dc = scores[j]
                if ctx.found.count < ef || dc < ctx.found.topDistance {
                    ctx.frontier.push(dc, gathered[j])
                    ctx.found.push(dc, gathered[j])
                    if ctx.found.count > ef { ctx.found.pop() }
                }
            }
        }
    }
}
