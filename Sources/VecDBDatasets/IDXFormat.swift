import Foundation
import VecDBKernels

/// The IDX format of MNIST and Fashion-MNIST.
///
/// ```
/// ┌────────┬────────┬────────┬───────┬──────────────────────────┬───────────────┐
/// │ 0x00   │ 0x00   │ type   │ rank  │ rank × UInt32 big-endian │ data          │
/// │        │        │ 0x08=u8│       │ dimension sizes          │ (u8 values)   │
/// └────────┴────────┴────────┴───────┴──────────────────────────┴───────────────┘
/// ```
///
/// Images have rank 3 (count, rows, columns), labels rank 1.
public enum IDXFormat {
    public struct Array: Sendable {
        public var shape: [Int]
        public var bytes: [UInt8]
    }

    /// Reads an unsigned-byte IDX file (`.gz` files are decompressed with `gzip -dc`).
    /// - Throws: ``VecDBError/Code/malformedFile`` for a wrong magic number or a truncated file.
    public static func read(_ path: String) throws(VecDBError) -> Array {
        let data: Data = path.hasSuffix(".gz") ? try gunzip(path) : try readFile(path)
        return try parse(data, path: path)
    }

    public static func parse(_ data: Data, path: String) throws(VecDBError) -> Array {
        let b = [UInt8](data.prefix(4))
        guard b.count == 4, b[0] == 0, b[1] == 0, b[2] == 0x08, (1...4).contains(b[3]) else {
            let hex = b.map { String(format: "%02x", $0) }.joined()
            throw VecDBError(
                .malformedFile, "\(path): wrong IDX magic number 0x\(hex); expected 0x000008 followed by a rank of 1 to 4 (unsigned bytes)",
                path: path)
        }
        let rank = Int(b[3])
        guard data.count >= 4 + 4 * rank else { throw VecDBError(.malformedFile, "\(path): truncated IDX header", path: path) }
        var shape: [Int] = []
        var total = 1
        for i in 0..<rank {
            let o = data.startIndex + 4 + 4 * i
            let v = Int(data[o]) << 24 | Int(data[o + 1]) << 16 | Int(data[o + 2]) << 8 | Int(data[o + 3])
            shape.append(v)
            let (product, overflow) = total.multipliedReportingOverflow(by: v)
            guard !overflow else { throw VecDBError(.malformedFile, "\(path): IDX shape \(shape) is too large", path: path) }
            total = product
        }
        let start = 4 + 4 * rank
        guard data.count - start >= total else {
            throw VecDBError(
                .malformedFile, "\(path): truncated IDX data: shape \(shape) needs \(total) bytes, file has \(data.count - start)",
                path: path)
        }
        return Array(shape: shape, bytes: [UInt8](data[(data.startIndex + start)..<(data.startIndex + start + total)]))
    }

    /// Images as Float32 rows of `rows × columns` pixel values in 0…255.
    public static func readImages(_ path: String) throws(VecDBError) -> VectorMatrix<Float> {
        let a = try read(path)
        guard a.shape.count == 3 else {
            throw VecDBError(.malformedFile, "\(path): expected a rank-3 image file, rank is \(a.shape.count)", path: path)
        }
        let (d, overflow) = a.shape[1].multipliedReportingOverflow(by: a.shape[2])
        guard !overflow else {
            throw VecDBError(.malformedFile, "\(path): images of \(a.shape[1]) × \(a.shape[2]) pixels are too large", path: path)
        }
        return VectorMatrix(values: a.bytes.map(Float.init), count: a.shape[0], dimension: d)
    }

    static func gunzip(_ path: String) throws(VecDBError) -> Data {
        guard FileManager.default.fileExists(atPath: path) else { throw VecDBError(.notFound, "file not found: \(path)", path: path) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "gzip -dc \"$0\"", path]
        let pipe = Pipe()
        p.standardOutput = pipe
        do { try p.run() } catch { throw VecDBError(.io, "cannot run gzip for \(path)", path: path) }
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw VecDBError(.malformedFile, "\(path) is not a valid gzip file", path: path) }
        return out
    }
}
