import Foundation
import VecDBKernels

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

/// Writes a file atomically: a temporary file, fsync, rename, then fsync of the directory.
public func writeFileAtomically(_ data: Data, to path: String) throws(VecDBError) {
    let tmp = path + ".tmp.\(getpid())"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw VecDBError(.io, "cannot create \(tmp): \(String(cString: strerror(errno)))", path: tmp, errno: errno) }
    var failure: VecDBError?
    data.withUnsafeBytes { raw in
        var off = 0
        while off < raw.count {
            let n = write(fd, raw.baseAddress.unsafelyUnwrapped + off, raw.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                let code: VecDBError.Code = errno == ENOSPC ? .diskFull : .io
                failure = VecDBError(code, "cannot write \(tmp): \(String(cString: strerror(errno)))", path: tmp, errno: errno)
                return
            }
            off += n
        }
    }
    if failure == nil, fsync(fd) != 0 {
        failure = VecDBError(.io, "fsync failed on \(tmp): \(String(cString: strerror(errno)))", path: tmp, errno: errno)
    }
    close(fd)
    if let failure {
        unlink(tmp)
        throw failure
    }
    guard rename(tmp, path) == 0 else {
        let e = errno
        unlink(tmp)
        throw VecDBError(.io, "cannot rename \(tmp) to \(path): \(String(cString: strerror(e)))", path: path, errno: e)
    }
    let dir = (path as NSString).deletingLastPathComponent
    let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY)
    if dfd >= 0 {
        fsync(dfd)
        close(dfd)
    }
}
