import VecDBEngine
import VecDBIndex
import VecDBKernels
import VecDBStorage

extension Collection {
    /// The candidate list size of HNSW searches when neither the search nor the index gives one.
    public static let defaultEF = 64
    /// The lists probed by IVF searches when neither the search nor the index gives a number.
    public static let defaultNprobe = 16

    /// Creates (or replaces) the collection's index.
    ///
    /// The memory buffer is sealed first, so every record present when this is called is
    /// indexed. Every segment then gets its index, built now and persisted next to it; segments
    /// sealed later get theirs in the background. Searches go on over the old index (or exactly)
    /// until the new one is in place; only a change of ``IndexOptions/defaultWidth`` alone is
    /// recorded without rebuilding.
    ///
    /// - HNSW: a graph per segment.
    /// - IVF: k-means centroids (and the SQ8 or PQ quantiser) are trained on up to
    ///   ``IVFIndexOptions/maxSample`` stored vectors, evenly spaced, and kept in
    ///   `ivf-quantizer.idx`; every segment gets inverted lists over them, and segments sealed
    ///   later have their rows assigned to the nearest trained list. The centroids are not moved
    ///   by later writes: ``indexDrift`` tells how far the stored vectors have moved away from
    ///   them, and ``retrainIndex(threads:progress:)`` trains afresh.
    ///
    /// - Parameters:
    ///   - options: the kind of index, its parameters and default search width.
    ///   - threads: build and training threads.
    ///   - progress: called with (rows indexed, rows to index).
    /// - Throws: `VecDBError.Code.invalidArgument` for bad parameters, or for IVF when fewer
    ///   vectors are stored than `nlist` (or than 256 for PQ); `VecDBError.Code.readOnly`;
    ///   I/O errors.
    public func createIndex(
        _ options: IndexOptions, threads: Int = 1, progress: (@Sendable (Int, Int) -> Void)? = nil
    ) throws(VecDBError) {
        switch options {
        case .hnsw(let o):
            if let ef = o.defaultEF, ef < 1 { throw VecDBError(.invalidArgument, "ef must be at least 1, got \(ef)") }
        case .ivf(let o):
            if let n = o.defaultNprobe, n < 1 { throw VecDBError(.invalidArgument, "nprobe must be at least 1, got \(n)") }
        }
        try create(options.spec, threads: threads, retrain: false, progress: progress)
    }

    /// Trains the IVF centroids and quantiser again on the vectors stored now, and rebuilds every
    /// segment's lists over them. Searches go on over the old lists until the new ones are in
    /// place. Call it when ``indexDrift`` has grown (say above 1.5), or after the data has
    /// changed a lot.
    ///
    /// - Throws: `VecDBError.Code.unsupported` when the collection has no IVF index.
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

    /// The index kept (its kind, parameters and default search width), or nil.
    public var index: IndexOptions? {
        indexes.spec.map(IndexOptions.init)
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

    /// Starts building the indexes of segments that lack one, off the caller's thread.
    func refreshIndexesInBackground(_ snapshot: Snapshot) {
        guard !store.isReadOnly, indexes.needsRefresh(snapshot) else { return }
        let store = self.store
        indexes.refreshInBackground { store.snapshot() }
    }
}
