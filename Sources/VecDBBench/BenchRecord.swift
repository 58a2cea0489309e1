import Foundation

/// A JSON value of a row read back from an output file, where ours and the peers' rows differ
/// (`params`).
package enum BenchValue: Codable, Sendable, Equatable, CustomStringConvertible {
    /// A number without a fraction.
    case int(Int)
    /// Any other number.
    case double(Double)
    /// A string.
    case string(String)
    /// `true` or `false`.
    case bool(Bool)
    /// An array.
    case array([BenchValue])
    /// An object.
    case object([String: BenchValue])
    /// `null`.
    case null

    /// Decodes any JSON value.
    package init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let v = try? c.decode(Bool.self) {
            self = .bool(v)
        } else if let v = try? c.decode(Int.self) {
            self = .int(v)
        } else if let v = try? c.decode(Double.self) {
            self = .double(v)
        } else if let v = try? c.decode(String.self) {
            self = .string(v)
        } else if let v = try? c.decode([BenchValue].self) {
            self = .array(v)
        } else {
            self = .object(try c.decode([String: BenchValue].self))
        }
    }

    /// Encodes the value as it was read.
    package func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .int(let v): try c.encode(v)
        case .double(let v): try c.encode(v)
        case .string(let v): try c.encode(v)
        case .bool(let v): try c.encode(v)
        case .array(let v): try c.encode(v)
        case .object(let v): try c.encode(v)
        case .null: try c.encodeNil()
        }
    }

    /// The value as a number, when it is one.
    package var number: Double? {
        switch self {
        case .int(let v): Double(v)
        case .double(let v): v
        default: nil
        }
    }

    /// The value as an integer, when it is a number without a fraction.
    package var integer: Int? {
        if case .int(let v) = self { return v }
        return nil
    }

    /// The value as `params` descriptions print it.
    package var description: String {
        switch self {
        case .int(let v): "\(v)"
        case .double(let v): "\(v)"
        case .string(let v): v
        case .bool(let v): "\(v)"
        case .array(let v): "\(v)"
        case .object(let v): "\(v)"
        case .null: "null"
        }
    }
}

/// Any row of an output file, ours or a peer's, read for the summaries: every field optional,
/// and a field of an unexpected type reads as absent.
package struct BenchRecord: Decodable, Sendable {
    /// `"vecdb"`, or a peer's name.
    package var system: String?
    /// Search rows: the data set's name.
    package var dataset: String?
    /// Search rows: the index family.
    package var index: String?
    /// Figure rows: what was measured.
    package var benchmark: String?
    /// Search rows: recall@k.
    package var recall: Double?
    /// Search rows: queries per second.
    package var qps: Double?
    /// Search rows: build seconds.
    package var buildSeconds: Double?
    /// Search rows: memory bytes, as a number.
    package var memoryBytes: Double?
    /// Threads, when a whole number.
    package var threads: Int?
    /// sgemm rows: GFLOP/s.
    package var gflops: Double?
    /// The settings, whatever their shape.
    package var params: [String: BenchValue]

    enum CodingKeys: String, CodingKey {
        case system, dataset, index, benchmark, recall, qps, threads, gflops, params
        case buildSeconds = "build_seconds"
        case memoryBytes = "memory_bytes"
    }

    /// Reads the fields leniently.
    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func field<T: Decodable>(_ key: CodingKeys) -> T? { (try? c.decodeIfPresent(T.self, forKey: key)) ?? nil }
        system = field(.system)
        dataset = field(.dataset)
        index = field(.index)
        benchmark = field(.benchmark)
        recall = field(.recall)
        qps = field(.qps)
        buildSeconds = field(.buildSeconds)
        memoryBytes = field(.memoryBytes)
        threads = (field(.threads) as BenchValue?)?.integer
        gflops = field(.gflops)
        params = field(.params) ?? [:]
    }
}
