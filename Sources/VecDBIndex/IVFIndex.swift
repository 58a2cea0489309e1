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

        public init(
            encoding: Encoding = .flat, nlist: Int = 1024, iterations: Int = 20, maxSample: Int = 1 << 18,
            seed: UInt64 = 1234, rerank: Int = 0
        ) {
            self.encoding = encoding
            self.nlist = nlist
            self.iterations = iterations
            self.maxSample = maxSample
            self.seed = seed
            self.rerank = rerank
        }

        /// - Throws: ``VecDBError/Code/invalidArgument`` naming the parameter out of range.
        public func validate(dimension: Int? = nil) throws(VecDBError) {
            guard (1...(1 << 20)).contains(nlist) else {
                throw VecDBError(.invalidArgument, "IVF nlist must be between 1 and 1048576, got \(nlist)")
            }
            guard (1...1000).contains(iterations) else {
                throw VecDBError(.invalidArgument, "IVF training iterations must be between 1 and 1000, got \(iterations)")
            }
            guard maxSample >= 1 else {
                throw VecDBError(.invalidArgument, "IVF training sample must hold at least 1 row, got \(maxSample)")
            }
            guard (0...100_000).contains(rerank) else {
                throw VecDBError(.invalidArgument, "IVF re-rank candidates must be between 0 and 100000, got \(rerank)")
            }
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
    let probeAids = Lock<ProbeAids?>(nil)
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
}
