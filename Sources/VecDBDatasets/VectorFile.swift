import Foundation
import VecDBKernels
import VecDBStorage

/// A dense matrix read from a data file: `count` rows of `dimension` values, row-major.
public struct VectorMatrix<Element: Sendable>: Sendable {
    public var values: [Element]
    public var count: Int
    public var dimension: Int

    public init(values: [Element], count: Int, dimension: Int) {
        self.values = values
        self.count = count
        self.dimension = dimension
    }

    /// Row `i` as an array.
    public func row(_ i: Int) -> [Element] { Array(values[(i * dimension)..<((i + 1) * dimension)]) }

    /// The first `n` rows.
    public func prefix(_ n: Int) -> VectorMatrix {
        let m = min(n, count)
        return VectorMatrix(values: Array(values[0..<(m * dimension)]), count: m, dimension: dimension)
    }
}

/// Reads a whole file, with a typed error naming the file when it cannot be read.
func readFile(_ path: String) throws(VecDBError) -> Data {
    guard FileManager.default.fileExists(atPath: path) else {
        throw VecDBError(.notFound, "file not found: \(path)", path: path)
    }
    do {
        return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    } catch {
        throw VecDBError(.io, "cannot read \(path): \(error.localizedDescription)", path: path)
    }
}

/// Writes a file atomically: a temporary file, fsync, rename, then fsync of the directory
/// (the storage engine's file layer does the work).
public func writeFileAtomically(_ data: Data, to path: String) throws(VecDBError) {
    try FileSystem.system.replaceAtomically(path, with: [UInt8](data))
}

/// The lines of a UTF-8 text file, without their `\n` (or `\r\n`); a final newline does not
/// start another line, and empty lines in between are kept.
///
/// - Throws: ``VecDBError/Code/notFound`` when the file cannot be read,
///   ``VecDBError/Code/malformedFile`` when it is not UTF-8.
public func readTextLines(_ path: String) throws(VecDBError) -> [String] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw VecDBError(.notFound, "cannot read \(path)", path: path)
    }
    guard let text = String(data: data, encoding: .utf8) else {
        throw VecDBError(.malformedFile, "\(path): not UTF-8 text", path: path)
    }
    var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { line in
        String(line.last == "\r" ? line.dropLast() : line[...])
    }
    if lines.last == "" { lines.removeLast() }
    return lines
}
