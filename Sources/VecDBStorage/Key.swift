import VecDBKernels

/// A record's key: an unsigned 64-bit integer or a string, chosen by the user.
///
/// `.int(7)` and `.string("7")` are different keys. Text from a command line parses as
/// `.int` when it is all ASCII digits and fits in 64 bits, and as `.string` otherwise.
public enum Key: Hashable, Sendable, CustomStringConvertible, Comparable {
    case int(UInt64)
    case string(String)

    /// Parses command-line text: all digits (fitting in `UInt64`) is `.int`, anything else `.string`.
    public init(parsing text: String) {
        if !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let v = UInt64(text) {
            self = .int(v)
        } else {
            self = .string(text)
        }
    }

    public var description: String {
        switch self {
        case .int(let v): return String(v)
        case .string(let s): return s
        }
    }

    /// Hashes the value only (an integer and a string never collide in practice), which keeps
    /// the key map's hashing cheap on the write path.
    public func hash(into hasher: inout Hasher) {
        switch self {
        case .int(let v): hasher.combine(v)
        case .string(let s): hasher.combine(s)
        }
    }

    public static func < (a: Key, b: Key) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x < y
        case (.int, .string): return true
        case (.string, .int): return false
        case (.string(let x), .string(let y)): return x < y
        }
    }
}

extension Key: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    public init(integerLiteral value: UInt64) { self = .int(value) }
    public init(stringLiteral value: String) { self = .string(value) }
}

extension Key: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(UInt64.self) { self = .int(v) } else { self = .string(try c.decode(String.self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .int(let v): try c.encode(v)
        case .string(let s): try c.encode(s)
        }
    }
}

/// Keys on disk: a tag byte, then eight little-endian bytes for `.int`, or the UTF-8 bytes
/// for `.string` (whose length the enclosing structure gives).
extension Key {
    static let intTag: UInt8 = 0
    static let stringTag: UInt8 = 1
    /// The longest string key, in UTF-8 bytes.
    package static let maximumStringBytes = 4096

    package func encode(into w: inout ByteWriter) {
        switch self {
        case .int(let v):
            w.u8(Self.intTag)
            w.u64(v)
        case .string(let s):
            w.u8(Self.stringTag)
            w.varint(UInt64(s.utf8.count))
            w.append(Array(s.utf8))
        }
    }

    package static func decode(from r: inout ByteReader) throws(VecDBError) -> Key {
        let tag = try r.u8()
        switch tag {
        case intTag: return .int(try r.u64())
        case stringTag:
            let n = try r.length()
            return .string(String(decoding: try r.bytes(n), as: UTF8.self))
        default:
            throw VecDBError(.corruptFile, "\(r.what): unknown key tag \(tag) at offset \(r.offset - 1)", path: r.path)
        }
    }

    /// Checks a user-supplied key.
    package func validate() throws(VecDBError) {
        if case .string(let s) = self, s.utf8.count > Self.maximumStringBytes {
            throw VecDBError(.invalidArgument, "string key of \(s.utf8.count) bytes is longer than \(Self.maximumStringBytes)")
        }
    }
}

/// How a collection stores vector components.
public enum ElementType: String, Sendable, CaseIterable, Codable {
    /// 4 bytes a component, exact.
    case float32
    /// 2 bytes a component, IEEE half precision (round to nearest even).
    case float16
    /// 1 byte a component, scalar-quantised with a per-dimension minimum and scale that each
    /// sealed segment stores. Vectors are exact in the memtable and approximated once sealed.
    case int8

    package var code: UInt8 {
        switch self {
        case .float32: return 0
        case .float16: return 1
        case .int8: return 2
        }
    }

    package init?(code: UInt8) {
        switch code {
        case 0: self = .float32
        case 1: self = .float16
        case 2: self = .int8
        default: return nil
        }
    }

    /// Bytes a component on disk.
    package var width: Int {
        switch self {
        case .float32: return 4
        case .float16: return 2
        case .int8: return 1
        }
    }

    /// Parses `float32`/`f32`, `float16`/`f16`/`half`, `int8`/`i8`/`sq8`.
    public init(parsing text: String) throws(VecDBError) {
        switch text.lowercased() {
        case "float32", "f32", "float": self = .float32
        case "float16", "f16", "half": self = .float16
        case "int8", "i8", "sq8": self = .int8
        default: throw VecDBError(.invalidArgument, "unknown element type '\(text)'; expected float32, float16 or int8")
        }
    }
}

extension Metric {
    package var code: UInt8 {
        switch self {
        case .l2: return 0
        case .ip: return 1
        case .cosine: return 2
        }
    }

    package init?(code: UInt8) {
        switch code {
        case 0: self = .l2
        case 1: self = .ip
        case 2: self = .cosine
        default: return nil
        }
    }
}
