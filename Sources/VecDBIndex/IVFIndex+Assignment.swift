import Foundation
import VecDBKernels

extension IVFIndex {
    /// Adds rows; they get ids `count, count + 1, …`.
    ///
    /// - Returns: the ids given.
    /// - Throws: ``VecDBError/Code/invalidArgument`` before training or past 2³² rows,
    ///   ``VecDBError/Code/dimensionMismatch``, ``VecDBError/Code/nonFiniteValue``.
    /// - Complexity: O(rows × nlist × dimension).
    @discardableResult
    public func add(_ rows: RowMatrix, threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws(VecDBError) -> Range<UInt32> {
        guard isTrained else { throw VecDBError(.invalidArgument, "\(what) is not trained; call train before add") }
        guard rows.dimension == dimension else {
            throw VecDBError(.dimensionMismatch, "\(what) expects \(dimension) dimensions, got \(rows.dimension)")
        }
        guard count + rows.count <= Int(UInt32.max) else {
            throw VecDBError(.invalidArgument, "\(what) holds at most \(UInt32.max) rows")
        }
        try KMeans.checkFinite(rows, what: what)
        let n = rows.count
        let first = count
        guard n > 0 else { return UInt32(first)..<UInt32(first) }
        let labels = try coarseAssign(rows, threads: threads)
        // Squared L2 distances to the assigned centroids, for drift.
        var codes = [UInt8](repeating: 0, count: n * codeSize)
        var residuals: [Float] = []
        if case .pq = encoding { residuals = [Float](repeating: 0, count: n * dimension) }
        var driftSum = 0.0
        centroids.withUnsafeBufferPointer { cb in
            codes.withUnsafeMutableBufferPointer { out in
                for r in 0..<n {
                    let c = cb.baseAddress.unsafelyUnwrapped + Int(labels[r]) * dimension
                    driftSum += Double(kernels.l2sqF32(rows[r], c, dimension))
                    let dst = out.baseAddress.unsafelyUnwrapped + r * codeSize
                    switch encoding {
                    case .flat:
                        UnsafeMutableRawPointer(dst).copyMemory(from: rows[r], byteCount: codeSize)
                    case .sq8:
                        sq?.encode(rows[r], into: dst)
                    case .pq:
                        for j in 0..<dimension { residuals[r * dimension + j] = rows[r][j] - c[j] }
                    }
                }
            }
        }
        if let pq {
            codes = try RowMatrix.with(residuals, dimension: dimension) { (res) throws(VecDBError) -> [UInt8] in
                try pq.encode(res, threads: threads)
            }
        }
        codes.withUnsafeBufferPointer { cb in
            for r in 0..<n {
                lists.append(list: Int(labels[r]), id: UInt32(first + r), code: cb.baseAddress.unsafelyUnwrapped + r * codeSize)
            }
        }
        count += n
        tombstones.append(contentsOf: repeatElement(0, count: (count + 63) / 64 - tombstones.count))
        addedDistanceSum += driftSum
        addedCount += n
        return UInt32(first)..<UInt32(count)
    }

    /// Adds rows given as a flat array of `dimension`-float vectors.
    @discardableResult
    public func add(_ values: [Float], threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws(VecDBError) -> Range<UInt32> {
        guard values.count % dimension == 0 else {
            throw VecDBError(
                .dimensionMismatch, "\(what) expects rows of \(dimension) dimensions; \(values.count) values is not a whole number of rows")
        }
        return try RowMatrix.with(values, dimension: dimension) { (m) throws(VecDBError) -> Range<UInt32> in try add(m, threads: threads) }
    }

    /// The list each row belongs to: nearest centroid by L2, or by largest inner product.
    func coarseAssign(_ rows: RowMatrix, threads: Int) throws(VecDBError) -> [Int32] {
        guard rows.dimension == dimension else {
            throw VecDBError(.dimensionMismatch, "\(what) expects \(dimension) dimensions, got \(rows.dimension)")
        }
        var labels = [Int32](repeating: 0, count: rows.count)
        var dists = [Float](repeating: 0, count: rows.count)
        RowMatrix.with(centroids, dimension: dimension) { c in
            KMeans.assign(rows, centroids: c, threads: max(1, threads), innerProduct: usesIP, labels: &labels, distances: &dists)
        }
        return labels
    }

    /// Marks a row deleted; it is never returned again.
    ///
    /// - Returns: whether the row was live.
    /// - Throws: ``VecDBError/Code/notFound`` for an id never added.
    @discardableResult
    public func delete(_ id: UInt32) throws(VecDBError) -> Bool {
        guard Int(id) < count else { throw VecDBError(.notFound, "\(what) has no row \(id); it holds \(count)") }
        let w = Int(id) >> 6
        let bit = UInt64(1) << (UInt64(id) & 63)
        if tombstones[w] & bit != 0 { return false }
        tombstones[w] |= bit
        deletedCount += 1
        return true
    }

    /// Whether a row is marked deleted.
    public func isDeleted(_ id: UInt32) -> Bool {
        let w = Int(id) >> 6
        return w < tombstones.count && tombstones[w] & (UInt64(1) << (UInt64(id) & 63)) != 0
    }

    /// Rows in each list (deleted rows included).
    public var listSizes: [Int] { (0..<nlist).map { lists.count(of: $0) } }
}
