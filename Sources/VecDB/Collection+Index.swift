@_exported import VecDBIndex
import VecDBKernels
import VecDBStorage

/// Parameters of a collection's HNSW index: `M` (links per node; level 0 keeps twice as many),
/// `efConstruction` (candidate list size while building) and `seed` (node levels; a
/// single-threaded build is reproducible from it).
public typealias HNSWOptions = HNSWGraph.Parameters

/// Parameters of a collection's IVF index: the list encoding (`.flat`, `.sq8`, `.pq(m:)`),
/// `nlist`, the k-means training run, and for PQ how many candidates are re-ranked exactly.
public typealias IVFOptions = IVFIndex.Parameters

/// The index a collection keeps, with its parameters and default search width.
public enum IndexDescription: Sendable, Equatable {
    case hnsw(HNSWOptions, defaultEF: Int)
    case ivf(IVFOptions, defaultNprobe: Int)
}

extension IndexDescription {
    /// One line: the type and its parameters.
    public var summary: String {
        switch self {
        case .hnsw(let p, let ef): return "hnsw M=\(p.M) efConstruction=\(p.efConstruction) ef=\(ef)"
        case .ivf(let p, let nprobe):
            let kind: String
            switch p.encoding {
            case .flat: kind = "ivf-flat"
            case .sq8: kind = "ivf-sq8"
            case .pq(let m): kind = "ivf-pq m=\(m)\(p.rerank > 0 ? " rerank=\(p.rerank)" : "")"
            }
            return "\(kind) nlist=\(p.nlist) nprobe=\(nprobe)"
        }
    }
}

extension Collection {
    /// The candidate list size used by HNSW searches that do not give one.
    public static let defaultEF = 64
    /// The lists probed by IVF searches that do not give a number.
    public static let defaultNprobe = 16

    /// Creates (or replaces) an HNSW index: every segment gets a graph, built now and persisted
    /// next to it; later segments get theirs in the background as they are sealed.
    ///
    /// The memory buffer is sealed first, so every record present when this is called is indexed.
    ///
    /// - Parameters:
    ///   - defaultEF: the candidate list size of searches that do not give one (stored with the
    ///     index; ``defaultEF`` when nil).
    ///   - threads: build threads per segment.
    ///   - progress: called with (rows indexed, rows to index).
    /// - Throws: ``VecDBError/Code/invalidArgument`` for bad parameters, ``VecDBError/Code/readOnly``, I/O errors.
    public func createIndex(_ options: HNSWOptions = .init(), defaultEF: Int? = nil, threads: Int = 1,
                            progress: (@Sendable (Int, Int) -> Void)? = nil) throws(VecDBError) {
        if let defaultEF, defaultEF < 1 { throw VecDBError(.invalidArgument, "ef must be at least 1, got \(defaultEF)") }
        try create(IndexSpec(hnsw: options, defaultEF: defaultEF), threads: threads, retrain: false, progress: progress)
    }

    /// Creates (or replaces) an IVF index.
    ///
    /// k-means centroids (and the SQ8 or PQ quantiser) are trained on up to
    /// `options.maxSample` stored vectors, evenly spaced, and kept in `ivf-quantizer.idx`. Every
    /// segment then gets inverted lists over those centroids, persisted next to it and opened by
    /// mmap; segments sealed later have their rows assigned to the nearest trained list, in the
    /// background. Records still in the memory buffer are sealed first.
    ///
    /// The centroids are not moved by later writes. ``indexDrift`` tells how far the stored
    /// vectors have moved away from them; ``retrainIndex(threads:progress:)`` trains afresh.
    ///
    /// - Parameters:
    ///   - defaultNprobe: lists probed by searches that do not give `nprobe`
    ///     (``defaultNprobe`` when nil).
    ///   - threads: training and encoding threads.
    /// - Throws: ``VecDBError/Code/invalidArgument`` for bad parameters, or when fewer vectors are
    ///   stored than `nlist` (or than 256 for PQ); ``VecDBError/Code/readOnly``; I/O errors.
    public func createIndex(_ options: IVFOptions, defaultNprobe: Int? = nil, threads: Int = 1,
                            progress: (@Sendable (Int, Int) -> Void)? = nil) throws(VecDBError) {
        if let defaultNprobe, defaultNprobe < 1 { throw VecDBError(.invalidArgument, "nprobe must be at least 1, got \(defaultNprobe)") }
        try create(IndexSpec(ivf: options, defaultNprobe: defaultNprobe), threads: threads, retrain: false, progress: progress)
    }

    /// Trains the IVF centroids and quantiser again on the vectors stored now, and rebuilds every
    /// segment's lists over them. Searches go on over the old lists until the new ones are in
    /// place. Call it when ``indexDrift`` has grown (say above 1.5), or after the data has
    /// changed a lot.
    ///
    /// - Throws: ``VecDBError/Code/unsupported`` when the collection has no IVF index.
    public func retrainIndex(threads: Int = 1, progress: (@Sendable (Int, Int) -> Void)? = nil) throws(VecDBError) {
        guard let spec = indexes.spec, spec.ivf != nil else {
            throw VecDBError(.unsupported, "\(what) has no IVF index to retrain")
        }
        try create(spec, threads: threads, retrain: true, progress: progress)
    }

    func create(_ spec: IndexSpec, threads: Int, retrain: Bool, progress: (@Sendable (Int, Int) -> Void)?) throws(VecDBError) {
        if store.isReadOnly { throw VecDBError(.readOnly, "\(what) was opened read-only; cannot build an index") }
        switch spec.kind {
        case .hnsw(let p): try p.validate()
        case .ivf(let p): try p.validate(dimension: dimension)
        }
        try store.flush()
        try indexes.create(spec, snapshot: store.snapshot(), threads: max(1, threads), retrain: retrain, progress: progress)
    }

    /// The index kept, or nil.
    public var index: IndexDescription? {
        guard let spec = indexes.spec else { return nil }
        switch spec.kind {
        case .hnsw(let p): return .hnsw(p, defaultEF: spec.defaultWidth ?? Self.defaultEF)
        case .ivf(let p): return .ivf(p, defaultNprobe: spec.defaultWidth ?? Self.defaultNprobe)
        }
    }

    /// The HNSW search width used when a search does not give one.
    public var searchEF: Int {
        if case .hnsw(_, let ef)? = index { return ef }
        return Self.defaultEF
    }

    /// The IVF lists probed when a search does not say.
    public var searchNprobe: Int {
        if case .ivf(_, let nprobe)? = index { return nprobe }
        return Self.defaultNprobe
    }

    /// The HNSW index parameters, or nil when the collection has no HNSW index.
    public var indexOptions: HNSWOptions? {
        indexes.spec?.hnsw
    }

    /// For an IVF index: the mean squared distance of the indexed vectors to their list
    /// centroids, divided by that of the training sample. About 1 while the centroids describe
    /// the data; as new vectors arrive away from them it grows, lists get less selective, and
    /// recall at a given `nprobe` falls: ``retrainIndex(threads:progress:)`` then helps.
    /// Nil without an IVF index or before any segment is indexed.
    public var indexDrift: Double? { indexes.drift }

    /// For an IVF index: the indexed rows in each list (deleted rows included until compaction).
    public var indexListSizes: [Int]? { indexes.listSizes }

    /// Builds any missing segment indexes now (instead of waiting for the background builder).
    public func refreshIndex(threads: Int = 1) throws(VecDBError) {
        if store.isReadOnly { return }
        try indexes.refresh(store.snapshot(), threads: max(1, threads))
    }

    /// How many segments have an index, of how many.
    public var indexedSegments: (indexed: Int, total: Int) {
        let snap = store.snapshot()
        let total = snap.segments.count
        return (total - snap.segments.filter { indexes.needsRefreshSegment($0.segment.id) }.count, total)
    }

    func refreshIndexesInBackground(_ snapshot: Snapshot) {
        guard !store.isReadOnly, indexes.needsRefresh(snapshot) else { return }
        let store = self.store
        indexes.refreshInBackground { store.snapshot() }
    }
}
