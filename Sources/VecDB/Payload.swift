// Binary payload encoding (what the payload blocks of `seg-….pay` and the WAL hold):
//
//   value  := u8 tag, then
//     0 null | 1 false | 2 true
//     3 number: f64 little-endian
//     7 integer: i64 little-endian
//     8 unsigned integer: u64 little-endian (written only for values above Int64.max)
//     4 string: varint byte length, UTF-8 bytes
//     5 array:  varint count, values
//     6 object: varint count, then count × (varint key length, UTF-8 key, value),
//               keys in ascending byte order, unique
import VecDBKernels
import VecDBStorage

/// A JSON-like value attached to a record: null, bool, number, string, array or object.
///
/// Integers are exact over the whole Int64 and UInt64 ranges: JSON text such as
/// `9007199254740993` reads as ``integer(_:)`` and `18446744073709551615` as ``unsigned(_:)``,
/// and both print back digit for digit. Other numbers are `Double`s. Numbers compare by value
/// whatever their case: `.integer(2) == .number(2.0)`, and filters order them exactly.
public enum Payload: Hashable, Sendable {
    /// JSON `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number with a fraction or exponent, or an integer beyond the UInt64 range.
    case number(Double)
    /// An integer in the Int64 range, exact.
    case integer(Int64)
    /// An integer in the UInt64 range, exact (JSON text gives this case only above Int64.max).
    case unsigned(UInt64)
    /// UTF-8 text.
    case string(String)
    /// An ordered list.
    case array([Payload])
    /// Named fields.
    case object([String: Payload])

    /// The value at a dotted path of object fields, such as `["meta", "lang"]`.
    public subscript(path path: [String]) -> Payload? {
        var v = self
        for name in path {
            guard case .object(let o) = v, let next = o[name] else { return nil }
            v = next
        }
        return v
    }

    /// The value of an object's field.
    public subscript(field: String) -> Payload? {
        guard case .object(let o) = self else { return nil }
        return o[field]
    }
}

extension Payload: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    /// `nil` is ``null``.
    public init(nilLiteral: ()) { self = .null }
    /// A Boolean literal.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An integer literal: ``integer(_:)``.
    public init(integerLiteral value: Int) { self = .integer(Int64(value)) }
    /// A floating-point literal.
    public init(floatLiteral value: Double) { self = .number(value) }
    /// A string literal.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An array literal.
    public init(arrayLiteral elements: Payload...) { self = .array(elements) }
    /// A dictionary literal: an object (a repeated key keeps its last value).
    public init(dictionaryLiteral elements: (String, Payload)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, b in b }))
    }
}

// MARK: Binary form

extension Payload {
    /// The largest encoded payload accepted, in bytes.
    public static let maximumEncodedBytes = 16 << 20
    static let maximumDepth = 64

    /// The compact binary form stored on disk (see the top of this file).
    package func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        encode(into: &w)
        return w.bytes
    }

    func encode(into w: inout ByteWriter) {
        switch self {
        case .null: w.u8(0)
        case .bool(let b): w.u8(b ? 2 : 1)
        case .number(let x):
            w.u8(3)
            w.f64(x)
        case .integer(let x):
            w.u8(7)
            w.u64(UInt64(bitPattern: x))
        case .unsigned(let x):
            if x <= UInt64(Int64.max) {
                w.u8(7)
            } else {
                w.u8(8)
            }
            w.u64(x)
        case .string(let s):
            w.u8(4)
            w.varint(UInt64(s.utf8.count))
            w.append(Array(s.utf8))
        case .array(let a):
            w.u8(5)
            w.varint(UInt64(a.count))
            for v in a { v.encode(into: &w) }
        case .object(let o):
            w.u8(6)
            w.varint(UInt64(o.count))
            for k in o.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                w.varint(UInt64(k.utf8.count))
                w.append(Array(k.utf8))
                o[k].unsafelyUnwrapped.encode(into: &w)
            }
        }
    }

    /// Decodes the binary form.
    ///
    /// - Throws: `VecDBError.Code.corruptFile` when the bytes are not a valid payload.
    package init(encoded bytes: [UInt8]) throws(VecDBError) {
        self = try typed {
            try bytes.withUnsafeBytes { raw in
                var r = ByteReader(raw, what: "payload")
                let v = try Payload.decode(&r, depth: 0)
                guard r.remaining == 0 else { throw VecDBError(.corruptFile, "payload has \(r.remaining) trailing bytes") }
                return v
            }
        }
    }

    static func decode(_ r: inout ByteReader, depth: Int) throws(VecDBError) -> Payload {
        guard depth < maximumDepth else { throw VecDBError(.corruptFile, "payload nests deeper than \(maximumDepth) levels") }
        let tag = try r.u8()
        switch tag {
        case 0: return .null
        case 1: return .bool(false)
        case 2: return .bool(true)
        case 3: return .number(try r.f64())
        case 7: return .integer(Int64(bitPattern: try r.u64()))
        case 8: return .unsigned(try r.u64())
        case 4: return .string(String(decoding: try r.bytes(try r.length()), as: UTF8.self))
        case 5:
            let n = try r.length()
            var a: [Payload] = []
            a.reserveCapacity(n)
            for _ in 0..<n { a.append(try decode(&r, depth: depth + 1)) }
            return .array(a)
        case 6:
            let n = try r.length()
            var o: [String: Payload] = [:]
            o.reserveCapacity(n)
            for _ in 0..<n {
                let k = String(decoding: try r.bytes(try r.length()), as: UTF8.self)
                o[k] = try decode(&r, depth: depth + 1)
            }
            return .object(o)
        default:
            throw VecDBError(.corruptFile, "payload has unknown tag \(tag) at offset \(r.offset - 1)")
        }
    }
}

// MARK: JSON text

extension Payload {
    /// Parses JSON text (RFC 8259).
    ///
    /// - Throws: `VecDBError.Code.invalidArgument` naming the position of the first error.
    public init(jsonText: String) throws(VecDBError) {
        var p = JSONParser(Array(jsonText.utf8))
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == p.s.count else { throw p.fail("unexpected text after the JSON value") }
        self = v
    }

    /// Compact JSON text, object keys sorted. Non-finite numbers (which JSON lacks) print as null.
    public var jsonText: String {
        var out = ""
        write(to: &out)
        return out
    }

    func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let x):
            if !x.isFinite {
                out += "null"
            } else if x == x.rounded(), abs(x) < 1e15 {
                out += String(Int64(x))
            } else {
                out += "\(x)"
            }
        case .integer(let x): out += String(x)
        case .unsigned(let x): out += String(x)
        case .string(let s): Self.writeString(s, to: &out)
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                v.write(to: &out)
            }
            out += "]"
        case .object(let o):
            out += "{"
            for (i, k) in o.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                Self.writeString(k, to: &out)
                out += ":"
                o[k].unsafelyUnwrapped.write(to: &out)
            }
            out += "}"
        }
    }

    static func writeString(_ s: String, to out: inout String) { JSONString.append(s, to: &out) }
}

struct JSONParser {
    let s: [UInt8]
    var i = 0

    init(_ s: [UInt8]) { self.s = s }

    func fail(_ why: String) -> VecDBError {
        VecDBError(.invalidArgument, "invalid JSON at position \(i): \(why)")
    }

    mutating func skipSpace() {
        while i < s.count, s[i] == 0x20 || s[i] == 0x0A || s[i] == 0x0D || s[i] == 0x09 { i += 1 }
    }

    mutating func literal(_ word: String, _ v: Payload) throws(VecDBError) -> Payload {
        let w = Array(word.utf8)
        guard i + w.count <= s.count, Array(s[i..<(i + w.count)]) == w else { throw fail("expected '\(word)'") }
        i += w.count
        return v
    }

    mutating func value(depth: Int) throws(VecDBError) -> Payload {
        guard depth < Payload.maximumDepth else { throw fail("nesting deeper than \(Payload.maximumDepth) levels") }
        guard i < s.count else { throw fail("unexpected end of text") }
        switch s[i] {
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "["):
            i += 1
            var a: [Payload] = []
            skipSpace()
            if i < s.count, s[i] == UInt8(ascii: "]") {
                i += 1
                return .array(a)
            }
            while true {
                skipSpace()
                a.append(try value(depth: depth + 1))
                skipSpace()
                guard i < s.count else { throw fail("unterminated array") }
                if s[i] == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                if s[i] == UInt8(ascii: "]") {
                    i += 1
                    return .array(a)
                }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "{"):
            i += 1
            var o: [String: Payload] = [:]
            skipSpace()
            if i < s.count, s[i] == UInt8(ascii: "}") {
                i += 1
                return .object(o)
            }
            while true {
                skipSpace()
                guard i < s.count, s[i] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                let k = try string()
                skipSpace()
                guard i < s.count, s[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                i += 1
                skipSpace()
                o[k] = try value(depth: depth + 1)
                skipSpace()
                guard i < s.count else { throw fail("unterminated object") }
                if s[i] == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                if s[i] == UInt8(ascii: "}") {
                    i += 1
                    return .object(o)
                }
                throw fail("expected ',' or '}'")
            }
        default:
            return try number()
        }
    }

    mutating func number() throws(VecDBError) -> Payload {
        let start = i
        if i < s.count, s[i] == UInt8(ascii: "-") { i += 1 }
        while i < s.count,
            (s[i] >= 0x30 && s[i] <= 0x39) || s[i] == UInt8(ascii: ".") || s[i] == UInt8(ascii: "e")
                || s[i] == UInt8(ascii: "E") || s[i] == UInt8(ascii: "+") || s[i] == UInt8(ascii: "-")
        { i += 1 }
        let text = String(decoding: s[start..<i], as: UTF8.self)
        guard !text.isEmpty, let x = Payload(numberText: text) else {
            i = start
            throw fail(text.isEmpty ? "unexpected character" : "invalid number '\(text)'")
        }
        return x
    }

    mutating func hex4() throws(VecDBError) -> UInt32 {
        guard i + 4 <= s.count, let v = UInt32(String(decoding: s[i..<(i + 4)], as: UTF8.self), radix: 16) else {
            throw fail("bad \\u escape")
        }
        i += 4
        return v
    }

    mutating func string() throws(VecDBError) -> String {
        i += 1
        var bytes: [UInt8] = []
        while true {
            guard i < s.count else { throw fail("unterminated string") }
            let c = s[i]
            i += 1
            if c == UInt8(ascii: "\"") { break }
            if c < 0x20 { throw fail("control character in string") }
            if c != UInt8(ascii: "\\") {
                bytes.append(c)
                continue
            }
            guard i < s.count else { throw fail("unterminated escape") }
            let e = s[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): bytes.append(0x22)
            case UInt8(ascii: "\\"): bytes.append(0x5C)
            case UInt8(ascii: "/"): bytes.append(0x2F)
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "u"):
                var v = try hex4()
                if v >= 0xD800 && v < 0xDC00, i + 1 < s.count, s[i] == UInt8(ascii: "\\"), s[i + 1] == UInt8(ascii: "u") {
                    i += 2
                    let lo = try hex4()
                    guard lo >= 0xDC00 && lo < 0xE000 else { throw fail("bad surrogate pair") }
                    v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00)
                }
                guard let u = Unicode.Scalar(v) else { throw fail("bad \\u escape") }
                bytes.append(contentsOf: Array(String(Character(u)).utf8))
            default: throw fail("bad escape '\\\(Character(Unicode.Scalar(e)))'")
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
