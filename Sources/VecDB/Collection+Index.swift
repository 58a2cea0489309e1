@_exported import VecDBIndex
import VecDBKernels
import VecDBStorage

/// Parameters of a collection's HNSW index: `M` (links per node; level 0 keeps twice as many),
/// `efConstruction` (candidate list size while building) and `seed` (node levels; a
/// single-threaded build is reproducible from it).
public typealias HNSWOptions = HNSWGraph.Parameters

extension Collection {
    /// The candidate list size used by searches that do not give one.
    public static let defaultEF = 64

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
        if store.isReadOnly { throw VecDBError(.readOnly, "\(what) was opened read-only; cannot build an index") }
        try store.flush()
        if let defaultEF, defaultEF < 1 { throw VecDBError(.invalidArgument, "ef must be at least 1, got \(defaultEF)") }
        let spec = IndexSpec(hnsw: options, defaultEF: defaultEF)
        try indexes.create(spec, snapshot: store.snapshot(), threads: max(1, threads), progress: progress)
    }

    /// The search width used when a search does not give one.
    public var searchEF: Int { indexes.spec?.defaultEF ?? Self.defaultEF }

    /// The index parameters, or nil when the collection has no index.
    public var indexOptions: HNSWOptions? {
        indexes.spec?.hnsw
    }

    /// Builds any missing segment graphs now (instead of waiting for the background builder).
    public func refreshIndex(threads: Int = 1) throws(VecDBError) {
        if store.isReadOnly { return }
        try indexes.refresh(store.snapshot(), threads: max(1, threads))
    }

    /// How many segments have a graph, of how many.
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
