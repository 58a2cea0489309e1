import VecDBKernels

/// Product quantisation with `m` sub-quantisers of 8 bits each.
///
/// A vector of `dimension` floats is cut into `m` sub-vectors of `dimension / m` floats; each
/// is replaced by the index of its nearest of 256 centroids, trained by k-means on that
/// sub-space of the sample. A code is therefore `m` bytes.
///
/// ```
///   centroids: m × 256 × dsub floats
///   ┌ sub-space 0: 256 rows of dsub ┐┌ sub-space 1 ┐ … ┌ sub-space m−1 ┐
/// ```
///
/// Search is asymmetric: for a query, ``distanceTable(_:metric:into:)`` fills an `m × 256`
/// table of sub-distances, and a code's distance is the sum of `m` table entries.
public struct ProductQuantizer: Sendable, Equatable {
    public let dimension: Int
    public let m: Int
    public static let ksub = 256
    public var dsub: Int { dimension / m }
    /// `m × 256 × dsub` floats.
    public internal(set) var centroids: [Float]

    init(dimension: Int, m: Int, centroids: [Float]) {
        self.dimension = dimension
        self.m = m
        self.centroids = centroids
    }

    /// Checks that `m` sub-quantisers fit `dimension`.
    static func validate(dimension: Int, m: Int) throws(VecDBError) {
        guard m >= 1, m <= dimension, dimension % m == 0 else {
            throw VecDBError(.invalidArgument, "product quantiser m = \(m) must divide the dimension \(dimension)")
        }
    }

    /// Trains the `m` codebooks on `rows`.
    ///
    /// - Throws: ``VecDBError/Code/invalidArgument`` when `m` does not divide the dimension or
    ///   there are fewer than 256 rows.
    public static func train(rows: RowMatrix, m: Int, parameters: KMeans.Parameters = .init()) throws(VecDBError) -> ProductQuantizer {
        let d = rows.dimension
        try validate(dimension: d, m: m)
        guard rows.count >= ksub else {
            throw VecDBError(.invalidArgument, "product quantiser needs at least \(ksub) training rows, got \(rows.count)")
        }
        let ds = d / m
        var all = [Float]()
        all.reserveCapacity(m * ksub * ds)
        var sub = [Float](repeating: 0, count: rows.count * ds)
        for j in 0..<m {
            for r in 0..<rows.count {
                let row = rows[r] + j * ds
                for t in 0..<ds { sub[r * ds + t] = row[t] }
            }
            var p = parameters
            p.seed = parameters.seed &+ UInt64(j)
            p.maxSample = max(p.maxSample, ksub)
            let km = try RowMatrix.with(sub, dimension: ds) { (s) throws(VecDBError) -> KMeans in
                try KMeans.train(rows: s, k: ksub, parameters: p)
            }
            all += km.centroids
        }
        return ProductQuantizer(dimension: d, m: m, centroids: all)
    }

    /// Codes for `rows`, `m` bytes each, row after row.
    public func encode(_ rows: RowMatrix, threads: Int = 1) throws(VecDBError) -> [UInt8] {
        guard rows.dimension == dimension else {
            throw VecDBError(.dimensionMismatch, "product quantiser expects \(dimension) dimensions, got \(rows.dimension)")
        }
        let n = rows.count
        let ds = dsub
        var codes = [UInt8](repeating: 0, count: n * m)
        var sub = [Float](repeating: 0, count: n * ds)
        for j in 0..<m {
            for r in 0..<n {
                let row = rows[r] + j * ds
                for t in 0..<ds { sub[r * ds + t] = row[t] }
            }
            let book = Array(centroids[(j * Self.ksub * ds)..<((j + 1) * Self.ksub * ds)])
            var labels = [Int32](repeating: 0, count: n)
            var dists = [Float](repeating: 0, count: n)
            RowMatrix.with(sub, dimension: ds) { s in
                RowMatrix.with(book, dimension: ds) { c in
                    KMeans.assign(s, centroids: c, threads: threads, labels: &labels, distances: &dists)
                }
            }
            for r in 0..<n { codes[r * m + j] = UInt8(truncatingIfNeeded: labels[r]) }
        }
        return codes
    }

    /// The vector a code stands for.
    public func decode(_ code: UnsafePointer<UInt8>) -> [Float] {
        let ds = dsub
        var out = [Float](repeating: 0, count: dimension)
        for j in 0..<m {
            let base = (j * Self.ksub + Int(code[j])) * ds
            for t in 0..<ds { out[j * ds + t] = centroids[base + t] }
        }
        return out
    }

    /// Mean squared reconstruction error `‖x − decode(encode(x))‖²` over `rows`.
    public func reconstructionError(_ rows: RowMatrix) throws(VecDBError) -> Double {
        let codes = try encode(rows)
        guard rows.count > 0 else { return 0 }
        var total = 0.0
        codes.withUnsafeBufferPointer { cb in
            for r in 0..<rows.count {
                let y = decode(cb.baseAddress.unsafelyUnwrapped + r * m)
                for t in 0..<dimension {
                    let e = Double(rows[r][t] - y[t])
                    total += e * e
                }
            }
        }
        return total / Double(rows.count)
    }

    /// Fills `table` (`m × 256` floats) with sub-distances from `query`: squared L2 for
    /// `.l2`, negated inner products otherwise. A code's distance is the sum over sub-spaces.
    @inlinable
    public func distanceTable(
        _ query: UnsafePointer<Float>, metric: Metric, into table: UnsafeMutablePointer<Float>,
        kernels: DistanceKernels = .best
    ) {
        let ds = dsub
        centroids.withUnsafeBufferPointer { cb in
            let c = cb.baseAddress.unsafelyUnwrapped
            for j in 0..<m {
                let out = table + j * Self.ksub
                if metric == .l2 {
                    kernels.l2sqF32Batch(query + j * ds, c + j * Self.ksub * ds, ds, Self.ksub, out)
                } else {
                    kernels.ipF32Batch(query + j * ds, c + j * Self.ksub * ds, ds, Self.ksub, out)
                    for t in 0..<Self.ksub { out[t] = -out[t] }
                }
            }
        }
    }
}
