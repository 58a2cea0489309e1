import Dispatch
import Synchronization
import VecDBIndex
import VecDBKernels
import VecDBStorage

/// The HNSW graphs of a collection's segments.
///
/// Segments are immutable, so each gets its own graph, built once and written next to it as
/// `hnsw-<id>.idx`; searches merge the per-segment results with the exact scan of the memtable
/// (and of any segment whose graph is not built yet), like the sealed and growing segments of
/// an LSM design. Graphs are derived data: a missing or damaged graph file is rebuilt, never
/// trusted, and the segment is searched exactly meanwhile.
///
/// Thread-safe: the registry is a `Mutex`; a graph is immutable once registered, and every
/// search holds its segment (and so the mapped vectors the graph links) through its snapshot.
final class SegmentIndexes: Sendable {
    struct Entry: Sendable {
        let segment: Segment
        let graph: HNSWGraph
    }

    struct State {
        var spec: IndexSpec?
        var graphs: [UInt64: Entry] = [:]
        var building = false
    }

    let directory: String
    let metric: Metric
    let fs: FileSystem
    let state = Mutex(State())
    /// Held while graphs are built and written, so the background builder and an explicit
    /// refresh never write the same file at once.
    let buildLock = Mutex(())
    /// Builds graphs for segments sealed after the index was created, off the write path.
    let queue = DispatchQueue(label: "vecdb.index-builder", qos: .utility)

    init(directory: String, metric: Metric, fs: FileSystem = .system) {
        self.directory = directory
        self.metric = metric
        self.fs = fs
    }

    var specPath: String { directory + "/" + IndexSpec.fileName }
    static func graphFileName(_ id: UInt64) -> String { "hnsw-" + String(Segment.fileName(id: id).dropFirst(4).dropLast(4)) + ".idx" }
    func graphPath(_ id: UInt64) -> String { directory + "/" + Self.graphFileName(id) }

    var spec: IndexSpec? { state.withLock { $0.spec } }

    /// Reads the spec and maps the graphs of `snapshot`'s segments. A damaged spec is an error;
    /// a damaged graph is dropped and rebuilt later.
    func load(_ snapshot: Snapshot) throws(VecDBError) {
        guard fs.exists(specPath) else { return }
        let spec = try IndexSpec(bytes: try fs.readAll(specPath), path: specPath)
        var graphs: [UInt64: Entry] = [:]
        for v in snapshot.segments {
            let path = graphPath(v.segment.id)
            guard fs.exists(path) else { continue }
            if let g = try? HNSWGraph.open(path, vectors: v.segment.rows(), metric: metric, fs: fs), g.count == v.segment.count,
               g.parameters == spec.hnsw {
                // (a graph built with other parameters is rebuilt)
                graphs[v.segment.id] = Entry(segment: v.segment, graph: g)
            }
        }
        state.withLock {
            $0.spec = spec
            $0.graphs = graphs
        }
    }

    /// Records the spec durably and builds a graph for every segment of `snapshot` that lacks one.
    func create(_ spec: IndexSpec, snapshot: Snapshot, threads: Int, progress: (@Sendable (Int, Int) -> Void)?) throws(VecDBError) {
        try spec.hnsw.validate()
        let changed = state.withLock { s -> Bool in
            let changed = s.spec != spec
            if s.spec?.hnsw != spec.hnsw { s.graphs = [:] }
            s.spec = spec
            return changed
        }
        if changed || !fs.exists(specPath) { try fs.replaceAtomically(specPath, with: spec.bytes()) }
        try refresh(snapshot, threads: threads, progress: progress)
    }

    /// Builds the graphs `snapshot` is missing, drops those of segments that are gone, and
    /// removes their files.
    func refresh(_ snapshot: Snapshot, threads: Int, progress: (@Sendable (Int, Int) -> Void)? = nil) throws(VecDBError) {
        try buildLock.withLock { (_: inout ()) throws(VecDBError) in try refreshLocked(snapshot, threads: threads, progress: progress) }
    }

    func refreshLocked(_ snapshot: Snapshot, threads: Int, progress: (@Sendable (Int, Int) -> Void)?) throws(VecDBError) {
        guard let spec = self.spec else { return }
        let have = state.withLock { Set($0.graphs.keys) }
        let total = snapshot.segments.reduce(0) { $0 + $1.segment.count }
        var done = 0
        for v in snapshot.segments {
            let id = v.segment.id
            if have.contains(id) {
                done += v.segment.count
                continue
            }
            let base = done
            let g = try HNSWGraph.build(vectors: v.segment.rows(), metric: metric, parameters: spec.hnsw, threads: threads,
                                        progress: progress.map { p in { @Sendable n in p(base + n, total) } })
            try g.write(to: graphPath(id), fs: fs)
            state.withLock { $0.graphs[id] = Entry(segment: v.segment, graph: g) }
            done += v.segment.count
        }
        progress?(total, total)
        let live = Set(snapshot.segments.map(\.segment.id))
        state.withLock { s in s.graphs = s.graphs.filter { live.contains($0.key) } }
        removeOrphans(live: live)
    }

    /// Deletes graph files whose segment no longer exists, and temporary files of interrupted writes.
    func removeOrphans(live: Set<UInt64>) {
        guard let names = try? fs.list(directory) else { return }
        let keep = Set(live.map(Self.graphFileName))
        for n in names where n.hasPrefix("hnsw-") && !keep.contains(n) {
            try? fs.unlink(directory + "/" + n)
        }
    }

    /// Starts building missing graphs in the background, once at a time.
    func refreshInBackground(_ current: @escaping @Sendable () -> Snapshot) {
        let start = state.withLock { s -> Bool in
            guard s.spec != nil, !s.building else { return false }
            s.building = true
            return true
        }
        guard start else { return }
        queue.async {
            try? self.refresh(current(), threads: 1)
            self.state.withLock { $0.building = false }
        }
    }

    func needsRefreshSegment(_ id: UInt64) -> Bool {
        state.withLock { $0.spec != nil && $0.graphs[id] == nil }
    }

    func needsRefresh(_ snapshot: Snapshot) -> Bool {
        state.withLock { s in s.spec != nil && snapshot.segments.contains { s.graphs[$0.segment.id] == nil } }
    }

    /// The hook the snapshot search calls for each segment.
    ///
    /// Without a filter, the graph is searched directly (deleted rows are skipped during the
    /// walk). With a filter, the matching rows are counted first: when few match, scanning them
    /// exactly is both faster and exact; otherwise the graph is walked with the filter and an
    /// `ef` widened by the inverse of the selectivity, so recall holds as matches thin out.
    func searcher(ef: Int, k: Int, filtered: Bool) -> IndexedSegmentSearch? {
        let graphs = state.withLock { $0.graphs }
        guard !graphs.isEmpty else { return nil }
        let metric = self.metric
        return { view, query, allow, idBase, heap in
            guard let entry = graphs[view.segment.id], entry.segment === view.segment else { return false }
            let g = entry.graph
            let n = view.segment.count
            var width = max(ef, k)
            var allowNode: ((UInt32) -> Bool)?
            if let allow {
                if filtered {
                    var pass = [Bool](repeating: false, count: n)
                    var matches = 0
                    for r in 0..<n where allow(r) {
                        pass[r] = true
                        matches += 1
                    }
                    if matches == 0 { return true }
                    let selectivity = Double(matches) / Double(n)
                    if matches <= 16 * width || selectivity < 0.02 {
                        let es = ExactSearch(metric: metric, dimension: view.segment.dimension, rowsNormalized: metric == .cosine)
                        es.scan(prepared: query, rows: view.segment.rows(), idBase: idBase, allow: { pass[$0] }, heap: &heap)
                        return true
                    }
                    width = min(n, Int(Double(width) / selectivity))
                    allowNode = { pass[Int($0)] }
                } else {
                    allowNode = { allow(Int($0)) }
                }
            }
            for hit in g.search(query, k: heap.k, ef: width, allow: allowNode) {
                heap.push(distance: hit.distance, id: idBase | hit.id)
            }
            return true
        }
    }
}
