import CVecDBKernels
import VecDBKernels

extension HNSWGraph {
    /// What a level-0 walk reads, copied out of the graph once per search: a class property
    /// read in the hot loop would cost an exclusivity check per access.
    ///
    /// A walk expands a node in two steps: it gathers the neighbours not yet visited, then
    /// scores them with one gather-kernel call. The kernel requests each row's first lines a
    /// few rows ahead of its use, so the cache misses of one expansion overlap, where scoring
    /// row by row would wait for them one after another.
    struct Walk {
        let base: UnsafeRawPointer
        let rowBytes: Int
        let dimension: Int
        let gather: DistanceKernels.Gather
        let negate: Bool
        let bias: Float
        let level0: UnsafeMutablePointer<UInt32>
        let stride0: Int
        let maxM0: Int
        /// Node numbers at or past this are not in the graph (only a damaged file links to them).
        let nodes: UInt32

        /// `node`'s level-0 link block: word 0 is the count, then the ids.
        @inline(__always)
        func block(_ node: UInt32) -> UnsafeMutablePointer<UInt32> { level0 + Int(node) &* stride0 }

        /// The number of links in `block`, capped at the level-0 bound.
        @inline(__always)
        func degree(_ block: UnsafeMutablePointer<UInt32>) -> Int { min(Int(block[0]), maxM0) }

        /// Asks for `node`'s link block ahead of its expansion.
        @inline(__always)
        func prefetchLinks(_ node: UInt32) {
            if node < nodes { vdb_prefetch(UnsafeRawPointer(level0 + Int(node) &* stride0)) }
        }

        /// Distances (smaller is closer) from `query` to the nodes `ids[0..<n]`, written to `out`.
        @inline(__always)
        func score(_ query: UnsafePointer<Float>, _ ids: UnsafePointer<UInt32>, _ n: Int, into out: UnsafeMutablePointer<Float>) {
            guard n > 0 else { return }
            gather(query, base, rowBytes, ids, n, dimension, out)
            if negate {
                for j in 0..<n { out[j] = bias - out[j] }
            }
        }
    }

    /// A walk over the rows searches read (a half-precision copy with float16 traversal).
    var walk: Walk { walk(walkRows, walkGather) }

    /// A walk over the stored rows themselves, as the build uses and re-ranking needs.
    var exactWalk: Walk { walk(vectors, gather) }

    private func walk(_ rows: StoredRows, _ kernel: DistanceKernels.Gather) -> Walk {
        Walk(
            base: rows.base, rowBytes: rows.rowBytes, dimension: dimension, gather: kernel,
            negate: negate, bias: bias, level0: level0, stride0: stride0, maxM0: maxM0,
            nodes: UInt32(truncatingIfNeeded: count))
    }

    /// A walk's answer from the `found` heap it ends with (emptied): the `k` nearest, nearest
    /// first, re-ranked exactly when the walk read a half-precision copy.
    func results(_ query: UnsafePointer<Float>, _ found: inout CandidateHeap, k: Int) -> [Neighbor] {
        var out = found.drainSorted()
        if reranks { return rerank(query, out, k: k) }
        if out.count > k { out.removeLast(out.count - k) }
        return out.map { Neighbor(id: UInt64($0.node), distance: $0.distance) }
    }

    /// The `k` nearest of `candidates` (found by a walk over the half-precision copy) by exact
    /// distances to the stored rows, nearest first; ties go to the lower node.
    func rerank(_ query: UnsafePointer<Float>, _ candidates: [(distance: Float, node: UInt32)], k: Int) -> [Neighbor] {
        let n = candidates.count
        guard n > 0 else { return [] }
        let ids = candidates.map(\.node)
        var exact = [Float](repeating: 0, count: n)
        ids.withUnsafeBufferPointer { ip in
            exact.withUnsafeMutableBufferPointer { ep in
                exactWalk.score(query, ip.baseAddress.unsafelyUnwrapped, n, into: ep.baseAddress.unsafelyUnwrapped)
            }
        }
        let order = (0..<n).sorted { exact[$0] != exact[$1] ? exact[$0] < exact[$1] : ids[$0] < ids[$1] }
        return order.prefix(k).map { Neighbor(id: UInt64(ids[$0]), distance: exact[$0]) }
    }
}
