import VecDBKernels

extension IVFIndex {
    /// The `nprobe` lists nearest a prepared query (unit length for cosine); every index that
    /// ``sharesTraining(with:)`` this one probes the same lists, so a caller searching several
    /// computes them once.
    package func probes(_ q: UnsafePointer<Float>, nprobe: Int) -> [(list: Int, distance: Float)] {
        nearestLists(q, nprobe: min(max(1, nprobe), nlist))
    }

    /// The `nprobe` lists whose centroids are nearest the query, with the query–centroid
    /// distance (used by PQ for inner product).
    ///
    /// With many lists of many dimensions (at least 128; below that one batch-kernel pass is
    /// cheaper), the centroids are first ranked in half precision (half the bytes of
    /// the scan that dominates a search at small `nprobe`), and the best `2·nprobe + 8` of them
    /// are ranked again exactly; only centroids whose half-precision distance errs by more than
    /// the gap to that shortlist could be missed.
    ///
    /// For L2 with at least ``coarseGraphMinimumLists`` lists, an HNSW graph over the centroids
    /// is searched instead, with a candidate list of `max(4·nprobe, 48)`.
    func nearestLists(_ q: UnsafePointer<Float>, nprobe: Int) -> [(list: Int, distance: Float)] {
        let shortlist = 2 * nprobe + 8
        let aids = nlist >= 64 && shortlist < nlist ? self.aids() : nil
        if 4 * nprobe < nlist, let graph = aids?.graph {
            return graph.search(q, k: nprobe, ef: max(4 * nprobe, 48)).map { (Int($0.id), $0.distance) }
        }
        if let half = aids?.half, half.count == nlist * dimension {
            var approx = TopKHeap(k: shortlist)
            let f = usesIP ? kernels.ipF16 : kernels.l2sqF16
            let sign: Float = usesIP ? -1 : 1
            half.withUnsafeBufferPointer { hb in
                let base = hb.baseAddress.unsafelyUnwrapped
                for j in 0..<nlist {
                    let v = sign * f(q, base + j &* dimension, dimension)
                    if v <= approx.threshold { approx.push(distance: v, id: UInt64(j)) }
                }
            }
            var heap = TopKHeap(k: nprobe)
            centroids.withUnsafeBufferPointer { cb in
                let base = cb.baseAddress.unsafelyUnwrapped
                for c in approx.sorted() {
                    let row = base + Int(c.id) * dimension
                    let v = usesIP ? -kernels.ipF32(q, row, dimension) : kernels.l2sqF32(q, row, dimension)
                    heap.push(distance: v, id: c.id)
                }
            }
            return heap.sorted().map { (Int($0.id), $0.distance) }
        }
        var heap = TopKHeap(k: nprobe)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: nlist) { tmp in
            let out = tmp.baseAddress.unsafelyUnwrapped
            centroids.withUnsafeBufferPointer { cb in
                if usesIP {
                    kernels.ipF32Batch(q, cb.baseAddress.unsafelyUnwrapped, dimension, nlist, out)
                    for j in 0..<nlist { out[j] = -out[j] }
                } else {
                    kernels.l2sqF32Batch(q, cb.baseAddress.unsafelyUnwrapped, dimension, nlist, out)
                }
            }
            for j in 0..<nlist { heap.push(distance: out[j], id: UInt64(j)) }
        }
        return heap.sorted().map { (Int($0.id), $0.distance) }
    }

    /// The probe aids, built on first use; nil before training.
    func aids() -> ProbeAids? {
        probeAids.withLock { slot -> ProbeAids? in
            if let a = slot { return a }
            guard isTrained else { return nil }
            slot = ProbeAids(centroids: centroids, dimension: dimension, nlist: nlist, innerProduct: usesIP)
            return slot
        }
    }
}

/// What makes choosing the lists to probe cheaper than comparing the query with every centroid:
/// - for L2 with at least ``IVFIndex/coarseGraphMinimumLists`` lists, an HNSW graph over a copy
///   of the centroids (the graph addresses rows by pointer, so they live in memory this object
///   owns);
/// - for at least ``IVFIndex/halfPassMinimumDimension`` dimensions, the centroids in half
///   precision, for a first pass that reads half the bytes.
final class ProbeAids: @unchecked Sendable {
    let half: [UInt16]?
    let graph: HNSWGraph?
    let rows: UnsafeMutablePointer<Float>?

    init(centroids: [Float], dimension: Int, nlist: Int, innerProduct: Bool) {
        half = dimension >= IVFIndex.halfPassMinimumDimension ? HalfFloat.encode(centroids) : nil
        guard !innerProduct, nlist >= IVFIndex.coarseGraphMinimumLists else {
            graph = nil
            rows = nil
            return
        }
        let storage = UnsafeMutablePointer<Float>.allocate(capacity: max(1, centroids.count))
        centroids.withUnsafeBufferPointer { storage.initialize(from: $0.baseAddress.unsafelyUnwrapped, count: centroids.count) }
        let matrix = RowMatrix(base: storage, count: nlist, dimension: dimension)
        // Without a graph the lists are still found, by the other passes.
        graph = try? HNSWGraph.build(vectors: matrix, metric: .l2, parameters: .init(m: 16, efConstruction: 100, seed: 7), threads: 1)
        rows = storage
    }

    deinit { rows?.deallocate() }
}
