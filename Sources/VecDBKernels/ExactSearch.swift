import CVecDBKernels
import Dispatch

/// Exact (brute-force) k-nearest-neighbour search over Float32 rows.
///
/// Single queries run on the calling thread: the rows are streamed through the best SIMD kernel
/// in blocks, and a bounded heap keeps the best `k`. Batches of queries are spread over threads;
/// large batches compute inner products with a BLAS GEMM first, as FAISS does.
///
/// Results are ordered by distance, then by id, so equal distances break ties deterministically.
public struct ExactSearch: Sendable {
    public let metric: Metric
    public let dimension: Int
    /// For `cosine`: the rows are already unit length, so cosine distance is `1 - q·x`.
    public let rowsNormalized: Bool
    public let kernels: DistanceKernels

    /// Rows per distance block: large enough to amortise the call, small enough for L1.
    @usableFromInline static let blockRows = 256
    /// Batches at least this large go through GEMM.
    public static let gemmMinimumBatch = 64

    public init(metric: Metric, dimension: Int, rowsNormalized: Bool = false, kernels: DistanceKernels = .best) {
        self.metric = metric
        self.dimension = dimension
        self.rowsNormalized = rowsNormalized
        self.kernels = kernels
    }

    /// The query as the scan expects it: unit length for `cosine`, unchanged otherwise.
    public func prepare(_ query: [Float]) -> [Float] {
        metric == .cosine ? Self.normalized(query) : query
    }

    /// `v / |v|`, or `v` itself when it is zero.
    ///
    /// Components so large that their squares overflow, or so small that they underflow, are
    /// first scaled by the largest magnitude, so every finite non-zero vector gets unit length.
    public static func normalized(_ v: [Float]) -> [Float] {
        var norm: Float = 0
        for x in v { norm += x * x }
        if norm.isNormal && norm.isFinite {
            let inv = 1 / norm.squareRoot()
            return v.map { $0 * inv }
        }
        let largest = v.reduce(Float(0)) { max($0, abs($1)) }
        guard largest > 0, largest.isFinite else { return v }
        var scaled: Float = 0
        for x in v { scaled += (x / largest) * (x / largest) }
        let root = scaled.squareRoot()
        return v.map { ($0 / largest) / root }
    }

    /// Searches `rows` for the `k` nearest neighbours of `query`.
    ///
    /// - Parameters:
    ///   - query: `dimension` floats. Checked for length and finiteness.
    ///   - ids: the id of each row; row indices when `nil`.
    /// - Returns: at most `k` neighbours, best first.
    /// - Throws: ``VecDBError/Code/dimensionMismatch``, ``VecDBError/Code/nonFiniteValue``.
    /// - Complexity: O(count × dimension).
    public func search(_ query: [Float], in rows: RowMatrix, k: Int, ids: UnsafePointer<UInt64>? = nil) throws(VecDBError) -> [Neighbor] {
        try VectorValidation.check(query, dimension: dimension, what: "query")
        var heap = TopKHeap(k: k)
        let q = prepare(query)
        q.withUnsafeBufferPointer { scan(prepared: $0.baseAddress.unsafelyUnwrapped, rows: rows, ids: ids, heap: &heap) }
        return heap.sorted()
    }

    /// Offers every row of `rows` (that `allow` accepts) to `heap`.
    ///
    /// Call it once per segment with the same heap to merge results across segments.
    ///
    /// - Parameters:
    ///   - prepared: the output of ``prepare(_:)``.
    ///   - ids: the id of each row; `idBase + row` when `nil`.
    ///   - allow: when given, rows it rejects are skipped before their distance is computed.
    @inlinable
    public func scan(
        prepared q: UnsafePointer<Float>, rows: RowMatrix, idBase: UInt64 = 0,
        ids: UnsafePointer<UInt64>? = nil, allow: ((Int) -> Bool)? = nil, heap: inout TopKHeap
    ) {
        let d = dimension
        guard rows.count > 0, heap.k > 0 else { return }
        if let allow {
            let pair = pairDistance()
            for r in 0..<rows.count where allow(r) {
                let dist = pair(q, rows[r], d)
                if dist <= heap.threshold { heap.push(distance: dist, id: ids?[r] ?? idBase &+ UInt64(r)) }
            }
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: Self.blockRows) { buf in
            let out = buf.baseAddress.unsafelyUnwrapped
            var start = 0
            while start < rows.count {
                let m = min(Self.blockRows, rows.count - start)
                blockDistances(q, rows[start], m, out)
                var threshold = heap.threshold
                for j in 0..<m where out[j] <= threshold {
                    let r = start + j
                    heap.push(distance: out[j], id: ids?[r] ?? idBase &+ UInt64(r))
                    threshold = heap.threshold
                }
                start += m
            }
        }
    }

    /// Distances from `q` to `m` consecutive rows starting at `x`, written to `out`.
    @inlinable
    func blockDistances(_ q: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ m: Int, _ out: UnsafeMutablePointer<Float>) {
        let d = dimension
        switch metric {
        case .l2:
            kernels.l2sqF32Batch(q, x, d, m, out)
        case .ip:
            kernels.ipF32Batch(q, x, d, m, out)
            for j in 0..<m { out[j] = -out[j] }
        case .cosine where rowsNormalized:
            kernels.ipF32Batch(q, x, d, m, out)
            for j in 0..<m { out[j] = 1 - out[j] }
        case .cosine:
            let f = kernels.cosineF32
            for j in 0..<m { out[j] = f(q, x + j * d, d) }
        }
    }

    /// A pair kernel that returns this search's distance directly.
    @inlinable
    public func pairDistance() -> (UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Float {
        switch metric {
        case .l2:
            let f = kernels.l2sqF32
            return { f($0, $1, $2) }
        case .ip:
            let f = kernels.ipF32
            return { -f($0, $1, $2) }
        case .cosine where rowsNormalized:
            let f = kernels.ipF32
            return { 1 - f($0, $1, $2) }
        case .cosine:
            let f = kernels.cosineF32
            return { f($0, $1, $2) }
        }
    }

    /// Searches `rows` for each row of `queries`.
    ///
    /// - Parameters:
    ///   - threads: worker threads; queries are split between them.
    /// - Returns: one result list per query, in query order.
    /// - Throws: ``VecDBError/Code/dimensionMismatch`` when the matrices disagree.
    public func searchBatch(
        _ queries: RowMatrix, in rows: RowMatrix, k: Int, threads: Int = 1,
        ids: UnsafePointer<UInt64>? = nil
    ) throws(VecDBError) -> [[Neighbor]] {
        guard queries.dimension == dimension, rows.dimension == dimension else {
            throw VecDBError(
                .dimensionMismatch,
                "search expects \(dimension) dimensions, got queries of \(queries.dimension) and rows of \(rows.dimension)")
        }
        let nq = queries.count
        if nq == 0 { return [] }
        // Each worker writes only its own queries' heaps, in a buffer that outlives the workers.
        let heaps = UnsafeMutableBufferPointer<TopKHeap>.allocate(capacity: nq)
        heaps.initialize(repeating: TopKHeap(k: k))
        defer {
            _ = heaps.deinitialize()
            heaps.deallocate()
        }
        let threads = max(1, threads)
        if nq >= Self.gemmMinimumBatch && rows.count >= Self.blockRows {
            gemmSearch(queries, rows, ids: ids, threads: threads, heaps: heaps)
        } else {
            let box = UncheckedSendable(heaps)
            let idBox = UncheckedSendable(ids)
            let chunks = min(threads, nq)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let lo = nq * c / chunks
                let hi = nq * (c + 1) / chunks
                for i in lo..<hi {
                    let q = prepare(Array(UnsafeBufferPointer(start: queries[i], count: dimension)))
                    q.withUnsafeBufferPointer {
                        scan(prepared: $0.baseAddress.unsafelyUnwrapped, rows: rows, ids: idBox.value, heap: &box.value[i])
                    }
                }
            }
        }
        return heaps.map { $0.sorted() }
    }

    /// Batch search through GEMM: inner products for a block of queries against a block of rows
    /// in one BLAS call, then distances from the norms, then the heaps.
    func gemmSearch(
        _ queries: RowMatrix, _ rows: RowMatrix, ids: UnsafePointer<UInt64>?, threads: Int,
        heaps: UnsafeMutableBufferPointer<TopKHeap>
    ) {
        let d = dimension
        let nq = queries.count
        let nr = rows.count
        let qb = min(nq, 512)
        let rb = 4096
        // Squared norms of the queries and (when the metric needs them) of the rows, and the
        // block of inner products; plain allocations, since the workers read them concurrently.
        let needRowNorms = metric == .l2 || (metric == .cosine && !rowsNormalized)
        let qNorms = UnsafeMutableBufferPointer<Float>.allocate(capacity: nq)
        let rNorms = UnsafeMutableBufferPointer<Float>.allocate(capacity: needRowNorms ? nr : 1)
        let products = UnsafeMutableBufferPointer<Float>.allocate(capacity: qb * rb)
        defer {
            qNorms.deallocate()
            rNorms.deallocate()
            products.deallocate()
        }
        for i in 0..<nq { qNorms[i] = kernels.ipF32(queries[i], queries[i], d) }
        if needRowNorms {
            for r in 0..<nr { rNorms[r] = kernels.ipF32(rows[r], rows[r], d) }
        }
        vdb_blas_set_threads(Int32(threads))
        let heapBox = UncheckedSendable(heaps)
        let metric = self.metric
        let rowsNormalized = self.rowsNormalized
        var q0 = 0
        while q0 < nq {
            let qm = min(qb, nq - q0)
            var r0 = 0
            while r0 < nr {
                let rm = min(rb, nr - r0)
                vdb_sgemm(
                    0, 1, Int32(qm), Int32(rm), Int32(d), 1, queries[q0], Int32(d), rows[r0], Int32(d), 0,
                    products.baseAddress, Int32(rm))
                let cBox = UncheckedSendable(UnsafeBufferPointer(products))
                let qBox = UncheckedSendable(UnsafeBufferPointer(qNorms))
                let rBox = UncheckedSendable(UnsafeBufferPointer(rNorms))
                let idBox = UncheckedSendable(ids)
                let chunks = min(threads, qm)
                let base = q0
                let rowBase = r0
                DispatchQueue.concurrentPerform(iterations: chunks) { c in
                    let lo = qm * c / chunks
                    let hi = qm * (c + 1) / chunks
                    for i in lo..<hi {
                        let line = cBox.value.baseAddress.unsafelyUnwrapped + i * rm
                        let qn = qBox.value[base + i]
                        let qInv: Float = qn > 0 ? 1 / qn.squareRoot() : 0
                        var heap = heapBox.value[base + i]
                        for j in 0..<rm {
                            let ip = line[j]
                            let dist: Float
                            switch metric {
                            case .l2: dist = max(0, qn + rBox.value[rowBase + j] - 2 * ip)
                            case .ip: dist = -ip
                            case .cosine:
                                if rowsNormalized {
                                    dist = 1 - ip * qInv
                                } else {
                                    let rn = rBox.value[rowBase + j]
                                    dist = rn > 0 && qn > 0 ? 1 - ip * qInv / rn.squareRoot() : 1
                                }
                            }
                            if dist <= heap.threshold {
                                let r = rowBase + j
                                heap.push(distance: dist, id: idBox.value?[r] ?? UInt64(r))
                            }
                        }
                        heapBox.value[base + i] = heap
                    }
                }
                r0 += rm
            }
            q0 += qm
        }
    }
}
