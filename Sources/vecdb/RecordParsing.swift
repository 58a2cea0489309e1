import Foundation
import VecDB
import VecDBDatasets

/// Reading records and vectors from the files and arguments the shell accepts.
enum RecordParsing {
    /// One JSON Lines record: `{"key": 7 | "id-7", "vector": [0.1, …], "payload": {…}}`.
    static func record(fromJSONLine line: String, lineNumber: Int, path: String) throws -> Record {
        func bad(_ why: String) -> VecDBError {
            VecDBError(.malformedFile, "\(path):\(lineNumber): \(why)", path: path)
        }
        let value: Payload
        do { value = try Payload(jsonText: line) } catch { throw bad(error.message) }
        guard case .object(let fields) = value else { throw bad("expected a JSON object") }
        let key: Key
        switch fields["key"] {
        case .number(let n)?:
            guard n >= 0, n == n.rounded(), n <= 9_007_199_254_740_992 else { throw bad("key \(n) is not a non-negative integer") }
            key = .int(UInt64(n))
        case .string(let s)?:
            key = .string(s)
        default:
            throw bad("missing \"key\" (a non-negative integer or a string)")
        }
        guard case .array(let items)? = fields["vector"] else { throw bad("missing \"vector\" (an array of numbers)") }
        var vector = [Float]()
        vector.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            guard case .number(let x) = item else { throw bad("vector component \(i) is not a number") }
            vector.append(Float(x))
        }
        let payload: Payload?
        switch fields["payload"] {
        case nil, .null?: payload = nil
        case let p?: payload = p
        }
        return Record(key: key, vector: vector, payload: payload)
    }

    /// All records of a JSON Lines file.
    static func jsonLines(_ path: String) throws -> [Record] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VecDBError(.notFound, "cannot read \(path)", path: path)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw VecDBError(.malformedFile, "\(path) is not UTF-8 text", path: path)
        }
        var records: [Record] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            records.append(try record(fromJSONLine: t, lineNumber: i + 1, path: path))
        }
        return records
    }

    /// `1,2,3` as a vector.
    static func vector(_ text: String) throws -> [Float] {
        var out: [Float] = []
        for (i, part) in text.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
            guard let v = Float(part.trimmingCharacters(in: .whitespaces)) else {
                throw VecDBError(.invalidArgument, "--vector component \(i) ('\(part)') is not a number")
            }
            out.append(v)
        }
        return out
    }

    /// The query vectors of a file, as rows.
    static func queries(_ path: String) throws -> [[Float]] {
        if path.lowercased().hasSuffix(".jsonl") || path.lowercased().hasSuffix(".json") {
            return try jsonLines(path).map(\.vector)
        }
        let m = try VectorFiles.read(path)
        return (0..<m.count).map { m.row($0) }
    }

    /// A key as JSON: numbers for integer keys, strings otherwise.
    static func json(_ key: Key) -> Payload {
        switch key {
        case .int(let v): return .number(Double(v))
        case .string(let s): return .string(s)
        }
    }
}
