import VecDBKernels
import VecDBStorage

/// One record of a delimited text file, with the line it starts on (1-based).
struct DelimitedRow {
    var line: Int
    var fields: [String]
}

/// Splits tab- or comma-separated text into rows of fields.
///
/// With `quoting` (CSV), a field may be enclosed in double quotes; inside, `""` is one quote,
/// and separators and line breaks are literal. Line breaks are `\n` or `\r\n`; blank lines are
/// skipped; a UTF-8 byte-order mark at the start is ignored.
enum DelimitedText {
    static func rows(_ bytes: [UInt8], separator: UInt8, quoting: Bool, path: String) throws(VecDBError) -> [DelimitedRow] {
        var rows: [DelimitedRow] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var line = 1
        var rowLine = 1
        var i = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
        var quoted = false
        var quoteLine = 0
        let n = bytes.count

        func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
        }
        func endRow() {
            endField()
            if !(fields.count == 1 && fields[0].isEmpty) { rows.append(DelimitedRow(line: rowLine, fields: fields)) }
            fields.removeAll(keepingCapacity: true)
        }

        while i < n {
            let b = bytes[i]
            if quoted {
                if b == UInt8(ascii: "\"") {
                    if i + 1 < n && bytes[i + 1] == UInt8(ascii: "\"") {
                        field.append(b)
                        i += 2
                        continue
                    }
                    quoted = false
                } else {
                    if b == UInt8(ascii: "\n") { line += 1 }
                    field.append(b)
                }
                i += 1
                continue
            }
            switch b {
            case separator:
                endField()
            case UInt8(ascii: "\n"):
                if field.last == UInt8(ascii: "\r") { field.removeLast() }
                endRow()
                line += 1
                rowLine = line
            case UInt8(ascii: "\"") where quoting && field.isEmpty:
                quoted = true
                quoteLine = line
            default:
                field.append(b)
            }
            i += 1
        }
        if quoted {
            throw VecDBError(
                .malformedFile, "\(path): line \(quoteLine), column \(fields.count + 1): a quoted field is never closed",
                path: path)
        }
        if field.last == UInt8(ascii: "\r") { field.removeLast() }
        if !field.isEmpty || !fields.isEmpty { endRow() }
        return rows
    }

    /// Reads a whole file through `fs`.
    static func read(_ path: String, fileSystem fs: FileSystem) throws(VecDBError) -> [UInt8] {
        guard fs.exists(path) else { throw VecDBError(.notFound, "file '\(path)' does not exist", path: path) }
        return try fs.readAll(path)
    }

    /// The error for a bad field: it names the file, the line and the column (1-based, and by name).
    static func fieldError(_ path: String, line: Int, column: Int, name: String, _ reason: String) -> VecDBError {
        VecDBError(.malformedFile, "\(path): line \(line), column \(column) ('\(name)'): \(reason)", path: path)
    }

    static func widthError(_ path: String, row: DelimitedRow, expected: Int) -> VecDBError {
        VecDBError(.malformedFile, "\(path): line \(row.line) has \(row.fields.count) fields, the header has \(expected)", path: path)
    }

    /// A timestamp: an integer, or a number with a fraction (RecBole writes `881250949` as a float column).
    static func timestamp(_ text: Substring) -> Int64? {
        if let v = Int64(text) { return v }
        guard let d = Double(text), d.isFinite, abs(d) < 9.2e18 else { return nil }
        return Int64(d)
    }
}
