import VecDBKernels
import VecDBStorage

/// A memory-mapped index file (`*.hnsw`, `*.ivf`) whose header has been checked.
///
/// Both index formats open with the same three fields, in a header of fixed size:
///
/// ```
///   offset  size  field
///   0       8     magic number (one per format)
///   8       4     format version
///   12      4     CRC-32C of the header with this field zeroed
///   16      …     the format's own fields (counts, section offsets, body checksum)
/// ```
///
/// Creating a reader maps the file and checks, in this order, that it holds a whole header,
/// the magic number, the header checksum and the version. The format's `open` reads its own
/// fields through ``load(_:as:)`` and ``offset(_:)`` and checks its sections with
/// ``checkTotalSize(_:)``, ``checkSections(_:need:)`` and ``checkBody(checksumAt:)``, so every
/// index names a damaged file the same way: "<kind> <path> is damaged: <why>".
struct IndexFileReader {
    /// What the file holds, for messages: "HNSW index", "IVF index".
    let kind: String
    let path: String
    /// The file's length in bytes.
    let size: Int
    let headerSize: Int
    /// The format version the file declares (between `oldest` and `version` of the initialiser).
    private(set) var version: UInt32
    /// The mapping; whatever reads the file in place keeps it alive.
    let region: MappedRegion

    /// The whole file.
    var bytes: UnsafeRawBufferPointer { region.bytes }

    /// Maps `path` and checks its header.
    ///
    /// - Throws: ``VecDBError/Code/corruptFile`` when the file is shorter than the header, or
    ///   its magic number, header checksum or version is wrong; the file system's errors.
    init(
        _ path: String, kind: String, magic: [UInt8], version: UInt32, oldest: UInt32? = nil, headerSize: Int, fs: FileSystem
    ) throws(VecDBError) {
        let h = try fs.open(path, writable: false)
        defer { h.close() }
        let size = try h.size()
        guard size >= headerSize else { throw Self.damaged(kind, path, "\(size) bytes is shorter than the header") }
        self.kind = kind
        self.path = path
        self.size = size
        self.headerSize = headerSize
        region = try h.mapReadOnly(count: size)
        self.version = 0
        guard Array(bytes[0..<magic.count]) == magic else { throw damaged("wrong magic number") }
        let header = UnsafeRawBufferPointer(rebasing: bytes[0..<headerSize])
        guard Self.checksum(header, zeroingFieldAt: 12) == load(12, as: UInt32.self) else { throw damaged("header checksum mismatch") }
        let found = load(8, as: UInt32.self)
        let first = oldest ?? version
        guard (first...version).contains(found) else {
            throw damaged("format version \(found), this build reads \(first == version ? "\(version)" : "\(first) to \(version)")")
        }
        self.version = found
    }

    /// The error for a damaged file: "<kind> <path> is damaged: <why>".
    func damaged(_ why: String) -> VecDBError { Self.damaged(kind, path, why) }

    /// The same, before a reader exists (a file shorter than its header).
    static func damaged(_ kind: String, _ path: String, _ why: String) -> VecDBError {
        VecDBError(.corruptFile, "\(kind) \(path) is damaged: \(why)", path: path)
    }

    /// The little-endian integer at byte `at`.
    func load<T: FixedWidthInteger>(_ at: Int, as _: T.Type) -> T {
        T(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: T.self))
    }

    /// The little-endian `UInt64` at byte `at` (an offset, a size or a count), clamped to `Int`.
    func offset(_ at: Int) -> Int { Int(clamping: load(at, as: UInt64.self)) }

    /// `count` little-endian Float32 values from byte `at`.
    func floats(_ at: Int, count: Int) -> [Float] { (0..<count).map { Float(bitPattern: load(at + 4 * $0, as: UInt32.self)) } }

    /// - Throws: ``VecDBError/Code/corruptFile`` unless the file is `declared` bytes long.
    func checkTotalSize(_ declared: Int) throws(VecDBError) {
        guard declared == size else { throw damaged("file is \(size) bytes, the header says \(declared)") }
    }

    /// - Throws: ``VecDBError/Code/corruptFile`` unless every section `i` starts on a 64-byte
    ///   boundary after the header and its `need[i]` bytes lie inside the file.
    func checkSections(_ offsets: [Int], need: [Int]) throws(VecDBError) {
        for i in 0..<need.count
        where offsets[i] < headerSize || offsets[i] % 64 != 0 || offsets[i] > size || need[i] > size - offsets[i] {
            throw damaged("section \(i) lies outside the file")
        }
    }

    /// - Throws: ``VecDBError/Code/corruptFile`` unless the CRC-32C of every byte after the
    ///   header equals the `UInt32` at byte `at`. Reads the whole file.
    func checkBody(checksumAt at: Int) throws(VecDBError) {
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[headerSize..<size]))
        guard crc == load(at, as: UInt32.self) else { throw damaged("body checksum mismatch") }
    }

    /// The CRC-32C of `header` with the 4-byte checksum field at `at` taken as zero.
    static func checksum(_ header: UnsafeRawBufferPointer, zeroingFieldAt at: Int) -> UInt32 {
        var copy = Array(header)
        for i in at..<(at + 4) { copy[i] = 0 }
        return CRC32C.checksum(copy)
    }
}
