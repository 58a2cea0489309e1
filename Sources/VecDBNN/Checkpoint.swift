import Foundation
import VecDBKernels
import VecDBStorage

/// Tensors saved and loaded in the safetensors format, readable by the `safetensors` Python
/// package, PyTorch and Hugging Face tools.
///
/// ```
/// ┌──────────────────┬───────────────────────────────────────┬────────────────────────────┐
/// │ N: UInt64 LE     │ header: N bytes of UTF-8 JSON,        │ data: the tensors' bytes,  │
/// │ (8 bytes)        │ padded with spaces to a multiple of 8 │ little-endian, row-major   │
/// └──────────────────┴───────────────────────────────────────┴────────────────────────────┘
/// header = { "NAME": {"dtype": "F32", "shape": [2, 3], "data_offsets": [BEGIN, END]}, …,
///            "__metadata__": {"format": "vecdb-nn", "format_version": "1", "crc32c": "1a2b3c4d", …} }
/// ```
///
/// `data_offsets` are relative to the start of the data section. VecDB writes F32 tensors in
/// name order, back to back, and records a CRC-32C of the data section in `__metadata__`
/// (string values only, as the format requires), so other tools still read the file. Saving
/// goes through the storage layer: temporary file, fsync, rename, fsync of the directory.
///
/// Loading validates the header length against the file, the JSON, each entry's dtype, shape and
/// offsets (inside the data section, not overlapping, and exactly `elements × dtype size`
/// bytes), and the checksum when present. F32, F16, BF16 and F64 tensors load, converted to F32;
/// so do I64 and I32 ones (index tensors such as BERT's `position_ids`).
public enum Checkpoint {
    /// The format version VecDB writes in `__metadata__`.
    public static let formatVersion = "1"
    /// Headers larger than this are rejected (the limit of the reference implementation).
    public static let maximumHeaderBytes = 100_000_000

    /// The tensors and metadata of one file.
    public struct Contents: Sendable {
        public var tensors: [String: Tensor]
        public var metadata: [String: String]

        /// Checks the `model_format_version` metadata a model's loader reads.
        ///
        /// - Throws: ``VecDBError/Code/malformedFile`` naming `path` and both versions when it
        ///   is not `version`.
        public func requireFormatVersion(_ version: String, path: String) throws(VecDBError) {
            guard metadata["model_format_version"] == version else {
                throw VecDBError(
                    .malformedFile,
                    "\(path): checkpoint format version '\(metadata["model_format_version"] ?? "none")', this build reads '\(version)'",
                    path: path)
            }
        }
    }

    /// Writes `tensors` to `path` atomically.
    /// - Throws: ``VecDBError/Code/io`` (or `diskFull`) from the file layer.
    public static func save(_ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String) throws(VecDBError) {
        try FileSystem.system.replaceAtomically(path, with: encode(tensors, metadata: metadata))
    }

    /// Writes the parameters and buffers of `layers`, by name.
    /// - Throws: ``VecDBError/Code/invalidArgument`` when two parameters share a name.
    public static func save(_ parameters: [Parameter], metadata: [String: String] = [:], to path: String) throws(VecDBError) {
        var tensors: [String: Tensor] = [:]
        for p in parameters {
            guard tensors[p.name] == nil else { throw VecDBError(.invalidArgument, "checkpoint: two parameters are named '\(p.name)'") }
            tensors[p.name] = p.value
        }
        try save(tensors, metadata: metadata, to: path)
    }

    /// Reads a safetensors file.
    /// - Throws: ``VecDBError/Code/malformedFile`` for anything that does not follow the format,
    ///   ``VecDBError/Code/corruptFile`` when VecDB's checksum does not match.
    public static func load(_ path: String) throws(VecDBError) -> Contents {
        try decode(FileSystem.system.readAll(path), path: path)
    }

    /// Loads `path` into `parameters`, matching by name.
    /// - Throws: ``VecDBError/Code/notFound`` for a missing tensor, ``VecDBError/Code/dimensionMismatch``
    ///   naming both shapes when a tensor's shape differs from the parameter's.
    public static func restore(_ parameters: [Parameter], from path: String) throws(VecDBError) {
        let contents = try load(path)
        for p in parameters {
            guard let t = contents.tensors[p.name] else {
                throw VecDBError(.notFound, "checkpoint \(path) has no tensor '\(p.name)'", path: path)
            }
            guard t.shape == p.value.shape else {
                throw VecDBError(
                    .dimensionMismatch,
                    "parameter '\(p.name)' has shape \(Tensor.describe(p.value.shape)), checkpoint tensor has \(Tensor.describe(t.shape))",
                    path: path)
            }
        }
        for p in parameters { if let t = contents.tensors[p.name] { p.value = t } }
    }

    /// The bytes of a safetensors file.
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:]) -> [UInt8] {
        let names = tensors.keys.sorted()
        var data: [UInt8] = []
        data.reserveCapacity(tensors.values.reduce(0) { $0 + $1.count * 4 })
        var entries: [String] = []
        for name in names {
            guard let t = tensors[name] else { continue }
            let begin = data.count
            t.storage.withUnsafeBufferPointer { p in
                for v in p { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
            }
            let shape = t.shape.map(String.init).joined(separator: ",")
            entries.append("\(jsonString(name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(begin),\(data.count)]}")
        }
        var meta = metadata
        meta["format"] = "vecdb-nn"
        meta["format_version"] = formatVersion
        meta["crc32c"] = String(format: "%08x", CRC32C.checksum(data))
        let metaJSON = meta.keys.sorted().map { "\(jsonString($0)):\(jsonString(meta[$0] ?? ""))" }.joined(separator: ",")
        var header = Array(("{\"__metadata__\":{\(metaJSON)}" + entries.map { "," + $0 }.joined() + "}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + data.count)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out += header
        out += data
        return out
    }

    /// Parses the bytes of a safetensors file.
    public static func decode(_ bytes: [UInt8], path: String = "<memory>") throws(VecDBError) -> Contents {
        func bad(_ why: String) -> VecDBError { VecDBError(.malformedFile, "\(path): not a valid safetensors file: \(why)", path: path) }
        guard bytes.count >= 8 else { throw bad("\(bytes.count) bytes is shorter than the 8-byte header length") }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n >= 2, n <= UInt64(maximumHeaderBytes), n <= UInt64(bytes.count - 8) else {
            throw bad("header length \(n) is out of range for a file of \(bytes.count) bytes")
        }
        let headerEnd = 8 + Int(n)
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd])) } catch { throw bad("the header is not JSON") }
        guard let header = json as? [String: Any] else { throw bad("the header is not a JSON object") }
        let dataCount = bytes.count - headerEnd
        var metadata: [String: String] = [:]
        var spans: [(begin: Int, end: Int, name: String)] = []
        var tensors: [String: Tensor] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw bad("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw bad("__metadata__ value '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                let shapeValues = entry["shape"] as? [Any], let offsetValues = entry["data_offsets"] as? [Any],
                offsetValues.count == 2
            else {
                throw bad("tensor '\(name)' lacks dtype, shape or data_offsets")
            }
            guard let shape = integers(shapeValues), shape.allSatisfy({ $0 >= 0 }),
                let offsets = integers(offsetValues), offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataCount
            else {
                throw bad("tensor '\(name)' has a bad shape or data_offsets outside the \(dataCount)-byte data section")
            }
            guard let size = elementSize(dtype) else { throw bad("tensor '\(name)' has unsupported dtype \(dtype)") }
            let (elements, overflow) = shape.reduce((1, false)) { acc, d in
                let r = acc.0.multipliedReportingOverflow(by: d)
                return (r.partialValue, acc.1 || r.overflow)
            }
            guard !overflow, elements.multipliedReportingOverflow(by: size).partialValue == offsets[1] - offsets[0],
                !elements.multipliedReportingOverflow(by: size).overflow
            else {
                throw bad(
                    "tensor '\(name)' with shape \(Tensor.describe(shape)) and dtype \(dtype) needs \(elements) × \(size) bytes, its offsets span \(offsets[1] - offsets[0])"
                )
            }
            spans.append((offsets[0], offsets[1], name))
            tensors[name] = Tensor(
                uncheckedShape: shape, storage: convert(bytes, from: headerEnd + offsets[0], count: elements, dtype: dtype))
        }
        spans.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        for (a, b) in zip(spans, spans.dropFirst()) where b.begin < a.end {
            throw bad("tensors '\(a.name)' and '\(b.name)' overlap")
        }
        if let stored = metadata["crc32c"] {
            let actual = String(format: "%08x", CRC32C.checksum(bytes[headerEnd...]))
            guard stored == actual else {
                throw VecDBError(
                    .corruptFile, "\(path): checkpoint data checksum \(actual) differs from the recorded \(stored)", path: path)
            }
        }
        return Contents(tensors: tensors, metadata: metadata)
    }

    static func integers(_ values: [Any]) -> [Int]? {
        var out: [Int] = []
        for v in values {
            guard let n = v as? NSNumber else { return nil }
            let d = n.doubleValue
            guard d.rounded() == d, d >= -9.0e15, d <= 9.0e15 else { return nil }
            out.append(n.intValue)
        }
        return out
    }

    static func elementSize(_ dtype: String) -> Int? {
        switch dtype {
        case "F32": 4
        case "F16", "BF16": 2
        case "F64", "I64": 8
        case "I32": 4
        default: nil
        }
    }

    static func convert(_ bytes: [UInt8], from start: Int, count: Int, dtype: String) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            for i in 0..<count {
                switch dtype {
                case "F32":
                    out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: start + 4 * i, as: UInt32.self)))
                case "F16":
                    out[i] = HalfFloat.value(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: start + 2 * i, as: UInt16.self)))
                case "BF16":
                    out[i] = Float(
                        bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: start + 2 * i, as: UInt16.self))) << 16)
                case "I64":
                    out[i] = Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: start + 8 * i, as: Int64.self)))
                case "I32":
                    out[i] = Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: start + 4 * i, as: Int32.self)))
                default:
                    out[i] = Float(
                        Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: start + 8 * i, as: UInt64.self))))
                }
            }
        }
        return out
    }

    static func jsonString(_ s: String) -> String { JSONString.quoted(s) }
}
