import Dispatch
import VecDBIndex
import VecDBKernels
import VecDBStorage

/// Runs searches over a collection's snapshot: plans each segment (``SegmentPlan``), executes
/// the plans into one shared top-k heap, scans the memtable, and merges the hits.
///
/// The call path only goes down: the facade validates and compiles a ``SearchRequest``, the
/// engine reads the snapshot's segments, memtable rows and tombstones (storage), and calls the
/// segment's index or the exact kernels (index, kernels). Storage knows nothing of indexes.
///
/// Hit ids inside the heap are `segment ordinal << 32 | row`; the memtable's ordinal is the
/// segment count.
package struct QueryEngine: Sendable {
    package let indexes: SegmentIndexes

    package init(indexes: SegmentIndexes) {
        self.indexes = indexes
    }

    /// The `request.k` live rows of `snapshot` nearest to the query that pass its filter,
    /// nearest first.
    ///
    /// - Throws: ``VecDBError/Code/corruptFile`` when a segment's vectors fail their first-use
    ///   check, or the payload block of a hit is damaged.
    /// - Complexity: per segment, as its ``SegmentPlan``; O(memtable rows × dimension) more.
    package func search(_ request: SearchRequest, in snapshot: Snapshot) throws(VecDBError) -> [StoredHit] {
        try search(request, in: snapshot, catalog: indexes.catalog)
    }

    /// Searches every query of `requests` over one snapshot and one index catalog, on up to
    /// `threads` threads; results are in the order of `requests`.
    ///
    /// - Throws: the first error any query met (the others are still run).
    package func search(
        _ requests: [SearchRequest], in snapshot: Snapshot, threads: Int
    ) throws(VecDBError) -> [[StoredHit]] {
        let catalog = indexes.catalog
        let workers = max(1, min(threads, requests.count))
        if workers == 1 {
            return try requests.map { r throws(VecDBError) in try search(r, in: snapshot, catalog: catalog) }
        }
        let results = ResultSlots(count: requests.count)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var i = w
            while i < requests.count {
                do throws(VecDBError) {
                    results.set(i, .success(try search(requests[i], in: snapshot, catalog: catalog)))
                } catch {
                    results.set(i, .failure(error))
                }
                i += workers
            }
        }
        return try results.collect()
    }

    func search(_ request: SearchRequest, in snapshot: Snapshot, catalog: SegmentIndexes.Catalog) throws(VecDBError) -> [StoredHit] {
        try snapshot.verifySegmentsOnFirstUse()
        let metric = snapshot.metric
        let es = ExactSearch(metric: metric, dimension: snapshot.dimension, rowsNormalized: metric == .cosine)
        let q = es.prepare(request.query)
        var heap = TopKHeap(k: request.k)
        let rerank = catalog.spec?.ivf?.rerank ?? 0
        // IVF lists share the quantiser's centroids, so the lists to probe are found once per
        // query (and width), by the quantiser, which alone keeps the structures that make it cheap.
        var probes: (nprobe: Int, lists: [(list: Int, distance: Float)])?
        q.withUnsafeBufferPointer { qp in
            guard let qb = qp.baseAddress else { return }
            for (ordinal, view) in snapshot.segments.enumerated() {
                let idBase = UInt64(ordinal) << 32
                let entry = request.exact ? nil : catalog.entries[view.segment.id]
                let plan: SegmentPlan
                if let filter = request.rows {
                    // The resolver names every segment of the snapshot; one it does not name
                    // has no matching row.
                    guard var live = filter.segments[view.segment.id] else { continue }
                    live.subtract(view.dead)
                    plan = SegmentPlan.choose(for: view, entry: entry, request: request, rows: live)
                } else {
                    plan = SegmentPlan.choose(for: view, entry: entry, request: request)
                }
                switch plan {
                case .skip:
                    continue
                case .exact(let allow):
                    view.segment.scan(prepared: qb, using: es, idBase: idBase, allow: allow, heap: &heap)
                case .exactRows(let rows):
                    view.segment.scan(prepared: qb, using: es, idBase: idBase, rows: rows, heap: &heap)
                case .graph(let g, let ef, let allow):
                    let allowNode: ((UInt32) -> Bool)? = allow.map { a in { a(Int($0)) } }
                    for hit in g.search(qb, k: heap.k, ef: ef, allow: allowNode) {
                        heap.push(distance: hit.distance, id: idBase | hit.id)
                    }
                case .admitted(let g, let ef, let rows):
                    let hits = rows.words.withUnsafeBufferPointer { g.search(qb, k: heap.k, ef: ef, admitted: $0) }
                    if hits.count < min(heap.k, rows.count) {
                        // The walk could not reach enough matching rows (they are scattered
                        // far apart in the graph): the exact scan of them always can.
                        view.segment.scan(prepared: qb, using: es, idBase: idBase, rows: rows.members, heap: &heap)
                    } else {
                        for hit in hits { heap.push(distance: hit.distance, id: idBase | hit.id) }
                    }
                case .lists(let lists, let nprobe, let allow):
                    if probes == nil || probes?.nprobe != nprobe {
                        probes = (nprobe, (catalog.quantizer ?? lists).probes(qb, nprobe: nprobe))
                    }
                    let allowID: ((UInt32) -> Bool)? = allow.map { a in { a(Int($0)) } }
                    let exact = rerank > 0 ? IVFIndex.Rerank(vectors: view.segment.rows(), candidates: rerank) : nil
                    lists.search(prepared: qb, probes: probes?.lists ?? [], allow: allowID, rerank: exact, idBase: idBase, into: &heap)
                }
            }
            let memAllow = Self.memtableGate(snapshot, rows: request.rows?.memtable)
            es.scan(prepared: qb, rows: snapshot.memtableRows, idBase: UInt64(snapshot.segments.count) << 32, allow: memAllow, heap: &heap)
        }
        var hits: [StoredHit] = []
        hits.reserveCapacity(heap.count)
        for n in heap.sorted() {
            hits.append(
                try snapshot.hit(ordinal: Int(n.id >> 32), row: Int(n.id & 0xFFFF_FFFF), distance: n.distance, payload: request.payloads))
        }
        return hits
    }

    /// The row gate of the memtable rows of `snapshot`: live rows, and with a filter, the
    /// matching ones. Nil when every row passes.
    static func memtableGate(_ snapshot: Snapshot, rows: RowBitmap?) -> ((Int) -> Bool)? {
        let dead = snapshot.memDead
        if let rows {
            var live = rows
            live.subtract(dead)
            return { live.contains($0) }
        }
        return dead.count > 0 ? { r in !dead.contains(r) } : nil
    }
}

/// One slot per query of a batch, each written by exactly one worker.
final class ResultSlots: @unchecked Sendable {
    // Safe: worker w writes only slots i ≡ w (mod workers), each slot once, and `collect` runs
    // after `concurrentPerform` has returned. Raw storage, so no exclusivity check spans slots.
    private let slots: UnsafeMutablePointer<Result<[StoredHit], VecDBError>?>
    private let count: Int

    init(count: Int) {
        self.count = count
        slots = .allocate(capacity: max(1, count))
        slots.initialize(repeating: nil, count: count)
    }

    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }

    func set(_ i: Int, _ r: Result<[StoredHit], VecDBError>) { slots[i] = r }

    func collect() throws(VecDBError) -> [[StoredHit]] {
        var out: [[StoredHit]] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            switch slots[i] {
            case .success(let hits)?: out.append(hits)
            case .failure(let e)?: throw e
            case nil: throw VecDBError(.io, "a batch search worker produced no result")
            }
        }
        return out
    }
}
