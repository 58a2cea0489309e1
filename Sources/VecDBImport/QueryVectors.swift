import Foundation
import VecDBKernels

/// Query vectors from the text of an argument or from a file.
public enum QueryVectors {
    /// Parses comma-separated numbers, such as `0.5, 1, -2`, as a vector.
    ///
    /// Spaces and tabs around each number are ignored.
    ///
    /// - Parameter text: the numbers.
    /// - Returns: the vector.
    /// - Throws: `VecDBError` with code `invalidArgument` naming the first component that is not
    ///   a number (`--vector component 1 ('x') is not a number`).
    public static func parse(_ text: String) throws -> [Float] {
        var out: [Float] = []
        for (i, part) in text.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
            guard let v = Float(part.trimmingCharacters(in: .whitespaces)) else {
                throw VecDBError(.invalidArgument, "--vector component \(i) ('\(part)') is not a number")
            }
            out.append(v)
        }
        return out
    }

    /// The vectors of a file, in order: the records' vectors of a JSON Lines file, or the rows of
    /// a vector file.
    ///
    /// - Parameter path: a file ``RecordReader`` reads.
    /// - Returns: one vector per record or row.
    /// - Throws: as ``RecordReader/init(path:format:firstKey:)`` and ``RecordReader/next(maxCount:)``.
    public static func read(contentsOf path: String) throws -> [[Float]] {
        var reader = try RecordReader(path: path)
        var out: [[Float]] = []
        while let batch = try reader.next(maxCount: 65_536) { out += batch.map(\.vector) }
        return out
    }
}
