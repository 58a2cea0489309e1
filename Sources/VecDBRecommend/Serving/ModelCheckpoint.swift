// A version file: `.recommenders/NAME/model-VVVVVVVV.bin`, written once (atomically: temp,
// fsync, rename, directory fsync) and never changed. Little-endian.
//
//   0   8  magic "VECDBMDL"
//   8   4  format version, 1
//  12   8  model version (1, 2, …)
//  20      varint length + UTF-8: the model kind's registry name
//          varint P, then P × (varint length + UTF-8 name, f64 value): hyper-parameters
//          varint N, then N × key: the item catalogue (item index → key), as in the WAL
//          u64 length B, then B bytes: the model body (its kind's `encode`)
//   end-4  4  CRC-32C of every byte before it
import VecDBKernels
import VecDBStorage

/// One trained model version as stored on disk: its kind, hyper-parameters, item catalogue and
/// the kind's encoded body.
struct ModelCheckpoint: Sendable {
    static let magic: [UInt8] = Array("VECDBMDL".utf8)
    static let format: UInt32 = 1

    var version: UInt64
    var kind: String
    var params: [String: Double]
    var itemKeys: [Key]
    var body: [UInt8]

    static func fileName(version: UInt64) -> String {
        let digits = String(version)
        return "model-" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits + ".bin"
    }

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: body.count + itemKeys.count * 9 + 64)
        w.append(Self.magic)
        w.u32(Self.format)
        w.u64(version)
        Self.string(kind, into: &w)
        w.varint(UInt64(params.count))
        for (name, value) in params.sorted(by: { $0.key < $1.key }) {
            Self.string(name, into: &w)
            w.f64(value)
        }
        w.varint(UInt64(itemKeys.count))
        for k in itemKeys { k.encode(into: &w) }
        w.u64(UInt64(body.count))
        w.append(body)
        w.u32(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    static func string(_ s: String, into w: inout ByteWriter) {
        w.varint(UInt64(s.utf8.count))
        w.append(Array(s.utf8))
    }

    static func decode(_ bytes: [UInt8], path: String) throws(VecDBError) -> ModelCheckpoint {
        guard bytes.count >= 24 else { throw VecDBError(.corruptFile, "model file '\(path)' is truncated", path: path) }
        let stored = bytes[(bytes.count - 4)...].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self).littleEndian }
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[..<(bytes.count - 4)])) }
        guard stored == crc, Array(bytes[0..<8]) == magic else {
            throw VecDBError(.corruptFile, "model file '\(path)' fails its checksum", path: path)
        }
        return try typed {
            try bytes.withUnsafeBytes { raw throws(VecDBError) -> ModelCheckpoint in
                var r = ByteReader(UnsafeRawBufferPointer(rebasing: raw[8..<(raw.count - 4)]), what: "model file", path: path)
                let format = try r.u32()
                guard format == Self.format else {
                    throw VecDBError(.unsupported, "model file '\(path)' has format \(format); this build reads \(Self.format)", path: path)
                }
                let version = try r.u64()
                let kind = try string(&r)
                var params: [String: Double] = [:]
                for _ in 0..<(try r.length()) {
                    let name = try string(&r)
                    params[name] = try r.f64()
                }
                var keys: [Key] = []
                for _ in 0..<(try r.length()) { keys.append(try Key.decode(from: &r)) }
                let n = Int(clamping: try r.u64())
                let body = try r.array(n)
                return ModelCheckpoint(version: version, kind: kind, params: params, itemKeys: keys, body: body)
            }
        }
    }

    static func string(_ r: inout ByteReader) throws(VecDBError) -> String {
        let n = try r.length()
        return String(decoding: try r.array(n), as: UTF8.self)
    }
}
