import VecDBKernels
import VecDBStorage

/// What a payload index holds of its field, and so which filters it answers.
public enum PayloadIndexKind: String, Sendable, CaseIterable, Codable {
    /// Strings: `=`, `in` (by value), `<`, `<=`, `>`, `>=` (over the distinct values).
    case keyword
    /// Numbers that are whole and within Int64: `=`, `in`, ranges.
    case integer
    /// Any finite number that a Double holds exactly: `=`, `in`, ranges.
    case float
    /// `true` and `false`: `=`, `in`.
    case bool

    var code: UInt8 {
        switch self {
        case .keyword: 1
        case .integer: 2
        case .float: 3
        case .bool: 4
        }
    }

    init?(code: UInt8) {
        guard let k = Self.allCases.first(where: { $0.code == code }) else { return nil }
        self = k
    }
}

/// One payload index of a collection: a field (a dotted path) and its kind.
public struct PayloadIndexDefinition: Sendable, Hashable, CustomStringConvertible {
    /// The field, outermost name first (`["meta", "cat"]` for `meta.cat`).
    public var path: [String]
    /// What the index holds.
    public var kind: PayloadIndexKind
    /// A number unique in the collection, which names the index's files.
    var number: UInt32

    /// The field as filters spell it: `meta.cat`.
    public var field: String { path.joined(separator: ".") }

    public var description: String { "\(field) (\(kind.rawValue))" }
}

/// A field's value as an index of one kind stores it, or why it does not.
enum IndexedValue {
    case int(Int64)
    case double(Double)
    case string(String)
    /// Present, but not of the index's kind (null, another type, a number it cannot hold
    /// exactly): the row is kept in the index's irregular list and checked row by row.
    case irregular

    /// Classifies `value` for an index of `kind`.
    init(_ value: Payload, kind: PayloadIndexKind) {
        switch (kind, value) {
        case (.keyword, .string(let s)): self = .string(s)
        case (.bool, .bool(let b)): self = .int(b ? 1 : 0)
        case (.integer, .integer(let x)): self = .int(x)
        case (.integer, .unsigned(let u)): self = Int64(exactly: u).map { .int($0) } ?? .irregular
        case (.integer, .number(let d)): self = Int64(exactly: d).map { .int($0) } ?? .irregular
        case (.float, .number(let d)): self = d.isNaN ? .irregular : .double(d)
        case (.float, .integer(let x)): self = Double(exactly: x).map { .double($0) } ?? .irregular
        case (.float, .unsigned(let u)): self = Double(exactly: u).map { .double($0) } ?? .irregular
        default: self = .irregular
        }
    }
}

/// The payload index of one field over one segment's rows (or the memtable's first rows),
/// read in place from its file's mapping (format in `docs/file-format.md`, "Payload index").
///
/// Rows whose field is of the index's kind are sorted by value (keyword rows grouped by
/// distinct value, the distinct values sorted); rows where the field is present but of
/// another type are listed apart, for the caller to check row by row. Rows without the field
/// are in neither.
final class SegmentPayloadIndex: @unchecked Sendable {
    // Sendable: immutable after init; the storage it points into is kept alive by `owner`.
    let kind: PayloadIndexKind
    let path: [String]
    let segmentID: UInt64
    let rowCount: Int
    let typedCount: Int
    let distinctCount: Int
    private let owner: AnyObject
    private let values: UnsafeRawPointer  // Int64 or Double per typed row (integer, float, bool)
    private let rows: UnsafePointer<UInt32>  // typed rows, in value order
    private let irregularRows: UnsafePointer<UInt32>
    let irregularCount: Int
    private let stringOffsets: UnsafePointer<UInt32>  // keyword: distinctCount + 1
    private let stringBytes: UnsafePointer<UInt8>
    private let postingStarts: UnsafePointer<UInt32>  // keyword: distinctCount + 1
    /// The file's size in bytes.
    let byteCount: Int
    /// Keyword: the distinct values decoded, once, when a query first needs them.
    private let decodedStrings = Lock<[String]?>(nil)

    init(
        kind: PayloadIndexKind, path: [String], segmentID: UInt64, rowCount: Int, layout: PayloadIndexLayout,
        base: UnsafeRawPointer, byteCount: Int, owner: AnyObject
    ) {
        self.kind = kind
        self.path = path
        self.segmentID = segmentID
        self.rowCount = rowCount
        self.owner = owner
        self.byteCount = byteCount
        typedCount = layout.typedCount
        distinctCount = layout.distinctCount
        irregularCount = layout.irregularCount
        values = base + layout.valuesOffset
        rows = (base + layout.rowsOffset).assumingMemoryBound(to: UInt32.self)
        irregularRows = (base + layout.irregularOffset).assumingMemoryBound(to: UInt32.self)
        stringOffsets = (base + layout.stringOffsetsOffset).assumingMemoryBound(to: UInt32.self)
        stringBytes = (base + layout.stringBytesOffset).assumingMemoryBound(to: UInt8.self)
        postingStarts = (base + layout.postingStartsOffset).assumingMemoryBound(to: UInt32.self)
    }

    /// The rows where the field is present, whatever its value.
    func present() -> RowBitmap {
        var out = RowBitmap(rowCount: rowCount)
        for i in 0..<typedCount { out.insert(Int(rows[i])) }
        for i in 0..<irregularCount { out.insert(Int(irregularRows[i])) }
        return out
    }

    /// The rows of irregular values, which every caller checks against the payload itself.
    var irregular: UnsafeBufferPointer<UInt32> { UnsafeBufferPointer(start: irregularRows, count: irregularCount) }

    /// The typed rows whose value compares with `value` as `op` (`!=` is not asked: the caller
    /// takes the complement of `=`).
    func typedRows(_ op: Filter.Comparison, _ value: Payload) -> RowBitmap {
        var out = RowBitmap(rowCount: rowCount)
        switch kind {
        case .keyword:
            guard case .string(let s) = value else { return out }
            let all = strings
            if op == .equal {
                for d in equalStrings(s, in: all) { addPosting(d, to: &out) }
            } else {
                for (d, x) in all.enumerated() {
                    if let o = Filter.order(.string(x), value), Self.holds(op, o) { addPosting(d, to: &out) }
                }
            }
        case .bool:
            guard op == .equal, case .bool(let b) = value else { return out }
            let v: Int64 = b ? 1 : 0
            let ints = values.assumingMemoryBound(to: Int64.self)
            let lo = Self.partition(typedCount) { ints[$0] < v }
            let hi = Self.partition(typedCount) { ints[$0] <= v }
            for i in lo..<hi { out.insert(Int(rows[i])) }
        case .integer, .float:
            guard value.numeric != nil else { return out }
            let compare: (Int) -> Int?
            if kind == .integer {
                let ints = values.assumingMemoryBound(to: Int64.self)
                compare = { Payload.compareNumbers(.integer(ints[$0]), value) }
            } else {
                let doubles = values.assumingMemoryBound(to: Double.self)
                compare = { Payload.compareNumbers(.number(doubles[$0]), value) }
            }
            // A NaN compares with nothing: no typed row matches.
            guard typedCount == 0 || compare(0) != nil else { return out }
            let below = Self.partition(typedCount) { (compare($0) ?? 0) < 0 }
            let notAbove = Self.partition(typedCount) { (compare($0) ?? 0) <= 0 }
            let range: Range<Int>
            switch op {
            case .equal: range = below..<notAbove
            case .less: range = 0..<below
            case .lessOrEqual: range = 0..<notAbove
            case .greater: range = notAbove..<typedCount
            case .greaterOrEqual: range = below..<typedCount
            case .notEqual: range = 0..<0
            }
            for i in range { out.insert(Int(rows[i])) }
        }
        return out
    }

    static func holds(_ op: Filter.Comparison, _ order: Int) -> Bool {
        switch op {
        case .equal: order == 0
        case .notEqual: order != 0
        case .less: order < 0
        case .lessOrEqual: order <= 0
        case .greater: order > 0
        case .greaterOrEqual: order >= 0
        }
    }

    /// The first index in `0..<n` where `isBelow` turns false (it must be true, then false).
    static func partition(_ n: Int, _ isBelow: (Int) -> Bool) -> Int {
        var lo = 0
        var hi = n
        while lo < hi {
            let mid = (lo + hi) >> 1
            if isBelow(mid) { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Distinct value `d` of a keyword index, decoded from the file.
    func decodeString(_ d: Int) -> String {
        let start = Int(stringOffsets[d])
        let end = Int(stringOffsets[d + 1])
        return String(decoding: UnsafeBufferPointer(start: stringBytes + start, count: end - start), as: UTF8.self)
    }

    /// The distinct values of a keyword index, in their sorted order.
    var strings: [String] {
        decodedStrings.withLock { cached in
            if let cached { return cached }
            let all = (0..<distinctCount).map(decodeString)
            cached = all
            return all
        }
    }

    /// The distinct values equal to `s` (Swift's `==`, as filters compare strings; canonically
    /// equivalent spellings are distinct values that sort together).
    func equalStrings(_ s: String, in all: [String]) -> Range<Int> {
        let lo = Self.partition(all.count) { all[$0] < s }
        let hi = Self.partition(all.count) { all[$0] <= s }
        return lo..<hi
    }

    /// The typed rows equal to one of `values` (`in`): a binary search per value, or for a long
    /// list one pass over a keyword index's distinct values.
    func typedRows(in values: [Payload]) -> RowBitmap {
        var out = RowBitmap(rowCount: rowCount)
        if kind == .keyword, values.count > 16 {
            let wanted = Set(values.compactMap { v -> String? in if case .string(let s) = v { s } else { nil } })
            for (d, s) in strings.enumerated() where wanted.contains(s) { addPosting(d, to: &out) }
            return out
        }
        for v in values { out.formUnion(typedRows(.equal, v)) }
        return out
    }

    func addPosting(_ d: Int, to out: inout RowBitmap) {
        for i in Int(postingStarts[d])..<Int(postingStarts[d + 1]) { out.insert(Int(rows[i])) }
    }
}
