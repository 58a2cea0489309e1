import VecDBEngine
import VecDBKernels
import VecDBStorage

/// Resolves a ``Filter`` to the rows it admits in each segment and in the memtable of one
/// snapshot: the query plan of a filtered search, `delete(where:)` and `count(where:)`.
///
/// A comparison, `in` or `exists` on an indexed field is answered by the field's index (its
/// irregular rows, of another type, are checked against their payloads); `and`, `or` and `not`
/// are bit operations. A term on a field without an index is checked row by row, on the rows
/// still possible: in `a and b` the indexed side is resolved first, and the other is checked
/// only on its matches; a subexpression with no indexed field is tested whole, one payload
/// decode per row.
struct FilterResolver {
    let filter: Filter
    let indexes: PayloadIndexes

    /// The rows of every segment of `snapshot` and of its memtable that `filter` admits
    /// (deleted rows may be among them; the caller removes them).
    ///
    /// - Throws: ``VecDBError/Code/corruptFile`` for a damaged payload block that the filter
    ///   must read, I/O errors building an index.
    func resolve(_ snapshot: Snapshot) throws(VecDBError) -> FilterRows {
        var segments: [UInt64: RowBitmap] = [:]
        let defs = indexes.definitions
        for view in snapshot.segments {
            var live = RowBitmap(rowCount: view.segment.count, full: true)
            live.subtract(view.dead)
            var source = SegmentRows(view: view, indexes: indexes, definitions: defs)
            segments[view.segment.id] = try evaluate(filter, within: live, in: &source)
        }
        var live = RowBitmap(rowCount: snapshot.memCount, full: true)
        live.subtract(snapshot.memDead)
        var mem = MemtableRows(view: indexes.memtable(snapshot), definitions: defs)
        let memtable = try evaluate(filter, within: live, in: &mem)
        return FilterRows(segments: segments, memtable: memtable)
    }

    /// The rows of `within` that `f` admits.
    func evaluate<S: FilterRowSource>(_ f: Filter, within: RowBitmap, in source: inout S) throws(VecDBError) -> RowBitmap {
        // No index helps anywhere in `f`: one payload decode and one test per row.
        if !source.hasIndexedTerm(f) { return try rowByRow(f, within: within, in: &source) }
        switch f {
        case .and(let a, let b):
            // The side an index answers first; the other is then checked on fewer rows.
            let (first, second) = source.isIndexed(a) || !source.isIndexed(b) ? (a, b) : (b, a)
            let left = try evaluate(first, within: within, in: &source)
            if left.isEmpty { return left }
            return try evaluate(second, within: left, in: &source)
        case .or(let a, let b):
            var left = try evaluate(a, within: within, in: &source)
            var rest = within
            rest.subtract(left)
            if !rest.isEmpty { left.formUnion(try evaluate(b, within: rest, in: &source)) }
            return left
        case .not(let a):
            var out = within
            out.subtract(try evaluate(a, within: within, in: &source))
            return out
        case .compare(_, .notEqual, let v):
            guard case .compare(let path, _, _) = f else { return within }
            var out = within
            out.subtract(try evaluate(.compare(path, .equal, v), within: within, in: &source))
            return out
        default:
            if var rows = try source.indexed(f) {
                rows.formIntersection(within)
                return rows
            }
            return try rowByRow(f, within: within, in: &source)
        }
    }

    func rowByRow<S: FilterRowSource>(_ f: Filter, within: RowBitmap, in source: inout S) throws(VecDBError) -> RowBitmap {
        var out = RowBitmap(rowCount: within.rowCount)
        try within.forEachMember { (r: Int) throws(VecDBError) in
            if f.matches(try source.payload(r)) { out.insert(r) }
        }
        return out
    }
}

/// Rows a filter is resolved over: one segment, or the memtable.
protocol FilterRowSource {
    /// Whether every term of `f` is answered by an index.
    func isIndexed(_ f: Filter) -> Bool
    /// The rows a single term (comparison other than `!=`, `in`, `exists`) admits, from an
    /// index; nil when its field has none.
    mutating func indexed(_ term: Filter) throws(VecDBError) -> RowBitmap?
    /// Row `r`'s payload, decoded.
    mutating func payload(_ r: Int) throws(VecDBError) -> Payload?
    /// Whether some term of `f` is answered by an index.
    func hasIndexedTerm(_ f: Filter) -> Bool
}

extension FilterRowSource {
    static func termPath(_ f: Filter) -> [String]? {
        switch f {
        case .compare(let p, _, _), .isIn(let p, _), .exists(let p): p
        default: nil
        }
    }

    func isIndexed(_ f: Filter, _ has: ([String]) -> Bool) -> Bool {
        switch f {
        case .and(let a, let b), .or(let a, let b): isIndexed(a, has) && isIndexed(b, has)
        case .not(let a): isIndexed(a, has)
        default: Self.termPath(f).map(has) ?? false
        }
    }

    func hasIndexedTerm(_ f: Filter, _ has: ([String]) -> Bool) -> Bool {
        switch f {
        case .and(let a, let b), .or(let a, let b): hasIndexedTerm(a, has) || hasIndexedTerm(b, has)
        case .not(let a): hasIndexedTerm(a, has)
        default: Self.termPath(f).map(has) ?? false
        }
    }
}

/// A segment's rows, through its payload indexes.
struct SegmentRows: FilterRowSource {
    let view: SegmentView
    let indexes: PayloadIndexes
    let definitions: [PayloadIndexDefinition]

    func isIndexed(_ f: Filter) -> Bool { isIndexed(f) { p in definitions.contains { $0.path == p } } }
    func hasIndexedTerm(_ f: Filter) -> Bool { hasIndexedTerm(f) { p in definitions.contains { $0.path == p } } }

    mutating func payload(_ r: Int) throws(VecDBError) -> Payload? {
        let s = view.segment
        let bytes = s.hasPayload(r) ? try s.payloads.payload(row: r) : nil
        return try bytes.map { (b: [UInt8]) throws(VecDBError) in try Payload(encoded: b) }
    }

    mutating func indexed(_ term: Filter) throws(VecDBError) -> RowBitmap? {
        guard let path = Self.termPath(term), let d = definitions.first(where: { $0.path == path }) else { return nil }
        let index = try indexes.index(d, segment: view.segment)
        var rows: RowBitmap
        switch term {
        case .compare(_, let op, let v): rows = index.typedRows(op, v)
        case .isIn(_, let vs): rows = index.typedRows(in: vs)
        case .exists: return index.present()
        default: return nil
        }
        // Values of another type: the term itself decides, on the payload.
        for r in index.irregular where !view.dead.contains(Int(r)) {
            if term.matches(try payload(Int(r))) { rows.insert(Int(r)) }
        }
        return rows
    }
}

/// The memtable's rows, through its in-memory index.
struct MemtableRows: FilterRowSource {
    let view: MemtablePayloadIndex.View
    let definitions: [PayloadIndexDefinition]

    func isIndexed(_ f: Filter) -> Bool { isIndexed(f) { p in definitions.contains { $0.path == p } } }
    func hasIndexedTerm(_ f: Filter) -> Bool { hasIndexedTerm(f) { p in definitions.contains { $0.path == p } } }

    mutating func payload(_ r: Int) throws(VecDBError) -> Payload? { view.payloads[r] }

    mutating func indexed(_ term: Filter) throws(VecDBError) -> RowBitmap? {
        guard let path = Self.termPath(term), let column = view.columns[path] else { return nil }
        var rows = RowBitmap(rowCount: view.rows)
        switch term {
        case .compare(_, .equal, let v):
            for r in view.byValue[path]?[v] ?? [] { if Int(r) < view.rows { rows.insert(Int(r)) } }
        case .isIn(_, let vs):
            for v in vs { for r in view.byValue[path]?[v] ?? [] where Int(r) < view.rows { rows.insert(Int(r)) } }
        case .exists:
            for r in 0..<view.rows where column[r] != nil { rows.insert(r) }
        case .compare(_, let op, let v):
            for r in 0..<view.rows {
                if let x = column[r], let o = Filter.order(x, v), SegmentPayloadIndex.holds(op, o) { rows.insert(r) }
            }
        default: return nil
        }
        return rows
    }
}
