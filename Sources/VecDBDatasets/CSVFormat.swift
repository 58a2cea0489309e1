import Foundation
import VecDBKernels

/// Comma-separated floats, one vector per line.
///
/// A first line that does not parse as numbers is taken as a header and skipped. Blank lines are
/// ignored. Every row must have the same number of fields.
public enum CSVFormat {
    public static func readFloats(_ path: String) throws(VecDBError) -> VectorMatrix<Float> {
        let data = path.hasSuffix(".gz") ? try IDXFormat.gunzip(path) : try readFile(path)
        guard let text = String(data: data, encoding: .utf8) else {
            throw VecDBError(.malformedFile, "\(path) is not UTF-8 text", path: path)
        }
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String) throws(VecDBError) -> VectorMatrix<Float> {
        var values: [Float] = []
        var dimension = -1
        var count = 0
        for (lineNumber, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            let fields = trimmed.split(separator: ",", omittingEmptySubsequences: false)
            var row: [Float] = []
            row.reserveCapacity(fields.count)
            var numeric = true
            for f in fields {
                guard let v = Float(f.trimmingCharacters(in: .whitespaces)) else {
                    numeric = false
                    break
                }
                row.append(v)
            }
            if !numeric {
                if count == 0 && dimension < 0 {
                    dimension = 0
                    continue
                }  // header
                throw VecDBError(.malformedFile, "\(path): line \(lineNumber + 1) has a field that is not a number", path: path)
            }
            if dimension <= 0 { dimension = row.count }
            guard row.count == dimension else {
                throw VecDBError(
                    .malformedFile, "\(path): line \(lineNumber + 1) has \(row.count) fields, expected \(dimension)", path: path)
            }
            values += row
            count += 1
        }
        guard count > 0 else { throw VecDBError(.malformedFile, "\(path) holds no rows", path: path) }
        return VectorMatrix(values: values, count: count, dimension: dimension)
    }
}
