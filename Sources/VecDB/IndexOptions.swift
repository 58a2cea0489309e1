import VecDBIndex
import VecDBKernels

/// The kind of index a collection keeps.
public enum IndexKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// A hierarchical navigable small-world graph per segment.
    case hnsw
    /// Inverted lists of full vectors, over shared k-means centroids.
    case ivfFlat = "ivf-flat"
    /// Inverted lists of 8-bit scalar-quantised vectors.
    case ivfSQ8 = "ivf-sq8"
    /// Inverted lists of product-quantised codes.
    case ivfPQ = "ivf-pq"
}

/// Parameters of an HNSW index.
///
/// Each segment gets its own graph, built when the index is created (or, for segments sealed
/// later, in the background) and persisted next to it.
public struct HNSWIndexOptions: Sendable, Hashable {
    /// Links per node on the upper levels; level 0 keeps up to `2 * m` (2…256).
    public var m: Int
    /// Candidate list size while building (at least 1).
    public var efConstruction: Int
    /// Seeds the random level of each node: a single-threaded build is reproducible from it.
    public var seed: UInt64
    /// The candidate list size of searches that give no ``SearchOptions/width``; nil stores no
    /// default and searches use ``Collection/defaultEF``.
    public var defaultEF: Int?
    /// Walk a half-precision copy of Float32 rows kept with each graph (2 bytes more per
    /// component), re-ranking the candidates exactly: faster searches for more memory. Rows
    /// whose components exceed ±65504 cannot be indexed this way.
    public var float16Traversal: Bool

    /// Creates HNSW parameters; the defaults suit most collections.
    public init(m: Int = 16, efConstruction: Int = 200, seed: UInt64 = 100, defaultEF: Int? = nil, float16Traversal: Bool = false) {
        self.m = m
        self.efConstruction = efConstruction
        self.seed = seed
        self.defaultEF = defaultEF
        self.float16Traversal = float16Traversal
    }

    var parameters: HNSWGraph.Parameters {
        HNSWGraph.Parameters(m: m, efConstruction: efConstruction, seed: seed, traversal: float16Traversal ? .float16 : .rows)
    }
}

/// How an IVF index stores the vectors in its lists.
public enum IVFEncoding: Sendable, Hashable {
    /// The full vectors: exact distances inside the probed lists.
    case flat
    /// One byte per component (per-dimension minimum and step).
    case sq8
    /// `subquantizers` bytes per vector: product quantisation of the residuals.
    case pq(subquantizers: Int)

    var encoding: IVFIndex.Encoding {
        switch self {
        case .flat: return .flat
        case .sq8: return .sq8
        case .pq(let m): return .pq(m: m)
        }
    }

    init(_ e: IVFIndex.Encoding) {
        switch e {
        case .flat: self = .flat
        case .sq8: self = .sq8
        case .pq(let m): self = .pq(subquantizers: m)
        }
    }
}

/// Parameters of an IVF index.
///
/// The centroids (and SQ8 or PQ quantiser) are trained once on up to ``maxSample`` stored
/// vectors; every segment's lists share them.
public struct IVFIndexOptions: Sendable, Hashable {
    /// How the lists store vectors.
    public var encoding: IVFEncoding
    /// Inverted lists (k-means centroids), 1…1,048,576.
    public var nlist: Int
    /// Lloyd iterations of the coarse k-means (and, capped at 25, of each PQ sub-quantiser).
    public var iterations: Int
    /// At most this many stored vectors, evenly spaced, are used for training.
    public var maxSample: Int
    /// Seeds k-means++ and the training sample, so a build is reproducible.
    public var seed: UInt64
    /// For PQ: candidates re-ranked exactly from the stored vectors (0: none).
    public var rerank: Int
    /// Lists probed by searches that give no ``SearchOptions/width``; nil stores no default and
    /// searches use ``Collection/defaultNprobe``.
    public var defaultNprobe: Int?

    /// Creates IVF parameters.
    public init(
        encoding: IVFEncoding = .flat, nlist: Int = 1024, iterations: Int = 20, maxSample: Int = 1 << 18,
        seed: UInt64 = 1234, rerank: Int = 0, defaultNprobe: Int? = nil
    ) {
        self.encoding = encoding
        self.nlist = nlist
        self.iterations = iterations
        self.maxSample = maxSample
        self.seed = seed
        self.rerank = rerank
        self.defaultNprobe = defaultNprobe
    }

    var parameters: IVFIndex.Parameters {
        IVFIndex.Parameters(
            encoding: encoding.encoding, nlist: nlist, iterations: iterations, maxSample: maxSample, seed: seed, rerank: rerank)
    }
}

/// The index a collection keeps (or is asked to build), with its parameters and default search
/// width.
public enum IndexOptions: Sendable, Hashable {
    /// An HNSW graph per segment.
    case hnsw(HNSWIndexOptions)
    /// IVF lists per segment over shared centroids.
    case ivf(IVFIndexOptions)

    /// The kind of index.
    public var kind: IndexKind {
        switch self {
        case .hnsw: return .hnsw
        case .ivf(let o):
            switch o.encoding {
            case .flat: return .ivfFlat
            case .sq8: return .ivfSQ8
            case .pq: return .ivfPQ
            }
        }
    }

    /// One line: the kind, its parameters and the default search width, as `vecdb stats`
    /// prints it ("hnsw M=16 efConstruction=200 ef=64", "ivf-pq m=16 nlist=1024 nprobe=16").
    public var summary: String {
        switch self {
        case .hnsw(let o):
            return "hnsw M=\(o.m) efConstruction=\(o.efConstruction) ef=\(o.defaultEF ?? Collection.defaultEF)"
                + (o.float16Traversal ? " traversal=float16" : "")
        case .ivf(let o):
            let kind: String
            switch o.encoding {
            case .flat: kind = "ivf-flat"
            case .sq8: kind = "ivf-sq8"
            case .pq(let m): kind = "ivf-pq m=\(m)\(o.rerank > 0 ? " rerank=\(o.rerank)" : "")"
            }
            return "\(kind) nlist=\(o.nlist) nprobe=\(o.defaultNprobe ?? Collection.defaultNprobe)"
        }
    }

    /// The search width used when a search gives none: HNSW's `ef`, or IVF's `nprobe`.
    public var defaultWidth: Int {
        switch self {
        case .hnsw(let o): return o.defaultEF ?? Collection.defaultEF
        case .ivf(let o): return o.defaultNprobe ?? Collection.defaultNprobe
        }
    }

    /// The stored form.
    var spec: IndexSpec {
        switch self {
        case .hnsw(let o): return IndexSpec(hnsw: o.parameters, defaultEF: o.defaultEF)
        case .ivf(let o): return IndexSpec(ivf: o.parameters, defaultNprobe: o.defaultNprobe)
        }
    }

    /// The options a stored spec describes.
    init(_ spec: IndexSpec) {
        switch spec.kind {
        case .hnsw(let p):
            self = .hnsw(
                HNSWIndexOptions(
                    m: p.m, efConstruction: p.efConstruction, seed: p.seed, defaultEF: spec.defaultWidth,
                    float16Traversal: p.traversal == .float16))
        case .ivf(let p):
            self = .ivf(
                IVFIndexOptions(
                    encoding: IVFEncoding(p.encoding), nlist: p.nlist, iterations: p.iterations, maxSample: p.maxSample,
                    seed: p.seed, rerank: p.rerank, defaultNprobe: spec.defaultWidth))
        }
    }
}

/// How a search runs: which rows may be returned, and how hard an index looks.
///
/// The same options serve every kind of index: ``width`` is HNSW's candidate list size (`ef`) or
/// the number of IVF lists probed (`nprobe`), whichever the collection keeps.
public struct SearchOptions: Sendable {
    /// Only records whose payload matches are returned; nil admits every record.
    public var filter: Filter?
    /// The index's search width (HNSW `ef`, IVF `nprobe`), at least 1; nil uses the index's
    /// default (``IndexOptions/defaultWidth``). Ignored without an index.
    public var width: Int?
    /// Compare every record exactly, ignoring the index (for ground truth, or when recall must
    /// be 1).
    public var exact: Bool
    /// Return each hit's payload (default). Without, hits carry only key and distance, and no
    /// payload block is read or decompressed for them.
    public var includePayloads: Bool

    /// Creates search options; the defaults search through the index at its default width.
    public init(filter: Filter? = nil, width: Int? = nil, exact: Bool = false, includePayloads: Bool = true) {
        self.filter = filter
        self.width = width
        self.exact = exact
        self.includePayloads = includePayloads
    }
}
