// `.recommenders/NAME/MODELS`: which model version readers serve. Replaced atomically (temp,
// fsync, rename, directory fsync) when a version is published; that rename is the commit
// point. Little-endian, 28 bytes plus the kind:
//
//   0   8  magic "VECDBREC"
//   8   4  format version, 1
//  12   8  current model version (its file is model-VVVVVVVV.bin)
//  20   4  kind name length L, then L bytes UTF-8
//  24+L 4  CRC-32C of every byte before it
import VecDBKernels
import VecDBStorage

/// The current model version of one recommender.
struct RecommenderManifest: Sendable, Equatable {
    static let fileName = "MODELS"
    static let magic: [UInt8] = Array("VECDBREC".utf8)

    var version: UInt64
    var kind: String

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 32 + kind.utf8.count)
        w.append(Self.magic)
        w.u32(1)
        w.u64(version)
        w.u32(UInt32(kind.utf8.count))
        w.append(Array(kind.utf8))
        w.u32(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    /// Writes the manifest into `directory` atomically and durably.
    func write(directory: String, fileSystem fs: FileSystem) throws(VecDBError) {
        try fs.replaceAtomically(directory + "/" + Self.fileName, with: encoded())
    }

    /// The manifest in `directory`, or `nil` when none was ever published.
    static func read(directory: String, fileSystem fs: FileSystem) throws(VecDBError) -> RecommenderManifest? {
        let path = directory + "/" + fileName
        guard fs.exists(path) else { return nil }
        let bytes = try fs.readAll(path)
        let bad = VecDBError(.corruptFile, "recommender manifest '\(path)' is damaged", path: path)
        guard bytes.count >= 28, Array(bytes[0..<8]) == magic else { throw bad }
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[..<(bytes.count - 4)])) }
        let stored = bytes[(bytes.count - 4)...].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self).littleEndian }
        guard crc == stored else { throw bad }
        return try typed {
            try bytes.withUnsafeBytes { raw throws(VecDBError) -> RecommenderManifest in
                var r = ByteReader(UnsafeRawBufferPointer(rebasing: raw[8..<(raw.count - 4)]), what: "recommender manifest", path: path)
                guard try r.u32() == 1 else {
                    throw VecDBError(.unsupported, "recommender manifest '\(path)' has an unknown format", path: path)
                }
                let version = try r.u64()
                let n = Int(try r.u32())
                let kind = String(decoding: try r.array(n), as: UTF8.self)
                return RecommenderManifest(version: version, kind: kind)
            }
        }
    }
}
