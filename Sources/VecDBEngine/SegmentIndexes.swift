import Dispatch
import Synchronization
import VecDBIndex
import VecDBKernels
import VecDBStorage

/// The indexes of a collection's segments: an HNSW graph, or IVF inverted lists, per segment.
///
/// Segments are immutable, so each gets its own index, built once and written next to it as
/// `hnsw-<id>.idx` or `ivf-<id>.idx`; searches merge the per-segment results with the exact scan
/// of the memtable (and of any segment whose index is not built yet), like the sealed and
/// growing segments of an LSM design. Indexes are derived data: a missing or damaged file is
/// rebuilt, never trusted, and the segment is searched exactly meanwhile.
///
/// IVF lists of every segment share one partition of the space: the centroids (and SQ/PQ
/// quantiser) are trained once, when the index is created or retrained, and kept in
/// `ivf-quantizer.idx`; a segment sealed later has its rows assigned to the nearest of those
/// lists. How far those rows lie from their centroids, against the training sample, is the
/// collection's drift (``Collection/indexDrift``).
///
/// Thread-safe: the registry is a `Mutex`; an index is immutable once registered, and every
/// search holds its segment (and so the mapped vectors it refers to) through its snapshot.
package final class SegmentIndexes: Sendable {
    /// One segment's index.
    package enum Index: @unchecked Sendable {
        case graph(HNSWGraph)
        case ivf(IVFIndex)
    }

    /// A segment's index, with the segment it was built for (an index is used only for that
    /// very segment object, never for a later one that reuses the id).
    package struct Entry: Sendable {
        package let segment: Segment
        package let index: Index
    }

    /// What a search needs of the indexes, read once per query: every entry, the spec and the
    /// shared IVF quantiser.
    package struct Catalog: @unchecked Sendable {
        package let entries: [UInt64: Entry]
        package let spec: IndexSpec?
        package let quantizer: IVFIndex?
    }

    /// The indexes as they are now; an index is immutable once registered, so the catalog stays
    /// valid for as long as a search holds it.
    package var catalog: Catalog {
        state.withLock { Catalog(entries: $0.entries, spec: $0.spec, quantizer: $0.quantizer?.value) }
    }

    struct State {
        var spec: IndexSpec?
        var entries: [UInt64: Entry] = [:]
        /// The trained, empty IVF index whose centroids every segment's lists share.
        var quantizer: UncheckedSendable<IVFIndex>?
        var building = false
        /// Set when the collection closes: background builds stop.
        var stopped = false
    }

    let directory: String
    package let metric: Metric
    package let dimension: Int
    let fs: FileSystem
    let state = Lock(State())
    /// Held while indexes are built and written, so the background builder and an explicit
    /// refresh never write the same file at once.
    let buildLock = Lock(())
    /// Builds indexes for segments sealed after the index was created, off the write path.
    let queue = DispatchQueue(label: "vecdb.index-builder", qos: .utility)

    static let quantizerFileName = "ivf-quantizer.idx"

    package init(directory: String, metric: Metric, dimension: Int, fs: FileSystem = .system) {
        self.directory = directory
        self.metric = metric
        self.dimension = dimension
        self.fs = fs
    }

    var specPath: String { directory + "/" + IndexSpec.fileName }

    /// The spec of the index kept, or nil.
    package var spec: IndexSpec? { state.withLock { $0.spec } }
    var quantizerPath: String { directory + "/" + Self.quantizerFileName }
    static func segmentSuffix(_ id: UInt64) -> String { String(Segment.fileName(id: id).dropFirst(4).dropLast(4)) }
    static func graphFileName(_ id: UInt64) -> String { "hnsw-" + segmentSuffix(id) + ".idx" }
    static func listsFileName(_ id: UInt64) -> String { "ivf-" + segmentSuffix(id) + ".idx" }
    func graphPath(_ id: UInt64) -> String { directory + "/" + Self.graphFileName(id) }
    func listsPath(_ id: UInt64) -> String { directory + "/" + Self.listsFileName(id) }

    /// Reads the spec and maps the indexes of `snapshot`'s segments, checking each file's body
    /// checksum (a graph's links are followed without bounds checks, so they must be the ones
    /// written). A damaged spec is an error; a damaged segment index is dropped and rebuilt later. A damaged IVF quantiser file means
    /// the lists are retrained by the next refresh.
    package func load(_ snapshot: Snapshot) throws(VecDBError) {
        guard fs.exists(specPath) else { return }
        let spec = try IndexSpec(bytes: try fs.readAll(specPath), path: specPath)
        var entries: [UInt64: Entry] = [:]
        var quantizer: IVFIndex?
        switch spec.kind {
        case .hnsw(let parameters):
            for v in snapshot.segments {
                let path = graphPath(v.segment.id)
                guard fs.exists(path) else { continue }
                // A graph built with other parameters is rebuilt.
                if let g = try? HNSWGraph.open(path, vectors: v.segment.storedRows(), metric: metric, fs: fs, verifyBody: true),
                    g.count == v.segment.count,
                    g.parameters == parameters
                {
                    entries[v.segment.id] = Entry(segment: v.segment, index: .graph(g))
                }
            }
        case .ivf(let parameters):
            if let q = try? IVFIndex.open(quantizerPath, fs: fs, verifyBody: true), q.isTrained, q.encoding == parameters.encoding,
                q.nlist == parameters.nlist, q.metric == metric, q.dimension == dimension
            {
                quantizer = q
                for v in snapshot.segments {
                    let path = listsPath(v.segment.id)
                    guard fs.exists(path) else { continue }
                    if let lists = try? IVFIndex.open(path, fs: fs, verifyBody: true), lists.count == v.segment.count,
                        lists.sharesTraining(with: q)
                    {
                        entries[v.segment.id] = Entry(segment: v.segment, index: .ivf(lists))
                    }
                }
            }
        }
        state.withLock {
            $0.spec = spec
            $0.entries = entries
            $0.quantizer = quantizer.map(UncheckedSendable.init)
        }
    }

    /// Records the spec durably, trains the IVF centroids when the spec asks for IVF, and
    /// builds an index for every segment of `snapshot`.
    ///
    /// The old index (files included) stays usable until the new one is recorded.
    package func create(
        _ spec: IndexSpec, snapshot: Snapshot, threads: Int, retrain: Bool = false,
        progress: (@Sendable (Int, Int) -> Void)?
    ) throws(VecDBError) {
        try buildLock.withLock { (_: inout ()) throws(VecDBError) in
            var quantizer: IVFIndex?
            switch spec.kind {
            case .hnsw(let p):
                try p.validate()
            case .ivf(let p):
                try p.validate(dimension: dimension)
                let current = state.withLock { s in s.spec?.kind == spec.kind ? s.quantizer?.value : nil }
                if let current, !retrain {
                    quantizer = current
                } else {
                    let q = try train(p, snapshot: snapshot, threads: threads)
                    try q.write(to: quantizerPath, fs: fs)
                    quantizer = q
                }
            }
            // Only the kind and its parameters (or a retrained quantiser) need new indexes; a new
            // default search width is just recorded.
            let (changed, sameSpec) = state.withLock { s -> (Bool, Bool) in
                (
                    s.spec?.kind != spec.kind || quantizer.map { q in s.quantizer.map { $0.value !== q } ?? true } ?? false,
                    s.spec == spec
                )
            }
            guard changed else {
                if !sameSpec || !fs.exists(specPath) { try fs.replaceAtomically(specPath, with: spec.bytes()) }
                state.withLock { $0.spec = spec }
                try refreshLocked(snapshot, threads: threads, progress: progress)
                return
            }
            // A new index: every segment's is built aside while searches keep using the old
            // ones, then the spec, quantiser and indexes are swapped in at once. (Old files are
            // replaced by rename, so the old mappings stay valid until they are dropped.)
            let total = snapshot.segments.reduce(0) { $0 + $1.segment.count }
            var done = 0
            var fresh: [UInt64: Entry] = [:]
            for v in snapshot.segments {
                if let index = try build(
                    v, spec: spec, quantizer: quantizer, threads: threads, done: done, total: total, progress: progress)
                {
                    fresh[v.segment.id] = Entry(segment: v.segment, index: index)
                }
                done += v.segment.count
                progress?(done, total)
            }
            try fs.replaceAtomically(specPath, with: spec.bytes())
            state.withLock {
                $0.spec = spec
                $0.quantizer = quantizer.map(UncheckedSendable.init)
                $0.entries = fresh
            }
            progress?(total, total)
            removeOrphans(live: Set(snapshot.segments.map(\.segment.id)), spec: spec)
        }
    }

    /// Builds and writes one segment's index; nil for IVF without a trained quantiser.
    func build(
        _ v: SegmentView, spec: IndexSpec, quantizer: IVFIndex?, threads: Int, done: Int, total: Int,
        progress: (@Sendable (Int, Int) -> Void)?
    ) throws(VecDBError) -> Index? {
        let id = v.segment.id
        switch spec.kind {
        case .hnsw(let p):
            let g = try HNSWGraph.build(
                vectors: v.segment.storedRows(), metric: metric, parameters: p, threads: threads,
                progress: progress.map { p in { @Sendable n in p(done + n, total) } })
            try g.write(to: graphPath(id), fs: fs)
            return .graph(g)
        case .ivf:
            guard let quantizer else { return nil }
            let lists = try quantizer.emptyCopy()
            try lists.add(v.segment.rows(), threads: threads)
            try lists.write(to: listsPath(id), fs: fs)
            return .ivf(lists)
        }
    }

    /// Trains IVF centroids and quantiser on up to `maxSample` live rows of `snapshot`, evenly
    /// spaced over its segments.
    func train(_ p: IVFIndex.Parameters, snapshot: Snapshot, threads: Int) throws(VecDBError) -> IVFIndex {
        let live = snapshot.segments.reduce(0) { $0 + $1.liveCount }
        let needed = max(p.nlist, p.encoding == .flat || p.encoding == .sq8 ? 1 : ProductQuantizer.ksub)
        guard live >= needed else {
            throw VecDBError(
                .invalidArgument,
                "an IVF index with nlist \(p.nlist)\(needed > p.nlist ? " and PQ" : "") needs at least \(needed) stored vectors to train on; the collection holds \(live)"
            )
        }
        let step = max(1, live / p.maxSample)
        var sample = [Float]()
        sample.reserveCapacity((live / step + 1) * dimension)
        var ordinal = 0
        for v in snapshot.segments {
            let rows = v.segment.rows()
            for r in 0..<v.segment.count where !v.dead.contains(r) {
                if ordinal % step == 0 { sample.append(contentsOf: UnsafeBufferPointer(start: rows[r], count: dimension)) }
                ordinal += 1
            }
        }
        let index = try IVFIndex(metric: metric, dimension: dimension, nlist: p.nlist, encoding: p.encoding)
        let kp = KMeans.Parameters(iterations: p.iterations, maxSample: p.maxSample, seed: p.seed, threads: max(1, threads))
        try RowMatrix.with(sample, dimension: dimension) { (m) throws(VecDBError) in try index.train(m, parameters: kp) }
        return index
    }

    /// Builds the indexes `snapshot` is missing, drops those of segments that are gone, and
    /// removes their files.
    package func refresh(_ snapshot: Snapshot, threads: Int, progress: (@Sendable (Int, Int) -> Void)? = nil) throws(VecDBError) {
        try buildLock.withLock { (_: inout ()) throws(VecDBError) in try refreshLocked(snapshot, threads: threads, progress: progress) }
    }

    func refreshLocked(_ snapshot: Snapshot, threads: Int, progress: (@Sendable (Int, Int) -> Void)?) throws(VecDBError) {
        guard var spec = self.spec else { return }
        if case .ivf(let p) = spec.kind, state.withLock({ $0.quantizer == nil }) {
            // The quantiser file was lost or damaged: train again from the data.
            let q = try train(p, snapshot: snapshot, threads: threads)
            try q.write(to: quantizerPath, fs: fs)
            state.withLock {
                $0.quantizer = UncheckedSendable(q)
                $0.entries = [:]
            }
            spec = self.spec ?? spec
        }
        let (have, quantizer) = state.withLock { (Set($0.entries.keys), $0.quantizer?.value) }
        let total = snapshot.segments.reduce(0) { $0 + $1.segment.count }
        var done = 0
        for v in snapshot.segments {
            let id = v.segment.id
            if have.contains(id) {
                done += v.segment.count
                continue
            }
            if state.withLock({ $0.stopped }) { return }
            guard
                let index = try build(
                    v, spec: spec, quantizer: quantizer, threads: threads, done: done, total: total,
                    progress: progress)
            else { return }
            state.withLock { $0.entries[id] = Entry(segment: v.segment, index: index) }
            done += v.segment.count
            progress?(done, total)
        }
        progress?(total, total)
        let live = Set(snapshot.segments.map(\.segment.id))
        state.withLock { s in s.entries = s.entries.filter { live.contains($0.key) } }
        removeOrphans(live: live, spec: spec)
    }

    /// Deletes index files whose segment no longer exists or that belong to another index
    /// type, and temporary files of interrupted writes.
    func removeOrphans(live: Set<UInt64>, spec: IndexSpec) {
        guard let names = try? fs.list(directory) else { return }
        var keep: Set<String>
        switch spec.kind {
        case .hnsw: keep = Set(live.map(Self.graphFileName))
        case .ivf: keep = Set(live.map(Self.listsFileName)).union([Self.quantizerFileName])
        }
        for n in names where (n.hasPrefix("hnsw-") || n.hasPrefix("ivf-")) && !keep.contains(n) {
            try? fs.unlink(directory + "/" + n)
        }
    }

    /// Stops background builds: the one running ends after its current segment, none starts
    /// again. A database calls it when it closes, because another process may then take the
    /// lock and write the same directory, which a build still running here would race (its
    /// clean-up of orphan files would remove the other's temporary files).
    package func stopBackgroundBuilds() {
        state.withLock { $0.stopped = true }
        queue.sync {}
    }

    /// Starts building missing indexes in the background, once at a time.
    package func refreshInBackground(_ current: @escaping @Sendable () -> Snapshot) {
        let start = state.withLock { s -> Bool in
            guard s.spec != nil, !s.building, !s.stopped else { return false }
            s.building = true
            return true
        }
        guard start else { return }
        queue.async {
            try? self.refresh(current(), threads: 1)
            self.state.withLock { $0.building = false }
        }
    }

    package func needsRefreshSegment(_ id: UInt64) -> Bool {
        state.withLock { $0.spec != nil && $0.entries[id] == nil }
    }

    package func needsRefresh(_ snapshot: Snapshot) -> Bool {
        state.withLock { s in s.spec != nil && snapshot.segments.contains { s.entries[$0.segment.id] == nil } }
    }

    /// The mean squared distance of indexed rows to their IVF centroids over that of the
    /// training sample; nil without an IVF index or rows.
    package var drift: Double? {
        state.withLock { s -> Double? in
            guard let q = s.quantizer?.value, q.trainingMeanDistance > 0 else { return nil }
            var sum = 0.0
            var count = 0
            for e in s.entries.values {
                if case .ivf(let lists) = e.index {
                    let t = lists.driftTotals
                    sum += t.sum
                    count += t.count
                }
            }
            return count > 0 ? sum / Double(count) / q.trainingMeanDistance : nil
        }
    }

    /// Rows per IVF list over every indexed segment; nil without an IVF index.
    package var listSizes: [Int]? {
        state.withLock { s -> [Int]? in
            guard let q = s.quantizer?.value else { return nil }
            var sizes = [Int](repeating: 0, count: q.nlist)
            for e in s.entries.values {
                if case .ivf(let lists) = e.index {
                    for (i, n) in lists.listSizes.enumerated() { sizes[i] += n }
                }
            }
            return sizes
        }
    }
}
