import Foundation
import VecDBKernels
import VecDBStorage

// HNSW index file (`*.hnsw`), version 2. All integers little-endian.
//
//   offset  size  field
//   0       8     magic "VDBHNSW\0"
//   8       4     format version (2)
//   12      4     CRC-32C of the 128-byte header with this field zeroed
//   16      1     metric (0 l2, 1 ip, 2 cosine)
//   17      1     traversal (0 the stored rows, 1 a float16 copy)
//   18      6     reserved, zero
//   24      4     dimension
//   28      4     M
//   32      4     efConstruction
//   36      4     entry point (node id)
//   40      8     seed
//   48      8     node count n
//   56      4     max level (signed; -1 when empty)
//   60      4     CRC-32C of every byte after the header
//   64      8     upper-level words u
//   72      8     offset of level 0      (n × (1 + 2M) UInt32: count, then links)
//   80      8     offset of levels       (n × UInt8)
//   88      8     offset of upper index  (n × UInt32 word offsets; 0xFFFFFFFF for level-0 nodes)
//   96      8     offset of upper links  (u × UInt32: per level above 0, count then M links)
//   104     8     offset of tombstones   (ceil(n / 64) × UInt64 bitset)
//   112     8     total file size
//   120     8     offset of the float16 copy (n × dimension UInt16, IEEE half; 0 when none)
//
// The copy is present when the traversal is float16 and the graph's rows are Float32 (rows
// stored in half precision are walked in place). Version 1 is version 2 with bytes 17 and
// 120 to 127 zero: it is still read, as a graph that walks its rows.
//
// Sections start on 64-byte boundaries. Opening maps the file and checks the header, its
// checksum and every section's bounds; the body checksum is checked by `verify` (and by
// `open(verifyBody: true)`), so opening a large index does not read it. Searches clamp link
// counts and skip out-of-range ids, so a damaged body can degrade results but never trap.

extension HNSWGraph {
    static let fileMagic: [UInt8] = Array("VDBHNSW\0".utf8)
    static let fileVersion: UInt32 = 2
    static let oldestFileVersion: UInt32 = 1
    static let fileHeaderSize = 128

    /// The index as file bytes.
    public func fileBytes() -> [UInt8] {
        func align(_ x: Int) -> Int { (x + 63) & ~63 }
        let n = count
        let l0 = Self.fileHeaderSize
        let lv = align(l0 + n * stride0 * 4)
        let uo = align(lv + n)
        let up = align(uo + n * 4)
        let del = align(up + upperCount * 4)
        let copyBytes = reranks ? n * dimension * 2 : 0
        let cp = align(del + (n + 63) / 64 * 8)
        let total = align(cp + copyBytes)
        var out = [UInt8](repeating: 0, count: total)
        out.withUnsafeMutableBytes { raw in
            let b = raw.baseAddress.unsafelyUnwrapped
            func put<T: FixedWidthInteger>(_ v: T, _ at: Int) { b.storeBytes(of: v.littleEndian, toByteOffset: at, as: T.self) }
            for (i, m) in Self.fileMagic.enumerated() { b.storeBytes(of: m, toByteOffset: i, as: UInt8.self) }
            put(Self.fileVersion, 8)
            put(UInt8(Self.metricCode(metric)), 16)
            put(UInt8(parameters.traversal == .float16 ? 1 : 0), 17)
            if copyBytes > 0 {
                put(UInt64(cp), 120)
                (b + cp).copyMemory(from: walkRows.base, byteCount: copyBytes)
            }
            put(UInt32(dimension), 24)
            put(UInt32(parameters.m), 28)
            put(UInt32(parameters.efConstruction), 32)
            put(entryPoint, 36)
            put(parameters.seed, 40)
            put(UInt64(n), 48)
            put(Int32(maxLevel), 56)
            put(UInt64(upperCount), 64)
            for (i, off) in [l0, lv, uo, up, del, total].enumerated() { put(UInt64(off), 72 + 8 * i) }
            (b + l0).copyMemory(from: level0, byteCount: n * stride0 * 4)
            (b + lv).copyMemory(from: levels, byteCount: n)
            (b + uo).copyMemory(from: upperOffset, byteCount: n * 4)
            (b + up).copyMemory(from: upper, byteCount: upperCount * 4)
            (b + del).copyMemory(from: deletedBits, byteCount: (n + 63) / 64 * 8)
            let body = CRC32C.checksum(UnsafeRawBufferPointer(start: b + Self.fileHeaderSize, count: total - Self.fileHeaderSize))
            put(body, 60)
            let header = CRC32C.checksum(UnsafeRawBufferPointer(start: b, count: Self.fileHeaderSize))
            put(header, 12)
        }
        return out
    }

    /// Writes the index durably: temporary file, fsync, rename, fsync of the directory.
    package func write(to path: String, fs: FileSystem = FileSystem()) throws(VecDBError) {
        try fs.replaceAtomically(path, with: fileBytes())
    }

    static func metricCode(_ m: Metric) -> Int {
        switch m {
        case .l2: return 0
        case .ip: return 1
        case .cosine: return 2
        }
    }

    /// Opens an index file by memory-mapping it; the graph links `vectors`.
    ///
    /// - Throws: ``VecDBError/Code/corruptFile`` naming the file and what is wrong.
    package static func open(
        _ path: String, vectors: RowMatrix, metric: Metric, fs: FileSystem = FileSystem(),
        verifyBody: Bool = false
    ) throws(VecDBError) -> HNSWGraph {
        try open(path, vectors: StoredRows(vectors), metric: metric, fs: fs, verifyBody: verifyBody)
    }

    /// Opens an index file by memory-mapping it; the graph links `vectors` (Float32 or Float16).
    package static func open(
        _ path: String, vectors: StoredRows, metric: Metric, fs: FileSystem = FileSystem(),
        verifyBody: Bool = false
    ) throws(VecDBError) -> HNSWGraph {
        let file = try IndexFileReader(
            path, kind: "HNSW index", magic: fileMagic, version: fileVersion,
            oldest: oldestFileVersion, headerSize: fileHeaderSize, fs: fs)
        guard Int(file.load(16, as: UInt8.self)) == metricCode(metric) else { throw file.damaged("built for another metric") }
        let traversal: Parameters.Traversal
        switch file.load(17, as: UInt8.self) {
        case 0: traversal = .rows
        case 1: traversal = .float16
        case let t: throw file.damaged("unknown traversal \(t)")
        }
        let d = Int(file.load(24, as: UInt32.self))
        guard d == vectors.dimension else { throw file.damaged("built for \(d) dimensions, the vectors have \(vectors.dimension)") }
        let params = Parameters(
            m: Int(file.load(28, as: UInt32.self)), efConstruction: Int(file.load(32, as: UInt32.self)),
            seed: file.load(40, as: UInt64.self), traversal: traversal)
        do { try params.validate() } catch { throw file.damaged(error.message) }
        let n = file.offset(48)
        guard n <= vectors.count else { throw file.damaged("indexes \(n) rows, the segment has \(vectors.count)") }
        let stride0 = 1 + 2 * params.m
        let upperWords = file.offset(64)
        guard upperWords <= file.size / 4 else { throw file.damaged("\(upperWords) upper-level words do not fit in the file") }
        let offsets = (0..<6).map { file.offset(72 + 8 * $0) }
        let need = [n * stride0 * 4, n, n * 4, upperWords * 4, (n + 63) / 64 * 8]
        try file.checkTotalSize(offsets[5])
        try file.checkSections(offsets, need: need)
        let copyOffset = file.offset(120)
        let wantsCopy = traversal == .float16 && vectors.element == .float32
        if wantsCopy != (copyOffset != 0) {
            throw file.damaged(wantsCopy ? "the float16 copy of the rows is missing" : "holds a float16 copy it should not")
        }
        if wantsCopy {
            let (bytes, overflow) = n.multipliedReportingOverflow(by: d * 2)
            guard !overflow, copyOffset >= fileHeaderSize, copyOffset % 64 == 0, copyOffset <= offsets[5], bytes <= offsets[5] - copyOffset
            else {
                throw file.damaged("the float16 copy lies outside the file")
            }
        }
        if verifyBody { try file.checkBody(checksumAt: 60) }
        let maxLevel = Int(file.load(56, as: Int32.self))
        let entry = file.load(36, as: UInt32.self)
        guard maxLevel >= -1, maxLevel <= maximumLevel, n == 0 || Int(entry) < n else { throw file.damaged("bad entry point or level") }
        let base = UnsafeMutableRawPointer(mutating: file.bytes.baseAddress.unsafelyUnwrapped)
        let g = try HNSWGraph(
            metric: metric, vectors: vectors, parameters: params, mapped: file.region, count: n,
            level0: (base + offsets[0]).assumingMemoryBound(to: UInt32.self),
            levels: (base + offsets[1]).assumingMemoryBound(to: UInt8.self),
            upperOffset: (base + offsets[2]).assumingMemoryBound(to: UInt32.self),
            upper: (base + offsets[3]).assumingMemoryBound(to: UInt32.self), upperCount: upperWords,
            deleted: UnsafeRawPointer(base + offsets[4]), entryPoint: entry, maxLevel: maxLevel)
        if wantsCopy {
            g.useWalkRows(
                StoredRows(float16: UnsafePointer((base + copyOffset).assumingMemoryBound(to: UInt16.self)), count: n, dimension: d))
        }
        return g
    }

    /// Checks the body checksum of an index file.
    package static func verifyFile(_ path: String, fs: FileSystem = FileSystem()) throws(VecDBError) {
        let bytes = try fs.readAll(path)
        guard bytes.count >= fileHeaderSize else { throw VecDBError(.corruptFile, "HNSW index \(path) is truncated", path: path) }
        let stored = UInt32(bytes[60]) | UInt32(bytes[61]) << 8 | UInt32(bytes[62]) << 16 | UInt32(bytes[63]) << 24
        guard CRC32C.checksum(bytes[fileHeaderSize...]) == stored else {
            throw VecDBError(.corruptFile, "HNSW index \(path) is damaged: body checksum mismatch", path: path)
        }
    }
}
