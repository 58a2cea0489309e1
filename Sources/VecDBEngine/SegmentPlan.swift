import VecDBIndex
import VecDBKernels
import VecDBStorage

/// How one segment is searched for one query: the planner's decision, which the engine then
/// executes.
///
/// ```
///   no filter:
///     segment has an index built for it?  no -> exact scan of the live rows
///                                         yes -> the index, at the query's width
///   filter resolved to the segment's matching live rows (a bitmap), planned from its count:
///     0 matches                         -> skip the segment
///     few (cheaper to compare them all) -> exact scan of the matching rows (also exact)
///     HNSW, 1 / M ≤ selectivity < 0.4,  -> the two-hop walk over the matching rows, query's ef
///       rows long enough (twoHopPays)
///     HNSW, otherwise                   -> the routing walk (distances to every node it
///                                          reaches), or the exact scan when that is cheaper
///     IVF                               -> nprobe widened by the selectivity, or the exact scan
///     no index built                    -> the listed rows, or the gated scan when most match
/// ```
///
/// The costs are counted in distance computations. The two-hop walk (see
/// ``HNSWGraph/search(_:k:ef:admitted:)``) computes about as many as an unfiltered search,
/// about `4·ef·M`; it needs the matching rows dense enough that two hops of `2·M` links reach
/// new ones, hence the bound on the selectivity. The routing walk goes on until it holds `ef`
/// matching nodes: about `ef / selectivity` expansions of about `M` new distances each. The
/// exact scan computes one per matching row, read in order.
package enum SegmentPlan {
    /// No row of the segment can be returned.
    case skip
    /// Compare every row that `allow` admits (all when nil).
    case exact(allow: ((Int) -> Bool)?)
    /// Compare exactly these rows (ascending).
    case exactRows([UInt32])
    /// Search the segment's HNSW graph with candidate list `ef`, routing through every node and
    /// returning those `allow` admits.
    case graph(HNSWGraph, ef: Int, allow: ((Int) -> Bool)?)
    /// Search the segment's HNSW graph with candidate list `ef` by the two-hop walk over the
    /// rows set in `rows`.
    case admitted(HNSWGraph, ef: Int, rows: RowBitmap)
    /// Scan `nprobe` of the segment's IVF lists.
    case lists(IVFIndex, nprobe: Int, allow: ((Int) -> Bool)?)

    /// The selectivity from which the routing walk replaces the two-hop walk. The routing walk
    /// keeps the graph's full degree, the two-hop walk only the admitted share of it, which
    /// costs recall per distance where the data's intrinsic dimension is high; the routing
    /// walk's own cost grows as 1 / selectivity. Measured (docs/indexes.md): at 50 % the
    /// routing walk cost 1.0× the unfiltered p50 on 32-d Gaussian data and 1.4× on
    /// Fashion-MNIST, the two-hop walk 1.7–1.9× and 1.2–1.3×; at 10 % the routing walk cost
    /// 3.7–3.9× on Fashion-MNIST, the two-hop walk 1.2×.
    static let routingAbove = 0.4

    /// Whether the two-hop walk beats the routing walk at this selectivity: it saves distance
    /// computations and pays in link lists read, so it needs a row to cost more cache lines than
    /// the link lists it reads per expansion, `κ · h` of them: `h = 1 + (1 − 2s) / 2s` lists
    /// (its own, then second hops until `M` matching rows are found among `2·M` links each),
    /// and `κ = 2` for the wider candidate list it needs for the same recall (measured on
    /// GloVe-50, docs/indexes.md). So 784-d Float32 rows (49 lines) take it from 6.25 %
    /// with M = 16, 50-d rows (4 lines) never.
    package static func twoHopPays(selectivity s: Double, m: Int, rowBytes: Int) -> Bool {
        let rowLines = Double((rowBytes + 63) / 64)
        let linkLines = Double((4 * (1 + 2 * m) + 63) / 64)
        let hops = 1 + max(0, 1 - 2 * s) / (2 * s)
        return rowLines >= 2 * hops * linkLines
    }

    /// Chooses how to search `view` with no filter: only its deleted rows are kept out.
    /// - Parameter entry: the segment's index, when one is built for this very segment.
    package static func choose(for view: SegmentView, entry: SegmentIndexes.Entry?, request: SearchRequest) -> SegmentPlan {
        let dead = view.dead
        let allow: ((Int) -> Bool)? = dead.count > 0 ? { !dead.contains($0) } : nil
        guard let entry, entry.segment === view.segment else { return .exact(allow: allow) }
        switch entry.index {
        case .graph(let g): return .graph(g, ef: max(request.ef, request.k), allow: allow)
        case .ivf(let lists): return .lists(lists, nprobe: request.nprobe, allow: allow)
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
            let ef = max(request.ef, request.k)
            let m = g.parameters.m
            if matches == n { return .graph(g, ef: ef, allow: nil) }
            let expansions = min(n, Int(Double(ef) / selectivity))
            if selectivity < Self.routingAbove && selectivity * Double(m) >= 1
                && Self.twoHopPays(selectivity: selectivity, m: m, rowBytes: g.vectors.rowBytes)
            {
                return matches <= 4 * ef * m ? .exactRows(rows.members) : .admitted(g, ef: ef, rows: rows)
            }
            if matches <= expansions * m { return .exactRows(rows.members) }
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
}
