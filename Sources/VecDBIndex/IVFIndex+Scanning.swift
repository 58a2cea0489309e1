import VecDBKernels

extension IVFIndex {
    /// The `k` nearest live rows to `query` among the `nprobe` nearest lists.
    ///
    /// - Parameters:
    ///   - nprobe: lists scanned, at least 1; more than `nlist` scans them all.
    ///   - allow: when given, rows it rejects are skipped.
    ///   - rerank: for PQ, re-rank this many candidates by exact distance from the full vectors.
    /// - Returns: at most `k` neighbours, by distance then id.
    /// - Throws: ``VecDBError/Code/dimensionMismatch``, ``VecDBError/Code/nonFiniteValue``,
    ///   ``VecDBError/Code/invalidArgument`` (untrained index, `k < 0`, `nprobe < 1`, re-rank
    ///   vectors of another dimension).
    /// - Complexity: O(nlist × dimension + rows scanned × code size).
    public func search(
        _ query: [Float], k: Int, nprobe: Int, allow: ((UInt32) -> Bool)? = nil,
        rerank: Rerank? = nil
    ) throws(VecDBError) -> [Neighbor] {
        try VectorValidation.check(query, dimension: dimension, what: what)
        guard isTrained else { throw VecDBError(.invalidArgument, "\(what) is not trained") }
        guard k >= 0 else { throw VecDBError(.invalidArgument, "k must be ≥ 0, got \(k)") }
        guard nprobe >= 1 else { throw VecDBError(.invalidArgument, "nprobe must be at least 1, got \(nprobe)") }
        if let rerank, rerank.vectors.dimension != dimension {
            throw VecDBError(.invalidArgument, "re-rank vectors have \(rerank.vectors.dimension) dimensions, \(what) has \(dimension)")
        }
        if k == 0 || count == 0 { return [] }
        let q = metric == .cosine ? ExactSearch.normalized(query) : query
        return q.withUnsafeBufferPointer { qb in
            let qp = qb.baseAddress.unsafelyUnwrapped
            var heap = TopKHeap(k: k)
            search(prepared: qp, probes: probes(qp, nprobe: nprobe), allow: allow, rerank: rerank, idBase: 0, into: &heap)
            return heap.sorted().map { Neighbor(id: $0.id, distance: $0.distance) }
        }
    }

    /// Offers the live, allowed rows of the probed lists to `heap` (which may hold other
    /// sources' rows), with ids `idBase | row` and distances by the metric (`1 − q·x` for
    /// cosine). With `rerank`, the best `max(heap.k, candidates)` by PQ distance are re-scored
    /// exactly from the full vectors first.
    ///
    /// `q` must be prepared: `dimension` finite floats, unit length for cosine.
    package func search(
        prepared q: UnsafePointer<Float>, probes: [(list: Int, distance: Float)], allow: ((UInt32) -> Bool)?,
        rerank: Rerank?, idBase: UInt64, into heap: inout TopKHeap
    ) {
        guard heap.k > 0, count > 0, isTrained else { return }
        let offset: Float = metric == .cosine ? 1 : 0
        guard let rerank, rerank.vectors.dimension == dimension else {
            scan(q, lists: probes, allow: allow, idBase: idBase, offset: offset, heap: &heap)
            return
        }
        var candidates = TopKHeap(k: max(heap.k, rerank.candidates))
        scan(q, lists: probes, allow: allow, idBase: 0, offset: 0, heap: &candidates)
        for c in candidates.sorted() where Int(c.id) < rerank.vectors.count {
            let row = rerank.vectors[Int(c.id)]
            let dist = usesIP ? -kernels.ipF32(q, row, dimension) : kernels.l2sqF32(q, row, dimension)
            heap.push(distance: dist + offset, id: idBase | c.id)
        }
    }

    /// Offers every live, allowed row of the probed lists to `heap`, with its encoded distance.
    func scan(
        _ q: UnsafePointer<Float>, lists probes: [(list: Int, distance: Float)], allow: ((UInt32) -> Bool)?,
        idBase: UInt64, offset: Float, heap: inout TopKHeap
    ) {
        let d = dimension
        let ip = usesIP
        let gate = RowGate(self, allow: allow)
        if let pq {
            scanPQ(q, pq: pq, lists: probes, allow: allow, idBase: idBase, offset: offset, heap: &heap)
            return
        }
        // Inner-product SQ8: the query times the steps, and the query's product with the minima;
        // plus a block of scores. Heap buffers, freed on return.
        let prescaled = ip && encoding == .sq8 && sq.map { $0.vscale.count == d && $0.vmin.count == d } == true
        let sq8Query = UnsafeMutablePointer<Float>.allocate(capacity: prescaled ? d + 256 : 1)
        defer { sq8Query.deallocate() }
        let sq8Scores = sq8Query + (prescaled ? d : 0)
        var sq8Bias: Float = 0
        if prescaled, let sq {
            for i in 0..<d {
                sq8Query[i] = q[i] * sq.vscale[i]
                sq8Bias += q[i] * sq.vmin[i]
            }
        }
        for probe in probes {
            lists.withList(probe.list) { ids, codes, n in
                guard n > 0 else { return }
                switch encoding {
                case .flat:
                    // The list's vectors are contiguous: one batch-kernel call per block of rows
                    // (no call per vector), then the block's distances go to the heap.
                    let vectors = UnsafeRawPointer(codes).assumingMemoryBound(to: Float.self)
                    let batch = ip ? kernels.ipF32Batch : kernels.l2sqF32Batch
                    let sign: Float = ip ? -1 : 1
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: 256) { tmp in
                        let out = tmp.baseAddress.unsafelyUnwrapped
                        var start = 0
                        while start < n {
                            let m = min(256, n - start)
                            batch(q, vectors + start * d, d, m, out)
                            for i in 0..<m {
                                let dist = sign * out[i] + offset
                                if dist > heap.threshold { continue }
                                let id = ids[start + i]
                                if !gate.admits(id) { continue }
                                heap.push(distance: dist, id: idBase | UInt64(id))
                            }
                            start += m
                        }
                    }
                case .sq8 where prescaled:
                    // q · (min + code ∘ step) = q · min + (q ∘ step) · code: with the query
                    // pre-multiplied once, a row costs one FMA per component and no decoding.
                    var start = 0
                    while start < n {
                        let m = min(256, n - start)
                        kernels.ipU8Batch(sq8Query, codes + start * d, d, m, sq8Scores)
                        for i in 0..<m {
                            let dist = offset - (sq8Bias + sq8Scores[i])
                            if dist > heap.threshold { continue }
                            let id = ids[start + i]
                            if !gate.admits(id) { continue }
                            heap.push(distance: dist, id: idBase | UInt64(id))
                        }
                        start += m
                    }
                case .sq8:
                    guard let sq else { return }
                    let f = ip ? kernels.ipSQ8 : kernels.l2sqSQ8
                    sq.vmin.withUnsafeBufferPointer { mn in
                        sq.vscale.withUnsafeBufferPointer { sc in
                            for r in 0..<n {
                                let id = ids[r]
                                if !gate.admits(id) { continue }
                                let v = f(q, codes + r * d, mn.baseAddress, sc.baseAddress, d)
                                heap.push(distance: (ip ? -v : v) + offset, id: idBase | UInt64(id))
                            }
                        }
                    }
                case .pq:
                    break
                }
            }
        }
    }

    /// The PQ scan: per query, the table of `−q·r` for every sub-centroid `r`; per probed list,
    /// for L2, the list's table `(‖r‖² + 2c·r) − 2q·r` plus `‖q − c‖²` as a bias (or, without
    /// precomputed terms, the table of `‖(q − c) − r‖²`); for inner product the query's table
    /// with `−q·c` as the bias. A code's distance is the bias plus `m` table entries.
    func scanPQ(
        _ q: UnsafePointer<Float>, pq: ProductQuantizer, lists probes: [(list: Int, distance: Float)],
        allow: ((UInt32) -> Bool)?, idBase: UInt64, offset: Float, heap: inout TopKHeap
    ) {
        let m = pq.m
        let ks = ProductQuantizer.ksub
        let width = m * ks
        let d = dimension
        let ip = usesIP
        let precomputed = !ip && pqListTerms.count == nlist * width
        let gate = RowGate(self, allow: allow)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * width + d) { buf in
            let queryTable = buf.baseAddress.unsafelyUnwrapped
            let listTable = queryTable + width
            let residual = listTable + width
            pq.distanceTable(q, metric: .ip, into: queryTable, kernels: kernels)
            pqListTerms.withUnsafeBufferPointer { terms in
                centroids.withUnsafeBufferPointer { cents in
                    for probe in probes {
                        let t: UnsafePointer<Float>
                        var bias: Float = probe.distance + offset
                        if ip {
                            t = UnsafePointer(queryTable)
                        } else if precomputed, let lt = terms.baseAddress.map({ $0 + probe.list * width }) {
                            for i in 0..<width { listTable[i] = lt[i] + 2 * queryTable[i] }
                            t = UnsafePointer(listTable)
                        } else {
                            let c = cents.baseAddress.unsafelyUnwrapped + probe.list * d
                            for j in 0..<d { residual[j] = q[j] - c[j] }
                            pq.distanceTable(residual, metric: .l2, into: listTable, kernels: kernels)
                            bias = offset
                            t = UnsafePointer(listTable)
                        }
                        lists.withList(probe.list) { ids, codes, n in
                            for r in 0..<n {
                                let id = ids[r]
                                if !gate.admits(id) { continue }
                                let code = codes + r * m
                                // Four independent sums, so the table loads overlap.
                                var s0 = bias
                                var s1: Float = 0
                                var s2: Float = 0
                                var s3: Float = 0
                                var j = 0
                                while j &+ 4 <= m {
                                    s0 += t[j &* ks &+ Int(code[j])]
                                    s1 += t[(j &+ 1) &* ks &+ Int(code[j &+ 1])]
                                    s2 += t[(j &+ 2) &* ks &+ Int(code[j &+ 2])]
                                    s3 += t[(j &+ 3) &* ks &+ Int(code[j &+ 3])]
                                    j &+= 4
                                }
                                while j < m {
                                    s0 += t[j &* ks &+ Int(code[j])]
                                    j &+= 1
                                }
                                let s = (s0 + s1) + (s2 + s3)
                                if s <= heap.threshold { heap.push(distance: s, id: idBase | UInt64(id)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Which row ids a scan offers: added (below the row count, so a damaged file cannot name
/// others), not deleted, and allowed by the caller's filter.
struct RowGate {
    let limit: UInt32
    let tombstones: [UInt64]
    let anyDeleted: Bool
    let allow: ((UInt32) -> Bool)?

    init(_ index: IVFIndex, allow: ((UInt32) -> Bool)?) {
        limit = UInt32(index.count)
        tombstones = index.tombstones
        anyDeleted = index.deletedCount > 0
        self.allow = allow
    }

    @inline(__always)
    func admits(_ id: UInt32) -> Bool {
        if id >= limit { return false }
        if anyDeleted && tombstones[Int(id) >> 6] & (1 << (UInt64(id) & 63)) != 0 { return false }
        if let allow, !allow(id) { return false }
        return true
    }
}
