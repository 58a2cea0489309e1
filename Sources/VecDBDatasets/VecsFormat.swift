import Foundation
import VecDBKernels

/// The `.fvecs`, `.ivecs` and `.bvecs` formats of the ANN benchmarks.
///
/// Each vector is stored as its dimension, then its components:
///
/// ```
/// ┌──────────────┬──────────────────────────────────────┐
/// │ d: Int32 LE  │ d components (f32 / i32 / u8) LE     │  × count
/// └──────────────┴──────────────────────────────────────┘
/// ```
///
/// Every vector of a file must have the same dimension.
public enum VecsFormat {
    /// Reads a `.fvecs` file.
    /// - Throws: ``VecDBError/Code/malformedFile`` for an empty, truncated or inconsistent file.
    public static func readFvecs(_ path: String, limit: Int = .max) throws(VecDBError) -> VectorMatrix<Float> {
        try read(path, elementSize: 4, limit: limit) { p, n, out in
            out.append(contentsOf: UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: Float.self), count: n))
        }
    }

    /// Reads an `.ivecs` file.
    public static func readIvecs(_ path: String, limit: Int = .max) throws(VecDBError) -> VectorMatrix<Int32> {
        try read(path, elementSize: 4, limit: limit) { p, n, out in
            out.append(contentsOf: UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: Int32.self), count: n))
        }
    }

    /// Reads a `.bvecs` file, widening bytes to floats.
    public static func readBvecs(_ path: String, limit: Int = .max) throws(VecDBError) -> VectorMatrix<Float> {
        try read(path, elementSize: 1, limit: limit) { p, n, out in
            for i in 0..<n { out.append(Float(p[i])) }
        }
    }

    static func read<E>(
        _ path: String, elementSize: Int, limit: Int,
        append: (UnsafePointer<UInt8>, Int, inout [E]) -> Void
    ) throws(VecDBError) -> VectorMatrix<E> {
        let data = try readFile(path)
        guard data.count >= 4 else {
            throw VecDBError(.malformedFile, "\(path) is empty or shorter than one vector header", path: path)
        }
        let result = data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Result<VectorMatrix<E>, VecDBError> in
            let bytes = raw.bindMemory(to: UInt8.self)
            let base = bytes.baseAddress.unsafelyUnwrapped
            let d = Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: Int32.self)))
            guard d > 0, d <= 1 << 20 else {
                return .failure(VecDBError(.malformedFile, "\(path): vector 0 declares dimension \(d)", path: path))
            }
            let stride = 4 + d * elementSize
            guard data.count % stride == 0 else {
                return .failure(
                    VecDBError(
                        .malformedFile,
                        "\(path) is truncated: \(data.count) bytes is not a whole number of \(stride)-byte vectors of dimension \(d)",
                        path: path))
            }
            let n = min(data.count / stride, limit)
            var out = [E]()
            out.reserveCapacity(n * d)
            for i in 0..<n {
                let off = i * stride
                let di = Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: off, as: Int32.self)))
                guard di == d else {
                    return .failure(VecDBError(.malformedFile, "\(path): vector \(i) has dimension \(di), vector 0 has \(d)", path: path))
                }
                append(base + off + 4, d, &out)
            }
            return .success(VectorMatrix(values: out, count: n, dimension: d))
        }
        return try result.get()
    }

    /// Encodes rows as `.fvecs` bytes.
    public static func encodeFvecs(_ m: VectorMatrix<Float>) -> Data {
        encode(m.values, count: m.count, dimension: m.dimension)
    }

    /// Encodes rows as `.ivecs` bytes.
    public static func encodeIvecs(_ m: VectorMatrix<Int32>) -> Data {
        encode(m.values, count: m.count, dimension: m.dimension)
    }

    static func encode<E>(_ values: [E], count: Int, dimension: Int) -> Data {
        var data = Data(capacity: count * (4 + dimension * 4))
        values.withUnsafeBytes { raw in
            var d = Int32(dimension).littleEndian
            for i in 0..<count {
                withUnsafeBytes(of: &d) { data.append(contentsOf: $0) }
                data.append(contentsOf: raw[(i * dimension * 4)..<((i + 1) * dimension * 4)])
            }
        }
        return data
    }
}
