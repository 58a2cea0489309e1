import Foundation
import VecDBKernels

extension VecsFormat {
    /// An `.fvecs` file mapped into memory and read a range of rows at a time, for importers
    /// that stream a large file in batches.
    ///
    /// Opening checks what ``VecsFormat/readFvecs(_:limit:)`` checks of the whole file (the first
    /// header, and that the size is a whole number of vectors); reading a range checks each of its
    /// vectors' headers. The errors are the same, word for word.
    package struct FvecsRows: Sendable {
        /// The file's path.
        package let path: String
        /// The file's bytes (memory-mapped).
        let data: Data
        /// The vectors' dimension.
        package let dimension: Int
        /// Vectors in the file.
        package let count: Int

        /// Maps `path` and checks its first header and size.
        ///
        /// - Throws: `VecDBError` with code `notFound`, `io` or `malformedFile`.
        package init(path: String) throws(VecDBError) {
            self.path = path
            data = try readFile(path)
            guard data.count >= 4 else {
                throw VecDBError(.malformedFile, "\(path) is empty or shorter than one vector header", path: path)
            }
            let d = data.withUnsafeBytes { Int(Int32(littleEndian: $0.loadUnaligned(fromByteOffset: 0, as: Int32.self))) }
            guard d > 0, d <= 1 << 20 else {
                throw VecDBError(.malformedFile, "\(path): vector 0 declares dimension \(d)", path: path)
            }
            let stride = 4 + d * 4
            guard data.count % stride == 0 else {
                throw VecDBError(
                    .malformedFile,
                    "\(path) is truncated: \(data.count) bytes is not a whole number of "
                        + "\(stride)-byte vectors of dimension \(d)", path: path)
            }
            dimension = d
            count = data.count / stride
        }

        /// The components of the vectors in `range`, row-major.
        ///
        /// - Parameter range: vector indices, within `0..<count`.
        /// - Throws: `VecDBError` with code `malformedFile` for a vector whose header differs from vector 0's.
        package func rows(_ range: Range<Int>) throws(VecDBError) -> [Float] {
            let d = dimension
            let stride = 4 + d * 4
            let r = range.clamped(to: 0..<count)
            var out = [Float]()
            out.reserveCapacity(r.count * d)
            let bad: Int? = data.withUnsafeBytes { raw -> Int? in
                for i in r {
                    let off = i * stride
                    let di = Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: off, as: Int32.self)))
                    guard di == d else { return i }
                    for j in 0..<d {
                        let bits = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: off + 4 + 4 * j, as: UInt32.self))
                        out.append(Float(bitPattern: bits))
                    }
                }
                return nil
            }
            if let i = bad {
                let di = data.withUnsafeBytes { Int(Int32(littleEndian: $0.loadUnaligned(fromByteOffset: i * stride, as: Int32.self))) }
                throw VecDBError(.malformedFile, "\(path): vector \(i) has dimension \(di), vector 0 has \(d)", path: path)
            }
            return out
        }
    }
}
