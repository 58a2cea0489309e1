import CVecDBKernels
import Dispatch
import Foundation
import VecDBKernels

/// A hierarchical navigable small-world graph over rows of a ``RowMatrix``.
///
/// The graph stores links only; the vectors stay where their owner keeps them (a memory-mapped
/// segment), so an index costs its links and nothing more. Level 0 lives in one flat allocation
/// with a fixed stride, as in hnswlib:
///
/// ```
/// level 0, node i:  ┌───────┬──────────────────────────────┐
///                   │ count │ M0 neighbour ids (UInt32)     │   stride = 1 + M0 words
///                   └───────┴──────────────────────────────┘
/// upper levels:     node i with level L > 0 owns L blocks of 1 + M words at upperOffset[i]
/// ```
///
/// Searches mark visited nodes with an epoch counter instead of clearing memory. Deleted nodes
/// stay in the graph, so it stays navigable, but never appear in results.
///
/// Thread safety: searches may run concurrently with each other. Building with several threads
/// uses striped locks on the link lists. Mutation (insert, delete) and search must not overlap;
/// the owner (a collection) serialises them.
public final class HNSWGraph: @unchecked Sendable {
    /// Construction and search parameters.
    public struct Parameters: Sendable, Codable, Equatable {
        enum CodingKeys: String, CodingKey {
            case m = "M"
            case efConstruction, seed, traversal
        }

        /// What searches compare the query with on their way through the graph.
        public enum Traversal: String, Sendable, Codable, CaseIterable {
            /// The stored rows themselves.
            case rows
            /// A half-precision copy of Float32 rows kept with the graph (2 bytes per component),
            /// half the bytes per distance; the candidates a walk finds are re-ranked with exact
            /// distances from the stored rows. Rows stored in half precision are walked as they are.
            case float16
        }

        /// Links per node on the upper levels (hnswlib's `M`); level 0 keeps up to `2 * m`.
        public var m: Int
        /// Candidate list size while building.
        public var efConstruction: Int
        /// Seed for the random level of each node.
        public var seed: UInt64
        /// What searches walk over (the build always uses the stored rows).
        public var traversal: Traversal

        public init(m: Int = 16, efConstruction: Int = 200, seed: UInt64 = 100, traversal: Traversal = .rows) {
            self.m = m
            self.efConstruction = efConstruction
            self.seed = seed
            self.traversal = traversal
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            m = try c.decode(Int.self, forKey: .m)
            efConstruction = try c.decode(Int.self, forKey: .efConstruction)
            seed = try c.decode(UInt64.self, forKey: .seed)
            traversal = try c.decodeIfPresent(Traversal.self, forKey: .traversal) ?? .rows
        }

        public func validate() throws(VecDBError) {
            guard (2...256).contains(m) else { throw VecDBError(.invalidArgument, "HNSW M must be between 2 and 256, got \(m)") }
            guard efConstruction >= 1 else {
                throw VecDBError(.invalidArgument, "HNSW efConstruction must be at least 1, got \(efConstruction)")
            }
        }
    }

    public let metric: Metric
    public let dimension: Int
    public let parameters: Parameters
    /// Link bounds and block strides, derived from `M`.
    var maxM: Int { parameters.m }
    var maxM0: Int { parameters.m * 2 }
    var stride0: Int { 1 + parameters.m * 2 }
    var strideU: Int { 1 + parameters.m }

    public internal(set) var count: Int
    var capacity: Int
    var level0: UnsafeMutablePointer<UInt32>
    var levels: UnsafeMutablePointer<UInt8>
    var upperOffset: UnsafeMutablePointer<UInt32>
    var upper: UnsafeMutablePointer<UInt32>
    var upperCount: Int
    var upperCapacity: Int
    var deletedBits: UnsafeMutablePointer<UInt64>
    public internal(set) var deletedCount: Int
    var entryPoint: UInt32
    public internal(set) var maxLevel: Int
    /// Keeps a memory mapping alive when the graph was opened from a file; nil when owned.
    let mapping: AnyObject?

    /// The vectors the graph links; row `i` is node `i`. Float16 rows are read in place.
    public let vectors: StoredRows
    let pair: RawPair
    /// The same kernel over a gathered set of rows (one expansion's neighbours).
    let gather: DistanceKernels.Gather
    /// The rows searches walk over: `vectors`, or the half-precision copy kept for
    /// ``Parameters/Traversal/float16`` (then the walk's candidates are re-ranked against `vectors`).
    var walkRows: StoredRows
    var walkPair: RawPair
    var walkGather: DistanceKernels.Gather
    /// The half-precision copy when the graph owns it (built here, not mapped from a file).
    var ownedCopy: UnsafeMutablePointer<UInt16>?
    let kernels: DistanceKernels
    let negate: Bool
    let bias: Float
    /// Node levels are drawn as floor(-ln(U) / ln M).
    var levelMultiplier: Double { 1 / log(Double(max(2, parameters.m))) }
    var rng: SeededGenerator
    let visitedPool = VisitedPool()

    static let noUpper = UInt32.max
    static let maximumLevel = 31

    /// A distance kernel on a Float32 query and one stored row, whatever its element type.
    typealias RawPair = @convention(c) (UnsafePointer<Float>?, UnsafeRawPointer?, Int) -> Float

    /// An empty graph over Float32 `vectors` (which may already hold rows; add them with ``add(upTo:threads:)``).
    public convenience init(metric: Metric, vectors: RowMatrix, parameters: Parameters = .init(), kernels: DistanceKernels = .best)
        throws(VecDBError)
    {
        try self.init(metric: metric, vectors: StoredRows(vectors), parameters: parameters, kernels: kernels)
    }

    /// An empty graph over `vectors`, Float32 or Float16 (which may already hold rows; add them with ``add(upTo:threads:)``).
    public init(metric: Metric, vectors: StoredRows, parameters: Parameters = .init(), kernels: DistanceKernels = .best) throws(VecDBError)
    {
        try parameters.validate()
        self.metric = metric
        self.dimension = vectors.dimension
        self.parameters = parameters
        let stride0 = 1 + parameters.m * 2
        let strideU = 1 + parameters.m
        count = 0
        capacity = max(16, vectors.count)
        level0 = .allocate(capacity: capacity * stride0)
        levels = .allocate(capacity: capacity)
        upperOffset = .allocate(capacity: capacity)
        upperCapacity = max(64, capacity / max(1, parameters.m - 1) * strideU + strideU * 4)
        upper = .allocate(capacity: upperCapacity)
        upperCount = 0
        deletedBits = .allocate(capacity: (capacity + 63) / 64)
        deletedBits.initialize(repeating: 0, count: (capacity + 63) / 64)
        deletedCount = 0
        entryPoint = 0
        maxLevel = -1
        mapping = nil
        self.vectors = vectors
        (pair, gather, negate, bias) = Self.kernel(metric, vectors.element, kernels)
        (walkRows, walkPair, walkGather) = (vectors, pair, gather)
        self.kernels = kernels
        rng = SeededGenerator(seed: parameters.seed)
    }

    /// A graph over structures that live in a memory mapping (`mapped` keeps it alive). The
    /// tombstone bitset is copied, so deletions can still be marked.
    init(
        metric: Metric, vectors: StoredRows, parameters: Parameters, mapped: AnyObject, count n: Int,
        level0: UnsafeMutablePointer<UInt32>, levels: UnsafeMutablePointer<UInt8>, upperOffset: UnsafeMutablePointer<UInt32>,
        upper: UnsafeMutablePointer<UInt32>, upperCount: Int, deleted: UnsafeRawPointer, entryPoint: UInt32, maxLevel: Int,
        kernels: DistanceKernels = .best
    ) throws(VecDBError) {
        self.metric = metric
        self.dimension = vectors.dimension
        self.parameters = parameters
        count = n
        capacity = n
        self.level0 = level0
        self.levels = levels
        self.upperOffset = upperOffset
        self.upper = upper
        self.upperCount = upperCount
        upperCapacity = upperCount
        let words = max(1, (n + 63) / 64)
        deletedBits = .allocate(capacity: words)
        deletedBits.initialize(repeating: 0, count: words)
        if n > 0 { UnsafeMutableRawPointer(deletedBits).copyMemory(from: deleted, byteCount: (n + 63) / 64 * 8) }
        var dead = 0
        for w in 0..<((n + 63) / 64) { dead += deletedBits[w].nonzeroBitCount }
        deletedCount = dead
        self.entryPoint = entryPoint
        self.maxLevel = maxLevel
        mapping = mapped
        self.vectors = vectors
        (pair, gather, negate, bias) = Self.kernel(metric, vectors.element, kernels)
        (walkRows, walkPair, walkGather) = (vectors, pair, gather)
        self.kernels = kernels
        rng = SeededGenerator(seed: parameters.seed)
        // Every upper block must lie inside the upper section, so traversal cannot leave it.
        for i in 0..<n {
            let l = Int(levels[i])
            if l > maxLevel { throw VecDBError(.corruptFile, "HNSW index: node \(i) has level \(l) above the top level \(maxLevel)") }
            if l == 0 { continue }
            let o = upperOffset[i]
            if o == Self.noUpper || Int(o) + l * strideU > upperCount {
                throw VecDBError(.corruptFile, "HNSW index: node \(i)'s upper links lie outside the file")
            }
        }
        if n > 0 && Int(levels[Int(entryPoint)]) != maxLevel {
            throw VecDBError(.corruptFile, "HNSW index: the entry point is not on the top level")
        }
    }

    /// The pair kernel and how to turn its result into a distance (smaller is closer).
    /// Cosine graphs hold unit vectors, so cosine distance is `1 - ip`.
    /// Float16 rows use the kernels that read half precision in place (the pointer types differ,
    /// the C calling convention does not).
    static func kernel(_ metric: Metric, _ element: StoredRows.Element, _ k: DistanceKernels) -> (
        RawPair, DistanceKernels.Gather, Bool, Float
    ) {
        let l2: RawPair
        let ip: RawPair
        let l2Gather: DistanceKernels.Gather
        let ipGather: DistanceKernels.Gather
        switch element {
        case .float32:
            (l2, ip) = (unsafeBitCast(k.l2sqF32, to: RawPair.self), unsafeBitCast(k.ipF32, to: RawPair.self))
            (l2Gather, ipGather) = (k.l2sqF32Gather, k.ipF32Gather)
        case .float16:
            (l2, ip) = (unsafeBitCast(k.l2sqF16, to: RawPair.self), unsafeBitCast(k.ipF16, to: RawPair.self))
            (l2Gather, ipGather) = (k.l2sqF16Gather, k.ipF16Gather)
        }
        switch metric {
        case .l2: return (l2, l2Gather, false, 0)
        case .ip: return (ip, ipGather, true, 0)
        case .cosine: return (ip, ipGather, true, 1)
        }
    }

    /// Whether searches walk a half-precision copy and re-rank exactly.
    var reranks: Bool { walkRows.base != vectors.base }

    /// Points the walks at half-precision rows (a copy of `vectors`' first `walkRows.count` rows).
    func useWalkRows(_ rows: StoredRows) {
        walkRows = rows
        (walkPair, walkGather, _, _) = Self.kernel(metric, .float16, kernels)
    }

    /// Whether the parameters ask for a half-precision copy of the rows.
    var keepsWalkCopy: Bool { parameters.traversal == .float16 && vectors.element == .float32 }

    /// Checks that rows `first..<n` fit half precision before they are added.
    ///
    /// - Throws: ``VecDBError/Code/invalidArgument`` naming the first component outside
    ///   ±65504 (half precision's range).
    func checkWalkCopyRange(from first: Int, to n: Int) throws(VecDBError) {
        guard keepsWalkCopy else { return }
        for r in first..<n {
            let row = vectors.base.advanced(by: r * vectors.rowBytes).assumingMemoryBound(to: Float.self)
            for i in 0..<dimension where !(abs(row[i]) <= 65504) {
                throw VecDBError(
                    .invalidArgument,
                    "float16 traversal: row \(r) has the component \(row[i]), outside half precision's range (±65504)")
            }
        }
    }

    /// Encodes rows `first..<n` (checked by ``checkWalkCopyRange(from:to:)``) into the owned
    /// half-precision copy, growing it to `capacity` rows.
    func encodeWalkCopy(from first: Int, to n: Int) {
        guard keepsWalkCopy, mapping == nil else { return }
        let d = dimension
        let copy: UnsafeMutablePointer<UInt16>
        if let owned = ownedCopy, walkRows.count >= capacity {
            copy = owned
        } else {
            copy = .allocate(capacity: max(1, capacity * d))
            if let owned = ownedCopy {
                copy.update(from: owned, count: first * d)
                owned.deallocate()
            }
            ownedCopy = copy
        }
        let src = vectors.base.assumingMemoryBound(to: Float.self)
        if vectors.rowBytes == d * 4 {
            vdb_f32_to_f16_array(src + first * d, copy + first * d, (n - first) * d)
        } else {
            for r in first..<n {
                let row = vectors.base.advanced(by: r * vectors.rowBytes).assumingMemoryBound(to: Float.self)
                vdb_f32_to_f16_array(row, copy + r * d, d)
            }
        }
        useWalkRows(StoredRows(float16: copy, count: capacity, dimension: d))
    }

    deinit {
        ownedCopy?.deallocate()
        if mapping == nil {
            level0.deallocate()
            levels.deallocate()
            upperOffset.deallocate()
            upper.deallocate()
        }
        deletedBits.deallocate()
    }

    // MARK: - Access

    @inline(__always)
    func distance(_ q: UnsafePointer<Float>, _ node: UInt32) -> Float {
        let raw = pair(q, vectors.base + Int(node) &* vectors.rowBytes, dimension)
        return negate ? bias - raw : raw
    }

    /// The distance searches use on their way: to the walk rows (a half-precision copy with
    /// ``Parameters/Traversal/float16``).
    @inline(__always)
    func walkDistance(_ q: UnsafePointer<Float>, _ node: UInt32) -> Float {
        let raw = walkPair(q, walkRows.base + Int(node) &* walkRows.rowBytes, dimension)
        return negate ? bias - raw : raw
    }

    /// The link block of `node` at `level`: word 0 is the count, then the ids.
    @inline(__always)
    func links(_ node: UInt32, _ level: Int) -> UnsafeMutablePointer<UInt32> {
        if level == 0 { return level0 + Int(node) &* stride0 }
        let offset: Int = Int(upperOffset[Int(node)]) &+ (level &- 1) &* strideU
        return upper + offset
    }

    public func level(of node: UInt32) -> Int { Int(levels[Int(node)]) }

    public func isDeleted(_ node: UInt32) -> Bool {
        deletedBits[Int(node) >> 6] & (1 << UInt64(node & 63)) != 0
    }

    /// Hides `node` from results; the graph keeps routing through it.
    public func markDeleted(_ node: UInt32) {
        guard Int(node) < count, !isDeleted(node) else { return }
        deletedBits[Int(node) >> 6] |= 1 << UInt64(node & 63)
        deletedCount += 1
    }

    /// Bytes held by the graph's own structures (links, levels, offsets, tombstones, and the
    /// half-precision copy a float16 traversal keeps).
    public var memoryBytes: Int {
        count * (stride0 * 4 + 1 + 4) + upperCount * 4 + (count + 63) / 64 * 8 + (reranks ? count * dimension * 2 : 0)
    }
}
