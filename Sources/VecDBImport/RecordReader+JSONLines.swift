import Foundation
import VecDB
import VecDBKernels

extension RecordReader {
    /// Parses one JSON Lines record: `{"key": 7 | "id-7", "vector": [0.1, …], "payload": {…}}`.
    ///
    /// The key is a non-negative integer (at most 2⁵³, as JSON numbers are exact up to there) or
    /// a string. The vector is an array of numbers. The payload is optional; `null` means none.
    ///
    /// - Parameters:
    ///   - line: the line's text, without its newline.
    ///   - lineNumber: the line's number in its file, from 1, for errors.
    ///   - path: the file's path, for errors.
    /// - Returns: the record.
    /// - Throws: `VecDBError` with code `malformedFile` and a message `PATH:LINE: reason`.
    public static func record(fromJSONLine line: String, lineNumber: Int, path: String) throws -> Record {
        func bad(_ why: String) -> VecDBError {
            VecDBError(.malformedFile, "\(path):\(lineNumber): \(why)", path: path)
        }
        let (key, fields) = try keyAndFields(line, bad)
        guard case .array(let items)? = fields["vector"] else { throw bad("missing \"vector\" (an array of numbers)") }
        var vector = [Float]()
        vector.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            guard let x = item.doubleValue else { throw bad("vector component \(i) is not a number") }
            vector.append(Float(x))
        }
        return Record(key: key, vector: vector, payload: payload(fields))
    }

    /// Parses one JSON Lines text record, for a collection created with an embedder:
    /// `{"key": 7 | "id-7", "text": "…", "payload": {…}}`; keys and payloads as in
    /// ``record(fromJSONLine:lineNumber:path:)``.
    ///
    /// - Throws: `VecDBError` with code `malformedFile` and a message `PATH:LINE: reason`.
    public static func textRecord(fromJSONLine line: String, lineNumber: Int, path: String) throws -> TextRecord {
        func bad(_ why: String) -> VecDBError {
            VecDBError(.malformedFile, "\(path):\(lineNumber): \(why)", path: path)
        }
        let (key, fields) = try keyAndFields(line, bad)
        guard case .string(let text)? = fields["text"] else { throw bad("missing \"text\" (a string)") }
        return TextRecord(key: key, text: text, payload: payload(fields))
    }

    static func keyAndFields(_ line: String, _ bad: (String) -> VecDBError) throws -> (Key, [String: Payload]) {
        let value: Payload
        do { value = try Payload(jsonText: line) } catch { throw bad(error.message) }
        guard case .object(let fields) = value else { throw bad("expected a JSON object") }
        switch fields["key"] {
        case .integer(let n)?:
            guard n >= 0 else { throw bad("key \(n) is negative; keys are integers from 0 to \(UInt64.max), or strings") }
            return (.int(UInt64(n)), fields)
        case .unsigned(let n)?:
            return (.int(n), fields)
        case .number(let n)?:
            throw bad("key \(n) is not an integer from 0 to \(UInt64.max) (a fraction, an exponent, or too large)")
        case .string(let s)?:
            return (.string(s), fields)
        default:
            throw bad("missing \"key\" (a non-negative integer or a string)")
        }
    }

    static func payload(_ fields: [String: Payload]) -> Payload? {
        switch fields["payload"] {
        case nil, .null?: nil
        case let p?: p
        }
    }
}

/// A JSON Lines file mapped into memory and parsed a line at a time.
///
/// Lines end at `\n`; blank lines (spaces and tabs only) are skipped but counted, so errors give
/// the line number an editor shows.
struct JSONLinesCursor: Sendable {
    let path: String
    /// The file's bytes (memory-mapped).
    let data: Data
    /// The byte offset of the next line.
    var offset = 0
    /// The number of the next line, from 1.
    var lineNumber = 1

    /// Maps `path` and checks that it is UTF-8 text.
    init(path: String) throws {
        self.path = path
        guard FileManager.default.isReadableFile(atPath: path),
            let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        else {
            throw VecDBError(.notFound, "cannot read \(path)", path: path)
        }
        guard Self.isUTF8(data) else { throw VecDBError(.malformedFile, "\(path) is not UTF-8 text", path: path) }
        self.data = data
    }

    /// The records of the next lines, at most `maxCount`; empty at the end of the file.
    /// The line number of each record the last ``next(maxCount:)`` returned.
    var lastLines: [Int] = []

    mutating func next(maxCount: Int) throws -> [Record] {
        var out: [Record] = []
        lastLines = []
        let newline = UInt8(ascii: "\n")
        while out.count < maxCount && offset < data.count {
            let end = data[offset...].firstIndex(of: newline) ?? data.count
            let text = String(decoding: data[offset..<end], as: UTF8.self).trimmingCharacters(in: .whitespaces)
            let number = lineNumber
            offset = end + 1
            lineNumber += 1
            if text.isEmpty { continue }
            out.append(try RecordReader.record(fromJSONLine: text, lineNumber: number, path: path))
            lastLines.append(number)
        }
        return out
    }

    /// Whether `data` is well-formed UTF-8.
    static func isUTF8(_ data: Data) -> Bool {
        var parser = Unicode.UTF8.ForwardParser()
        var bytes = data.makeIterator()
        while true {
            switch parser.parseScalar(from: &bytes) {
            case .valid: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }
}
