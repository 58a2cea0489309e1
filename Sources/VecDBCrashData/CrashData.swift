import VecDB

/// The deterministic data that `vecdb-crash-writer` writes and the durability test checks.
///
/// Its own module, so the writer process and the test agree byte for byte.
public enum CrashData {
    public static let dimension = 8

    public static func recordCount(_ batch: UInt64) -> Int { 1 + Int(batch % 23) }

    public static func batchKeys(_ batch: UInt64) -> [Key] {
        (0..<recordCount(batch)).map { .int(batch * 1000 + UInt64($0)) }
    }

    public static func vector(for key: UInt64) -> [Float] {
        var x = key &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<dimension).map { _ in
            x ^= x << 13
            x ^= x >> 7
            x ^= x << 17
            return Float(x % 20_001) / 10_000 - 1
        }
    }

    public static func payload(for key: UInt64) -> Payload {
        ["key": .number(Double(key)), "batch": .number(Double(key / 1000)), "tag": .string("k\(key)"), "even": .bool(key % 2 == 0)]
    }

    public static func batch(_ b: UInt64) -> [Record] {
        batchKeys(b).map { k in
            guard case .int(let v) = k else { return Record(key: k, vector: []) }
            return Record(key: k, vector: vector(for: v), payload: payload(for: v))
        }
    }
}
