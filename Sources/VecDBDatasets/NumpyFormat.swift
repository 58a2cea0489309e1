import Foundation
import VecDBKernels

/// NumPy's `.npy` format, versions 1 to 3.
///
/// ```
/// ┌───────────┬───────┬───────┬────────────────┬──────────────────────────┬──────────┐
/// │ \x93NUMPY │ major │ minor │ header length  │ header: a Python dict    │ raw data │
/// │ 6 bytes   │ 1     │ 1     │ u16 (v1) or    │ {'descr': '<f4',         │          │
/// │           │       │       │ u32 (v2, v3)   │  'fortran_order': False, │          │
/// │           │       │       │ little-endian  │  'shape': (n, d), }      │          │
/// └───────────┴───────┴───────┴────────────────┴──────────────────────────┴──────────┘
/// ```
///
/// Element types float32, float64, int32 and int64 are read, in either byte order; Fortran
/// (column-major) arrays are transposed to row-major.
public enum NumpyFormat {
    public struct Header: Sendable, Equatable {
        public var descr: String
        public var fortranOrder: Bool
        public var shape: [Int]
    }

    /// Parses the header of an `.npy` file held in `data`.
    ///
    /// - Returns: the header and the offset where the array data starts.
    /// - Throws: ``VecDBError/Code/malformedFile`` naming what is wrong.
    public static func parseHeader(_ data: Data, path: String) throws(VecDBError) -> (Header, Int) {
        func bad(_ why: String) -> VecDBError { VecDBError(.malformedFile, "\(path): malformed .npy header: \(why)", path: path) }
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        guard data.count >= 10, Array(data.prefix(6)) == magic else { throw bad("missing \\x93NUMPY magic") }
        let major = data[data.startIndex + 6]
        let headerLength: Int
        let start: Int
        switch major {
        case 1:
            headerLength = Int(data[data.startIndex + 8]) | Int(data[data.startIndex + 9]) << 8
            start = 10
        case 2, 3:
            guard data.count >= 12 else { throw bad("truncated") }
            headerLength = (0..<4).reduce(0) { $0 | Int(data[data.startIndex + 8 + $1]) << (8 * $1) }
            start = 12
        default:
            throw bad("unsupported version \(major)")
        }
        guard data.count >= start + headerLength else { throw bad("header length \(headerLength) runs past the end of the file") }
        guard let text = String(data: data[(data.startIndex + start)..<(data.startIndex + start + headerLength)], encoding: .utf8) else {
            throw bad("header is not text")
        }
        guard let descr = dictValue(text, key: "descr").flatMap(unquote) else { throw bad("no 'descr'") }
        guard let fo = dictValue(text, key: "fortran_order") else { throw bad("no 'fortran_order'") }
        let fortran: Bool
        switch fo {
        case "True": fortran = true
        case "False": fortran = false
        default: throw bad("'fortran_order' is \(fo)")
        }
        guard let shapeText = dictValue(text, key: "shape"), shapeText.hasPrefix("("), shapeText.hasSuffix(")") else {
            throw bad("no 'shape' tuple")
        }
        var shape: [Int] = []
        for part in shapeText.dropFirst().dropLast().split(separator: ",") {
            let t = part.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            guard let v = Int(t), v >= 0 else { throw bad("shape component '\(t)'") }
            shape.append(v)
        }
        return (Header(descr: descr, fortranOrder: fortran, shape: shape), start + headerLength)
    }

    /// The text of `key`'s value in a Python dict literal (a tuple is returned with its parentheses).
    static func dictValue(_ text: String, key: String) -> String? {
        for quote in ["'", "\""] {
            guard let r = text.range(of: quote + key + quote) else { continue }
            var rest = text[r.upperBound...].drop { $0 == " " }
            guard rest.first == ":" else { return nil }
            rest = rest.dropFirst().drop { $0 == " " }
            if rest.first == "(" {
                guard let close = rest.firstIndex(of: ")") else { return nil }
                return String(rest[...close])
            }
            if let q = rest.first, q == "'" || q == "\"" {
                guard let close = rest.dropFirst().firstIndex(of: q) else { return nil }
                return String(rest[...close])
            }
            let end = rest.firstIndex { $0 == "," || $0 == "}" } ?? rest.endIndex
            return rest[..<end].trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    static func unquote(_ s: String) -> String? {
        guard s.count >= 2, let f = s.first, f == s.last, f == "'" || f == "\"" else { return nil }
        return String(s.dropFirst().dropLast())
    }

    /// Reads a one- or two-dimensional `.npy` array as Float32 rows.
    ///
    /// A one-dimensional array of n values is read as n rows of dimension 1.
    public static func readMatrix(_ path: String) throws(VecDBError) -> VectorMatrix<Float> {
        let data = try readFile(path)
        let (h, offset) = try parseHeader(data, path: path)
        func bad(_ why: String) -> VecDBError { VecDBError(.malformedFile, "\(path): \(why)", path: path) }
        guard h.shape.count == 1 || h.shape.count == 2 else { throw bad("expected a 1-D or 2-D array, shape is \(h.shape)") }
        let rows = h.shape[0]
        let cols = h.shape.count == 2 ? h.shape[1] : 1
        let (n, overflow) = rows.multipliedReportingOverflow(by: cols)
        guard !overflow else { throw bad("shape \(h.shape) is too large") }
        let code = h.descr.dropFirst()
        let order = h.descr.first
        guard order == "<" || order == ">" || order == "|" || order == "=" else { throw bad("unsupported descr '\(h.descr)'") }
        let swap = order == ">"
        let size: Int
        switch code {
        case "f4", "i4": size = 4
        case "f8", "i8": size = 8
        default: throw bad("unsupported element type '\(h.descr)'; expected float32, float64, int32 or int64")
        }
        guard data.count - offset >= n * size else {
            throw bad("truncated: shape \(h.shape) of '\(h.descr)' needs \(n * size) bytes, file has \(data.count - offset)")
        }
        var flat = [Float](repeating: 0, count: n)
        data.withUnsafeBytes { raw in
            for i in 0..<n {
                let o = offset + i * size
                let v: Float
                switch code {
                case "f4":
                    let b = raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)
                    v = Float(bitPattern: swap ? b.byteSwapped : b)
                case "f8":
                    let b = raw.loadUnaligned(fromByteOffset: o, as: UInt64.self)
                    v = Float(Double(bitPattern: swap ? b.byteSwapped : b))
                case "i4":
                    let b = raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)
                    v = Float(Int32(bitPattern: swap ? b.byteSwapped : b))
                default:
                    let b = raw.loadUnaligned(fromByteOffset: o, as: UInt64.self)
                    v = Float(Int64(bitPattern: swap ? b.byteSwapped : b))
                }
                flat[i] = v
            }
        }
        if h.fortranOrder && h.shape.count == 2 {
            // Column-major: element (r, c) is at c * rows + r.
            var t = [Float](repeating: 0, count: n)
            for c in 0..<cols {
                for r in 0..<rows { t[r * cols + c] = flat[c * rows + r] }
            }
            flat = t
        }
        return VectorMatrix(values: flat, count: rows, dimension: cols)
    }

    /// Encodes Float32 rows as a version-1 C-order `.npy` file.
    public static func encode(_ m: VectorMatrix<Float>) -> Data {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(m.count), \(m.dimension)), }"
        let total = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let len = UInt16(header.utf8.count)
        data.append(UInt8(len & 0xff))
        data.append(UInt8(len >> 8))
        data.append(contentsOf: Array(header.utf8))
        m.values.withUnsafeBytes { data.append(contentsOf: $0) }
        return data
    }
}
