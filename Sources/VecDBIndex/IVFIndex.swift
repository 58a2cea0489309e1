import Foundation
import Synchronization
import VecDBKernels

/// An inverted-file index: k-means centroids partition the vectors into `nlist` lists, and a
/// search scans only the `nprobe` lists whose centroids are nearest the query.
///
/// Each list stores the row ids (`UInt32`) of its vectors, then their codes, contiguously:
///
/// ```
///   list i:  ┌ ids: count × UInt32 ┐┌ codes: count × codeSize bytes ┐
/// ```
///
/// where a code is, by ``Encoding``:
/// - `.flat`: the vector itself, `dimension` Float32 values;
/// - `.sq8`: `dimension` bytes of per-dimension scalar quantisation (``ScalarQuantizer``),
///   scanned with the `l2sqSQ8` / `ipSQ8` kernels;
/// - `.pq(m)`: `m` bytes of product quantisation (``ProductQuantizer``) of the vector's
///   *residual* from its list centroid, scanned with per-query distance tables, and optionally
///   re-ranked exactly from the full vectors (``Rerank``).
///
/// Metrics: `l2` and `ip`. `cosine` is `ip` on unit vectors, as in the rest of VecDB: the
/// caller normalises the rows it adds; the query is normalised here, and the reported distance
/// is `1 − q·x`.
///
/// Row ids are given in order of addition (0, 1, 2, …), so that they match the rows of the
/// collection segment that holds the full vectors. Deleted rows are marked in a tombstone
/// bitset and never returned.
///
/// **Drift.** Training records the mean squared L2 distance of the training rows (up to 4,096,
/// evenly spaced) to the centroid of the list each is assigned to, by the same rule as adds use.
/// Every added vector's squared distance to the centroid of its list is accumulated; ``drift`` is the ratio of the added vectors' mean to the training mean. Near 1
/// the centroids still describe the data; well above 1 (say 1.5) the data has moved away from
/// the trained partition, lists become less selective, and ``retrained(vectors:threads:)``
/// should be called. (Squared L2 is used for both metrics.)
///
/// Thread safety: searches may run concurrently with each other. ``add(_:threads:)`` and
/// ``delete(_:)`` must not overlap with searches or each other; the owner serialises them.
public final class IVFIndex: @unchecked Sendable {
    /// How vectors are stored in the lists.
    public enum Encoding: Sendable, Hashable, CustomStringConvertible {
        case flat
        case sq8
        case pq(m: Int)

        public var description: String {
            switch self {
            case .flat: return "flat"
            case .sq8: return "sq8"
            case .pq(let m): return "pq\(m)"
            }
        }
    }

    /// How a collection's IVF index is built: the encoding, the number of lists, and the
    /// k-means training run.
    public struct Parameters: Sendable, Equatable {
        public var encoding: Encoding
        /// Inverted lists (k-means centroids).
        public var nlist: Int
        /// Lloyd iterations of the coarse k-means (and, capped at 25, of each PQ sub-quantiser).
        public var iterations: Int
        /// At most this many rows are sampled for training.
        public var maxSample: Int
        /// Seeds k-means++ and the training sample, so a build is reproducible.
        public var seed: UInt64
        /// For PQ: how many candidates a search re-ranks exactly from the stored vectors (0: none).
        public var rerank: Int

        public init(encoding: Encoding = .flat, nlist: Int = 1024, iterations: Int = 20, maxSample: Int = 1 << 18,
                    seed: UInt64 = 1234, rerank: Int = 0) {
            self.encoding = encoding
            self.nlist = nlist
            self.iterations = iterations
            self.maxSample = maxSample
            self.seed = seed
            self.rerank = rerank
        }

        /// - Throws: ``VecDBError/Code/invalidArgument`` naming the parameter out of range.
        public func validate(dimension: Int? = nil) throws(VecDBError) {
            guard (1...(1 << 20)).contains(nlist) else { throw VecDBError(.invalidArgument, "IVF nlist must be between 1 and 1048576, got \(nlist)") }
            guard (1...1000).contains(iterations) else { throw VecDBError(.invalidArgument, "IVF training iterations must be between 1 and 1000, got \(iterations)") }
            guard maxSample >= 1 else { throw VecDBError(.invalidArgument, "IVF training sample must hold at least 1 row, got \(maxSample)") }
            guard (0...100_000).contains(rerank) else { throw VecDBError(.invalidArgument, "IVF re-rank candidates must be between 0 and 100000, got \(rerank)") }
            if case .pq(let m) = encoding {
                guard m >= 1 else { throw VecDBError(.invalidArgument, "IVF-PQ needs m ≥ 1 sub-quantisers, got \(m)") }
                if let dimension { try ProductQuantizer.validate(dimension: dimension, m: m) }
            } else if rerank != 0 {
                throw VecDBError(.invalidArgument, "re-ranking applies to IVF-PQ only; \(encoding) lists hold exact distances")
            }
        }
    }

    /// Exact re-ranking of PQ candidates from the full vectors.
    public struct Rerank: @unchecked Sendable {
        /// The full vectors, indexed by row id.
        public var vectors: RowMatrix
        /// How many PQ candidates are re-ranked (at least `k`).
        public var candidates: Int
        public init(vectors: RowMatrix, candidates: Int) {
            self.vectors = vectors
            self.candidates = candidates
        }
    }

    public let metric: Metric
    public let dimension: Int
    public let nlist: Int
    public let encoding: Encoding
    /// Bytes per stored vector code.
    public let codeSize: Int

    /// `nlist × dimension` floats; empty before training.
    public internal(set) var centroids: [Float] = [] {
        didSet { probeAids.withLock { $0 = nil } }
    }
    /// Structures derived from the centroids that make choosing the lists to probe cheaper
    /// (``ProbeAids``). Built on the first search that can use them, never stored, so indexes
    /// that are only added to or searched with given probes (a collection's per-segment lists)
    /// never build them.
    let probeAids = Mutex<ProbeAids?>(nil)
    /// Lists from which the coarse graph is used (L2 only).
    static let coarseGraphMinimumLists = 256
    /// Dimensions from which the half-precision first pass is used.
    static let halfPassMinimumDimension = 128
    var sq: ScalarQuantizer?
    var pq: ProductQuantizer?
    /// For PQ under L2: per list, sub-space and sub-centroid, `‖r‖² + 2 c·r` (list centroid `c`,
    /// sub-centroid `r`), so a list's distance table is this minus `2 q·r`, plus `‖q − c‖²`.
    /// `nlist × m × 256` floats, derived from the centroids (not stored in the file).
    var pqListTerms: [Float] = []
    /// Mean squared distance of the training sample to its nearest centroid.
    public internal(set) var trainingMeanDistance: Double = 0
    var addedDistanceSum: Double = 0
    var addedCount: Int = 0

    /// Rows added (deleted ones included); the next row id.
    public internal(set) var count: Int = 0
    var tombstones: [UInt64] = []
    public internal(set) var deletedCount = 0
    var lists: InvertedLists

    let kernels: DistanceKernels

    public var isTrained: Bool { !centroids.isEmpty }

    /// An untrained index.
    ///
    /// - Throws: ``VecDBError/Code/invalidArgument`` when `nlist < 1`, the dimension is not
    ///   positive, or `m` does not divide the dimension.
    public init(metric: Metric, dimension: Int, nlist: Int, encoding: Encoding, kernels: DistanceKernels = .best) throws(VecDBError) {
        guard dimension >= 1 else { throw VecDBError(.invalidArgument, "IVF index needs a dimension ≥ 1, got \(dimension)") }
        guard nlist >= 1 else { throw VecDBError(.invalidArgument, "IVF nlist must be at least 1, got \(nlist)") }
        self.metric = metric
        self.dimension = dimension
        self.nlist = nlist
        self.encoding = encoding
        self.kernels = kernels
        switch encoding {
        case .flat: codeSize = dimension * 4
        case .sq8: codeSize = dimension
        case .pq(let m):
            try ProductQuantizer.validate(dimension: dimension, m: m)
            codeSize = m
        }
        lists = InvertedLists(nlist: nlist, codeSize: codeSize)
    }

    var usesIP: Bool { metric != .l2 }
    var what: String { "IVF index (\(encoding), \(dimension) dimensions)" }

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
        for r in stride(from: 0, to: rows.count, by: step) { sampled.append(contentsOf: UnsafeBufferPointer(start: rows[r], count: dimension)) }
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
        guard let pq, !usesIP, isTrained else { pqListTerms = []; return }
        let ks = ProductQuantizer.ksub, m = pq.m, ds = pq.dsub, d = dimension
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
            throw VecDBError(.dimensionMismatch, "\(what) expects rows of \(dimension) dimensions; \(values.count) values is not a whole number of rows")
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
        let w = Int(id) >> 6, bit = UInt64(1) << (UInt64(id) & 63)
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

    /// How far added vectors lie from their centroids, relative to the training sample; `nil`
    /// before anything is added. See the type's discussion.
    public var drift: Double? {
        guard addedCount > 0, trainingMeanDistance > 0 else { return nil }
        return addedDistanceSum / Double(addedCount) / trainingMeanDistance
    }

    /// Rows in each list (deleted rows included).
    public var listSizes: [Int] { (0..<nlist).map { lists.count(of: $0) } }

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
    public func search(_ query: [Float], k: Int, nprobe: Int, allow: ((UInt32) -> Bool)? = nil,
                       rerank: Rerank? = nil) throws(VecDBError) -> [Neighbor] {
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

    /// The `nprobe` lists nearest a prepared query (unit length for cosine); every index that
    /// ``sharesTraining(with:)`` this one probes the same lists, so a caller searching several
    /// computes them once.
    package func probes(_ q: UnsafePointer<Float>, nprobe: Int) -> [(list: Int, distance: Float)] {
        nearestLists(q, nprobe: min(max(1, nprobe), nlist))
    }

    /// Offers the live, allowed rows of the probed lists to `heap` (which may hold other
    /// sources' rows), with ids `idBase | row` and distances by the metric (`1 − q·x` for
    /// cosine). With `rerank`, the best `max(heap.k, candidates)` by PQ distance are re-scored
    /// exactly from the full vectors first.
    ///
    /// `q` must be prepared: `dimension` finite floats, unit length for cosine.
    package func search(prepared q: UnsafePointer<Float>, probes: [(list: Int, distance: Float)], allow: ((UInt32) -> Bool)?,
                        rerank: Rerank?, idBase: UInt64, into heap: inout TopKHeap) {
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

    /// Offers every live, allowed row of the probed lists to `heap`, with its encoded distance.
    func scan(_ q: UnsafePointer<Float>, lists probes: [(list: Int, distance: Float)], allow: ((UInt32) -> Bool)?,
              idBase: UInt64, offset: Float, heap: inout TopKHeap) {
        let d = dimension
        let ip = usesIP
        let gate = RowGate(self, allow: allow)
        if let pq {
            scanPQ(q, pq: pq, lists: probes, allow: allow, idBase: idBase, offset: offset, heap: &heap)
            return
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
    func scanPQ(_ q: UnsafePointer<Float>, pq: ProductQuantizer, lists probes: [(list: Int, distance: Float)],
                allow: ((UInt32) -> Bool)?, idBase: UInt64, offset: Float, heap: inout TopKHeap) {
        let m = pq.m, ks = ProductQuantizer.ksub, width = m * ks, d = dimension
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
                                var s0 = bias, s1: Float = 0, s2: Float = 0, s3: Float = 0
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
        graph = try? HNSWGraph.build(vectors: matrix, metric: .l2, parameters: .init(M: 16, efConstruction: 100, seed: 7), threads: 1)
        rows = storage
    }

    deinit { rows?.deallocate() }
}

extension IVFIndex {
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

/// The `nlist` inverted lists: owned arrays, or views into a memory-mapped file that are
/// copied out the first time a list is appended to.
struct InvertedLists {
    let codeSize: Int
    var ids: [[UInt32]]
    var codes: [[UInt8]]
    /// Per list, when it still lives in the mapping: ids, codes, count.
    var mapped: [(ids: UnsafePointer<UInt32>, codes: UnsafePointer<UInt8>, count: Int)?]
    /// Keeps the mapping alive.
    var mapping: AnyObject?

    init(nlist: Int, codeSize: Int) {
        self.codeSize = codeSize
        ids = Array(repeating: [], count: nlist)
        codes = Array(repeating: [], count: nlist)
        mapped = Array(repeating: nil, count: nlist)
    }

    func count(of list: Int) -> Int { mapped[list]?.count ?? ids[list].count }

    mutating func append(list: Int, id: UInt32, code: UnsafePointer<UInt8>) {
        if let m = mapped[list] {
            ids[list] = Array(UnsafeBufferPointer(start: m.ids, count: m.count))
            codes[list] = Array(UnsafeBufferPointer(start: m.codes, count: m.count * codeSize))
            mapped[list] = nil
        }
        ids[list].append(id)
        codes[list].append(contentsOf: UnsafeBufferPointer(start: code, count: codeSize))
    }

    /// Calls `body` with the list's ids, codes and count.
    func withList(_ list: Int, _ body: (UnsafePointer<UInt32>, UnsafePointer<UInt8>, Int) -> Void) {
        if let m = mapped[list] { body(m.ids, m.codes, m.count); return }
        ids[list].withUnsafeBufferPointer { ib in
            codes[list].withUnsafeBufferPointer { cb in
                guard let i = ib.baseAddress, let c = cb.baseAddress else { return }
                body(i, c, ib.count)
            }
        }
    }
}
