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
