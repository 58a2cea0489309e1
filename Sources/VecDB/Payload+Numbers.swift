// Numbers in payloads: exact integers beside Doubles, compared and hashed by value.
extension Payload {
    /// Reads the text of a number: an integer (digits, no fraction or exponent) exactly, as
    /// ``integer(_:)`` when it fits Int64 and ``unsigned(_:)`` when it fits UInt64; anything
    /// else (a fraction, an exponent, an integer beyond UInt64) as a finite ``number(_:)``.
    /// Nil when the text is not a number or overflows Double.
    public init?(numberText text: String) {
        guard !text.isEmpty, text != "-", text != "+" else { return nil }
        let integral = !text.utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
        if integral, let i = Int64(text) {
            self = .integer(i)
        } else if integral, let u = UInt64(text) {
            self = .unsigned(u)
        } else if let x = Double(text), x.isFinite {
            self = .number(x)
        } else {
            return nil
        }
    }

    /// The value of a number of any case as a `Double` (integers beyond 2⁵³ rounded to the
    /// nearest); nil for other values.
    public var doubleValue: Double? {
        switch self {
        case .number(let x): x
        case .integer(let x): Double(x)
        case .unsigned(let x): Double(x)
        default: nil
        }
    }

    /// The value of an integer, or of a number with no fraction, when it fits Int64.
    public var int64Value: Int64? {
        switch self {
        case .integer(let x): x
        case .unsigned(let x): Int64(exactly: x)
        case .number(let x): Int64(exactly: x)
        default: nil
        }
    }

    /// A number in one of three exact forms; `.int` covers every value that fits Int64.
    enum Numeric {
        case int(Int64)
        case uint(UInt64)
        case double(Double)
    }

    var numeric: Numeric? {
        switch self {
        case .integer(let x): return .int(x)
        case .unsigned(let x): return x <= UInt64(Int64.max) ? .int(Int64(x)) : .uint(x)
        case .number(let x): return .double(x)
        default: return nil
        }
    }

    /// -1, 0 or 1 as `a` is below, equal to or above `b`, exactly (no rounding through
    /// Double); nil when either is not a number, or is NaN.
    static func compareNumbers(_ a: Payload, _ b: Payload) -> Int? {
        guard let x = a.numeric, let y = b.numeric else { return nil }
        return compare(x, y)
    }

    static func compare(_ a: Numeric, _ b: Numeric) -> Int? {
        func sign<T: Comparable>(_ x: T, _ y: T) -> Int { x < y ? -1 : (x > y ? 1 : 0) }
        switch (a, b) {
        case (.int(let x), .int(let y)): return sign(x, y)
        case (.uint(let x), .uint(let y)): return sign(x, y)
        case (.int, .uint): return -1  // a .uint is above Int64.max
        case (.uint, .int): return 1
        case (.double(let x), .double(let y)): return x.isNaN || y.isNaN ? nil : sign(x, y)
        case (.int(let x), .double(let d)): return compare(x, d)
        case (.double(let d), .int(let x)): return compare(x, d).map { -$0 }
        case (.uint(let x), .double(let d)): return compare(x, d)
        case (.double(let d), .uint(let x)): return compare(x, d).map { -$0 }
        }
    }

    static func compare(_ x: Int64, _ d: Double) -> Int? {
        if d.isNaN { return nil }
        if d >= 0x1p63 { return -1 }
        if d < -0x1p63 { return 1 }
        let t = d.rounded(.down)
        let whole = Int64(t)
        if x != whole { return x < whole ? -1 : 1 }
        return t == d ? 0 : -1
    }

    static func compare(_ x: UInt64, _ d: Double) -> Int? {
        if d.isNaN { return nil }
        if d < 0 { return 1 }
        if d >= 0x1p64 { return -1 }
        let t = d.rounded(.down)
        let whole = UInt64(t)
        if x != whole { return x < whole ? -1 : 1 }
        return t == d ? 0 : -1
    }

    /// Equal values: numbers by value whatever their case (`.integer(2) == .number(2)`), the
    /// rest case by case. NaN equals nothing.
    public static func == (a: Payload, b: Payload) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)): return x == y
        default: return compareNumbers(a, b) == 0
        }
    }

    /// Hashes numbers by value, so that equal numbers of different cases hash alike.
    public func hash(into h: inout Hasher) {
        switch self {
        case .null: h.combine(0 as UInt8)
        case .bool(let b):
            h.combine(1 as UInt8)
            h.combine(b)
        case .string(let s):
            h.combine(4 as UInt8)
            h.combine(s)
        case .array(let a):
            h.combine(5 as UInt8)
            h.combine(a)
        case .object(let o):
            h.combine(6 as UInt8)
            h.combine(o)
        case .number, .integer, .unsigned:
            h.combine(3 as UInt8)
            switch numeric {
            case .int(let x): h.combine(x)
            case .uint(let x): h.combine(x)
            case .double(let d):
                if let x = Int64(exactly: d) {
                    h.combine(x)
                } else if let x = UInt64(exactly: d) {
                    h.combine(x)
                } else {
                    h.combine(d)
                }
            case nil: break
            }
        }
    }
}
