import VecDBIndex
import VecDBKernels
import VecDBStorage

/// How one segment is searched for one query: the planner's decision, which the engine then
/// executes.
///
/// ```
///   segment has an index built for it?
///     no  -> exact scan of the live (and admitted) rows
///     yes -> no filter           -> the index, at the query's width
///            filter, 0 matches   -> skip the segment
///            filter, few matches -> exact scan of the matching rows (faster, and exact)
///              (≤ 16 × max(ef, k) rows, or under 2 % of the segment)
///            filter, many        -> the index, restricted to matching rows, its width
///                                   (ef or nprobe) divided by the selectivity
/// ```
///
/// A filter resolved to a row bitmap (``FilterRows``) is planned from its count alone: the
/// exact scan of just the matching rows (``exactRows``) when it reads fewer vectors than the
/// index search would (HNSW: about `M` new distances per expansion, and `ef / selectivity` expansions,
/// since the graph search goes on until it holds `ef` admitted nodes; IVF: the rows of the
/// probe widened by the selectivity), the index otherwise, HNSW at the query's own `ef`.
package enum SegmentPlan {
    /// No row of the segment can be returned.
    case skip
    /// Compare every row that `allow` admits (all when nil).
    case exact(allow: ((Int) -> Bool)?)
    /// Compare exactly these rows (ascending).
    case exactRows([UInt32])
    /// Search the segment's HNSW graph with candidate list `ef`.
    case graph(HNSWGraph, ef: Int, allow: ((Int) -> Bool)?)
    /// Scan `nprobe` of the segment's IVF lists.
    case lists(IVFIndex, nprobe: Int, allow: ((Int) -> Bool)?)

    /// Chooses how to search `view`.
    ///
    /// - Parameters:
    ///   - entry: the segment's index, when one is built for this very segment.
    ///   - allow: the row gate (deleted rows, then the payload filter), nil when every row passes.
    ///   - filtered: whether a payload filter takes part in `allow` (deleted rows alone do not
    ///     call for counting matches).
    /// - Complexity: O(rows) payload checks when `filtered` and the segment is indexed.
    package static func choose(
        for view: SegmentView, entry: SegmentIndexes.Entry?, request: SearchRequest,
        allow: ((Int) -> Bool)?, filtered: Bool
    ) -> SegmentPlan {
        guard let entry, entry.segment === view.segment else { return .exact(allow: allow) }
        let n = view.segment.count
        var selectivity = 1.0
        var gate = allow
        if let allow, filtered {
            let (pass, matches) = Self.matches(n, allow)
            if matches == 0 { return .skip }
            selectivity = Double(matches) / Double(n)
            if matches <= 16 * max(request.ef, request.k) || selectivity < 0.02 {
                return .exact(allow: { pass[$0] })
            }
            gate = { pass[$0] }
        }
        switch entry.index {
        case .graph(let g):
            let base = max(request.ef, request.k)
            let width = selectivity < 1 ? min(n, Int(Double(base) / selectivity)) : base
            return .graph(g, ef: width, allow: gate)
        case .ivf(let lists):
            let width =
                selectivity < 1
                ? min(lists.nlist, Int((Double(request.nprobe) / selectivity).rounded(.up))) : request.nprobe
            return .lists(lists, nprobe: width, allow: gate)
        }
    }

    /// Chooses how to search `view` for a filter resolved to `rows` (its live matching rows).
    package static func choose(
        for view: SegmentView, entry: SegmentIndexes.Entry?, request: SearchRequest, rows: RowBitmap
    ) -> SegmentPlan {
        let n = view.segment.count
        let matches = rows.count
        if matches == 0 { return .skip }
        let allow: ((Int) -> Bool)? = matches == n ? nil : { rows.contains($0) }
        guard let entry, entry.segment === view.segment else {
            return matches * 4 < n ? .exactRows(rows.members) : .exact(allow: allow)
        }
        let selectivity = Double(matches) / Double(n)
        switch entry.index {
        case .graph(let g):
            // The graph search keeps exploring until it holds `ef` admitted nodes, so it widens
            // by itself: about ef / selectivity expansions, each computing about M new distances
            // (of its up to 2·M neighbours, the rest already visited), read at random, against
            // the matching rows read in order by the exact scan.
            let ef = max(request.ef, request.k)
            let expansions = selectivity < 1 ? min(n, Int(Double(ef) / selectivity)) : ef
            if matches <= expansions * g.parameters.m { return .exactRows(rows.members) }
            return .graph(g, ef: ef, allow: allow)
        case .ivf(let lists):
            // Lists do not adapt: nprobe is widened by the selectivity.
            let width =
                selectivity < 1
                ? min(lists.nlist, Int((Double(request.nprobe) / selectivity).rounded(.up))) : request.nprobe
            if Double(matches) <= Double(width) * Double(n) / Double(max(1, lists.nlist)) { return .exactRows(rows.members) }
            return .lists(lists, nprobe: width, allow: allow)
        }
    }

    /// Counts a segment's rows that `allow` admits; returns the admission table and the count.
    static func matches(_ n: Int, _ allow: (Int) -> Bool) -> ([Bool], Int) {
        var pass = [Bool](repeating: false, count: n)
        var matches = 0
        for r in 0..<n where allow(r) {
            pass[r] = true
            matches += 1
        }
        return (pass, matches)
    }
}
