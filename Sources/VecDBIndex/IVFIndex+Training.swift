import VecDBKernels

extension IVFIndex {
    /// Trains the centroids (and the quantiser) on `rows` or a sample of them.
    ///
    /// - Throws: ``VecDBError/Code/dimensionMismatch``, ``VecDBError/Code/nonFiniteValue``,
    ///   ``VecDBError/Code/invalidArgument`` (fewer rows than `nlist`, or than 256 for PQ,
    ///   or an index already trained).
    public func train(_ rows: RowMatrix, parameters: KMeans.Parameters = .init()) throws(VecDBError) {
        guard !isTrained else { throw VecDBError(.invalidArgument, "\(what) is already trained; use retrained(vectors:)") }
        guard rows.dimension == dimension else {
            throw VecDBError(.dimensionMismatch, "\(what) expects \(dimension) dimensions, got \(rows.dimension)")
        }
        // Cosine rows are unit length: spherical k-means keeps the centroids on the sphere, so
        // assigning by inner product is assigning by direction and the lists stay balanced.
        var coarse = parameters
        if metric == .cosine { coarse.spherical = true }
        let km = try KMeans.train(rows: rows, k: nlist, parameters: coarse)
        switch encoding {
        case .flat: break
        case .sq8: sq = try ScalarQuantizer.train(rows: rows)
        case .pq(let m):
            // Residuals of up to 65,536 evenly spaced rows from their nearest centroid (more
            // rows than the coarse sample: PQ recall measured higher with them).
            let count = min(rows.count, 65_536)
            var picked = [Float]()
            picked.reserveCapacity(count * dimension)
            for i in 0..<count { picked.append(contentsOf: UnsafeBufferPointer(start: rows[i * rows.count / count], count: dimension)) }
            let labels = try RowMatrix.with(picked, dimension: dimension) { (sub) throws(VecDBError) -> [Int32] in
                try km.assign(sub, threads: parameters.threads).labels
            }
            var residuals = picked
            for r in 0..<labels.count {
                let c = Int(labels[r]) * dimension
                for j in 0..<dimension { residuals[r * dimension + j] -= km.centroids[c + j] }
            }
            // Each sub-quantiser: the coarse run's Lloyd iterations, at most 25 (more did not
            // raise recall in our measurements).
            var p = parameters
            p.iterations = min(p.iterations, 25)
            pq = try RowMatrix.with(residuals, dimension: dimension) { (res) throws(VecDBError) -> ProductQuantizer in
                try ProductQuantizer.train(rows: res, m: m, parameters: p)
            }
        }
        centroids = km.centroids
        preparePQListTerms()
        // The drift baseline: squared L2 distance of (up to 4,096 evenly spaced) training rows
        // to the centroid of the list they are assigned to, by the same rule as `add`.
        let step = max(1, rows.count / 4_096)
        var sampled = [Float]()
        sampled.reserveCapacity((rows.count / step + 1) * dimension)
        for r in stride(from: 0, to: rows.count, by: step) {
            sampled.append(contentsOf: UnsafeBufferPointer(start: rows[r], count: dimension))
        }
        trainingMeanDistance = try RowMatrix.with(sampled, dimension: dimension) { (m) throws(VecDBError) -> Double in
            let labels = try coarseAssign(m, threads: parameters.threads)
            var total = 0.0
            centroids.withUnsafeBufferPointer { cb in
                for r in 0..<m.count {
                    total += Double(kernels.l2sqF32(m[r], cb.baseAddress.unsafelyUnwrapped + Int(labels[r]) * dimension, dimension))
                }
            }
            return total / Double(max(1, m.count))
        }
    }

    /// Fills ``pqListTerms`` for PQ under L2.
    func preparePQListTerms() {
        guard let pq, !usesIP, isTrained else {
            pqListTerms = []
            return
        }
        let ks = ProductQuantizer.ksub
        let m = pq.m
        let ds = pq.dsub
        let d = dimension
        var terms = [Float](repeating: 0, count: nlist * m * ks)
        var norms = [Float](repeating: 0, count: m * ks)
        pq.centroids.withUnsafeBufferPointer { pb in
            let r = pb.baseAddress.unsafelyUnwrapped
            for t in 0..<(m * ks) { norms[t] = kernels.ipF32(r + t * ds, r + t * ds, ds) }
            centroids.withUnsafeBufferPointer { cb in
                terms.withUnsafeMutableBufferPointer { tb in
                    let out = tb.baseAddress.unsafelyUnwrapped
                    for l in 0..<nlist {
                        let c = cb.baseAddress.unsafelyUnwrapped + l * d
                        for j in 0..<m {
                            let o = out + (l * m + j) * ks
                            kernels.ipF32Batch(c + j * ds, r + j * ks * ds, ds, ks, o)
                            for t in 0..<ks { o[t] = norms[j * ks + t] + 2 * o[t] }
                        }
                    }
                }
            }
        }
        pqListTerms = terms
    }

    /// How far added vectors lie from their centroids, relative to the training sample; `nil`
    /// before anything is added. See the type's discussion.
    public var drift: Double? {
        guard addedCount > 0, trainingMeanDistance > 0 else { return nil }
        return addedDistanceSum / Double(addedCount) / trainingMeanDistance
    }

    /// A new index with the same settings, trained afresh on `vectors` (the full vectors, row
    /// `i` being id `i`, `vectors.count == count`), holding every row under its old id and the
    /// same deletions. Use it when ``drift`` shows the centroids no longer fit the data; the
    /// caller swaps the new index in for the old one.
    ///
    /// - Throws: ``VecDBError/Code/invalidArgument`` when `vectors` does not hold every row.
    public func retrained(vectors: RowMatrix, parameters: KMeans.Parameters = .init()) throws(VecDBError) -> IVFIndex {
        guard vectors.count == count else {
            throw VecDBError(.invalidArgument, "\(what) retraining needs all \(count) rows, got \(vectors.count)")
        }
        let fresh = try IVFIndex(metric: metric, dimension: dimension, nlist: nlist, encoding: encoding, kernels: kernels)
        try fresh.train(vectors, parameters: parameters)
        try fresh.add(vectors, threads: parameters.threads)
        fresh.tombstones = tombstones
        fresh.deletedCount = deletedCount
        return fresh
    }

    /// An index with the same trained centroids and quantiser and no rows, so that several
    /// indexes (one per collection segment) share one partition of the space. Its drift
    /// baseline is this index's.
    ///
    /// - Throws: ``VecDBError/Code/invalidArgument`` for an untrained index.
    public func emptyCopy() throws(VecDBError) -> IVFIndex {
        guard isTrained else { throw VecDBError(.invalidArgument, "\(what) is not trained; there is nothing to copy") }
        let copy = try IVFIndex(metric: metric, dimension: dimension, nlist: nlist, encoding: encoding, kernels: kernels)
        copy.centroids = centroids
        copy.sq = sq
        copy.pq = pq
        copy.pqListTerms = pqListTerms
        copy.trainingMeanDistance = trainingMeanDistance
        return copy
    }

    /// Whether `other` partitions and encodes the space exactly as this index does.
    public func sharesTraining(with other: IVFIndex) -> Bool {
        metric == other.metric && dimension == other.dimension && nlist == other.nlist && encoding == other.encoding
            && centroids == other.centroids && sq?.vmin == other.sq?.vmin && sq?.vscale == other.sq?.vscale
            && pq?.centroids == other.pq?.centroids
    }

    /// The sum of added rows' squared distances to their centroids, and how many rows.
    public var driftTotals: (sum: Double, count: Int) { (addedDistanceSum, addedCount) }
}
