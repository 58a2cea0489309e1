import CVecDBImage
import Foundation
import VecDBDatasets
import VecDBKernels

/// Reads images: PNG and JPEG files (decoded by libpng and libjpeg-turbo, colour converted to
/// grey), `.npy` arrays (unsigned bytes 0…255, or floats: 0…1 when no value exceeds 1, else
/// 0…255; shape `(H, W)`, `(N, H, W)` or `(N, H·W)` with a square H·W), and IDX image files
/// (`(N, H, W)` unsigned bytes, the Fashion-MNIST format). The format is told by the file's
/// first bytes, not its name.
public enum ImageReader {
    /// Every image in the file at `path` (one for PNG and JPEG).
    ///
    /// - Throws: ``VecDBError/Code/malformedFile`` with a one-line reason naming the file for a
    ///   corrupt, truncated or unsupported image; ``VecDBError/Code/io`` when it can't be read.
    public static func read(_ path: String) throws(VecDBError) -> [GreyImage] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw VecDBError(.io, "\(path): cannot read the image: \(error.localizedDescription)", path: path)
        }
        return try decode([UInt8](data), path: path)
    }

    /// Decodes image bytes; `path` names them in errors.
    public static func decode(_ bytes: [UInt8], path: String) throws(VecDBError) -> [GreyImage] {
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return [try decodeC(bytes, path: path, kind: "PNG", vdb_decode_png_gray)] }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return [try decodeC(bytes, path: path, kind: "JPEG", vdb_decode_jpeg_gray)] }
        if bytes.starts(with: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]) { return try numpy(bytes, path: path) }
        if bytes.count >= 4, bytes[0] == 0, bytes[1] == 0, bytes[2] == 0x08 { return try idx(bytes, path: path) }
        throw VecDBError(.malformedFile, "\(path): not a PNG, JPEG, .npy or IDX image file", path: path)
    }

    typealias CDecoder = (
        UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?, UnsafeMutablePointer<Int32>?,
        UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<CChar>?, Int
    ) -> Int32

    static func decodeC(_ bytes: [UInt8], path: String, kind: String, _ decoder: CDecoder) throws(VecDBError) -> GreyImage {
        var pixels: UnsafeMutablePointer<UInt8>?
        var width: Int32 = 0
        var height: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let rc = bytes.withUnsafeBufferPointer { b in
            message.withUnsafeMutableBufferPointer { m in decoder(b.baseAddress, b.count, &pixels, &width, &height, m.baseAddress, m.count)
            }
        }
        guard rc == 0, let pixels else {
            let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw VecDBError(.malformedFile, "\(path): corrupt or unsupported \(kind): \(reason)", path: path)
        }
        defer { vdb_image_free(pixels) }
        let n = Int(width) * Int(height)
        return try GreyImage(width: Int(width), height: Int(height), pixels: Array(UnsafeBufferPointer(start: pixels, count: n)))
    }

    static func numpy(_ bytes: [UInt8], path: String) throws(VecDBError) -> [GreyImage] {
        let data = Data(bytes)
        let (h, offset) = try NumpyFormat.parseHeader(data, path: path)
        func bad(_ why: String) -> VecDBError { VecDBError(.malformedFile, "\(path): \(why)", path: path) }
        guard !h.fortranOrder else { throw bad("Fortran-ordered arrays are not supported") }
        let (count, height, width): (Int, Int, Int)
        switch h.shape.count {
        case 2 where h.shape[0] > 0 && h.shape[1] > 0 && isSquare(h.shape[1]) && h.shape[0] != h.shape[1]:
            // (N, H·W) rows; a square (H, W) array is read as one image below.
            let side = Int(Double(h.shape[1]).squareRoot().rounded())
            (count, height, width) = (h.shape[0], side, side)
        case 2: (count, height, width) = (1, h.shape[0], h.shape[1])
        case 3: (count, height, width) = (h.shape[0], h.shape[1], h.shape[2])
        default: throw bad("expected an image array of shape (H, W), (N, H, W) or (N, H·W), shape is \(h.shape)")
        }
        guard count > 0, height > 0, width > 0 else { throw bad("empty image array, shape \(h.shape)") }
        let n = count * height * width
        let code = h.descr.dropFirst()
        let size: Int
        switch code {
        case "u1": size = 1
        case "f4": size = 4
        case "f8": size = 8
        default: throw bad("unsupported element type '\(h.descr)' for images; expected uint8, float32 or float64")
        }
        guard h.descr.first != ">" || size == 1 else { throw bad("big-endian arrays are not supported") }
        guard bytes.count - offset >= n * size else { throw bad("truncated: shape \(h.shape) needs \(n * size) bytes of data") }
        var values = [Double](repeating: 0, count: n)
        bytes.withUnsafeBytes { raw in
            for i in 0..<n {
                let o = offset + i * size
                switch size {
                case 1: values[i] = Double(raw[o])
                case 4: values[i] = Double(Float(bitPattern: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
                default: values[i] = Double(bitPattern: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self))
                }
            }
        }
        guard values.allSatisfy(\.isFinite) else { throw bad("the array holds NaN or infinite values") }
        let scale = size > 1 && (values.max() ?? 0) <= 1 ? 255.0 : 1.0
        let pixels = values.map { UInt8(max(0, min(255, ($0 * scale).rounded()))) }
        return try images(pixels, count: count, height: height, width: width)
    }

    static func idx(_ bytes: [UInt8], path: String) throws(VecDBError) -> [GreyImage] {
        let a = try IDXFormat.parse(Data(bytes), path: path)
        switch a.shape.count {
        case 3: return try images(a.bytes, count: a.shape[0], height: a.shape[1], width: a.shape[2])
        case 2: return try images(a.bytes, count: 1, height: a.shape[0], width: a.shape[1])
        default:
            throw VecDBError(.malformedFile, "\(path): expected IDX images of rank 2 or 3, rank is \(a.shape.count)", path: path)
        }
    }

    static func images(_ pixels: [UInt8], count: Int, height: Int, width: Int) throws(VecDBError) -> [GreyImage] {
        let n = height * width
        var out: [GreyImage] = []
        out.reserveCapacity(count)
        for i in 0..<count { out.append(try GreyImage(width: width, height: height, pixels: Array(pixels[(i * n)..<((i + 1) * n)]))) }
        return out
    }

    static func isSquare(_ n: Int) -> Bool {
        let s = Int(Double(n).squareRoot().rounded())
        return s * s == n
    }
}
