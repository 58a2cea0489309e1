import Foundation
import VecDBKernels
import VecDBStorage

// IVF index file (`*.ivf`), version 1. All integers and floats little-endian.
//
//   offset  size  field
//   0       8     magic "VDBIVF\0\0"
//   8       4     format version (1)
//   12      4     CRC-32C of the 128-byte header with this field zeroed
//   16      1     metric (0 l2, 1 ip, 2 cosine)
//   17      1     encoding (0 flat, 1 sq8, 2 pq)
//   18      2     reserved, zero
//   20      4     PQ sub-quantisers m (0 unless pq)
//   24      4     dimension d
//   28      4     nlist
//   32      8     rows added n (the next row id; deleted rows included)
//   40      4     CRC-32C of every byte after the header
//   44      4     deleted rows
//   48      8     training mean squared distance to centroid (Float64), for drift
//   56      8     sum of added rows' squared distances to their centroid (Float64)
//   64      8     rows counted in that sum
//   72      8     offset of centroids    (nlist × d Float32)
//   80      8     offset of quantiser    (sq8: d Float32 minima, then d Float32 steps;
//                                          pq: m × 256 × (d / m) Float32 centroids; flat: empty)
//   88      8     offset of directory    (nlist × (UInt64 offset of the list, UInt64 rows))
//   96      8     offset of tombstones   (ceil(n / 64) × UInt64 bitset, bit i = row i deleted)
//   104     8     total file size
//   112     16    reserved, zero
//
// Each list starts on a 64-byte boundary at the offset its directory entry gives:
//
//   ┌ rows × UInt32 row ids ┐ pad to 64 ┌ rows × code size bytes ┐ pad to 64
//
// with code size 4·d (flat: the Float32 vector), d (sq8) or m (pq: the residual's codes).
// Every section starts on a 64-byte boundary. Opening maps the file, checks the header, its
// checksum, every section's and list's bounds, and that the lists hold n rows in all; the
// lists are then read in place from the mapping (a list is copied out only when rows are added
// to it). The body checksum is checked by `open(verifyBody: true)` and `verifyFile`, so opening
// a large index does not read it. Searches skip row ids ≥ n, so a damaged body can degrade
// results but never trap.

extension IVFIndex {
    static let fileMagic: [UInt8] = Array("VDBIVF\0\0".utf8)
    static let fileVersion: UInt32 = 1
    static let fileHeaderSize = 128

    static func metricCode(_ m: Metric) -> UInt8 {
        switch m {
        case .l2: return 0
        case .ip: return 1
        case .cosine: return 2
        }
    }

    /// The index as file bytes.
    ///
    /// - Throws: ``VecDBError/Code/invalidArgument`` for an untrained index.
    public func fileBytes() throws(VecDBError) -> [UInt8] {
        guard isTrained else { throw VecDBError(.invalidArgument, "\(what) is not trained; there is nothing to write") }
        func align(_ x: Int) -> Int { (x + 63) & ~63 }
        let d = dimension
        let quantiserFloats: [Float]
        let encodingCode: UInt8
        var m = 0
        switch encoding {
        case .flat:
            quantiserFloats = []
            encodingCode = 0
        case .sq8:
            quantiserFloats = (sq?.vmin ?? []) + (sq?.vscale ?? [])
            encodingCode = 1
        case .pq(let pm):
            quantiserFloats = pq?.centroids ?? []
            encodingCode = 2
            m = pm
        }
        let cOff = Self.fileHeaderSize
        let qOff = align(cOff + nlist * d * 4)
        let dirOff = align(qOff + quantiserFloats.count * 4)
        let delOff = align(dirOff + nlist * 16)
        var listOffsets = [Int](repeating: 0, count: nlist)
        var end = align(delOff + tombstones.count * 8)
        for l in 0..<nlist {
            listOffsets[l] = end
            let rows = lists.count(of: l)
            end = align(align(end + rows * 4) + rows * codeSize)
        }
        let total = end
        var out = [UInt8](repeating: 0, count: total)
        out.withUnsafeMutableBytes { raw in
            let b = raw.baseAddress.unsafelyUnwrapped
            func put<T: FixedWidthInteger>(_ v: T, _ at: Int) { b.storeBytes(of: v.littleEndian, toByteOffset: at, as: T.self) }
            func putFloats(_ fs: [Float], _ at: Int) { for (i, f) in fs.enumerated() { put(f.bitPattern, at + 4 * i) } }
            for (i, c) in Self.fileMagic.enumerated() { b.storeBytes(of: c, toByteOffset: i, as: UInt8.self) }
            put(Self.fileVersion, 8)
            put(Self.metricCode(metric), 16)
            put(encodingCode, 17)
            put(UInt32(m), 20)
            put(UInt32(d), 24)
            put(UInt32(nlist), 28)
            put(UInt64(count), 32)
            put(UInt32(deletedCount), 44)
            put(trainingMeanDistance.bitPattern, 48)
            put(addedDistanceSum.bitPattern, 56)
            put(UInt64(addedCount), 64)
            for (i, off) in [cOff, qOff, dirOff, delOff, total].enumerated() { put(UInt64(off), 72 + 8 * i) }
            putFloats(centroids, cOff)
            putFloats(quantiserFloats, qOff)
            for (i, w) in tombstones.enumerated() { put(w, delOff + 8 * i) }
            for l in 0..<nlist {
                let off = listOffsets[l]
                put(UInt64(off), dirOff + 16 * l)
                lists.withList(l) { ids, codes, rows in
                    put(UInt64(rows), dirOff + 16 * l + 8)
                    for r in 0..<rows { put(ids[r], off + 4 * r) }
                    (b + align(off + rows * 4)).copyMemory(from: codes, byteCount: rows * codeSize)
                }
            }
            let body = CRC32C.checksum(UnsafeRawBufferPointer(start: b + Self.fileHeaderSize, count: total - Self.fileHeaderSize))
            put(body, 40)
            put(CRC32C.checksum(UnsafeRawBufferPointer(start: b, count: Self.fileHeaderSize)), 12)
        }
        return out
    }

    /// Writes the index durably: temporary file, fsync, rename, fsync of the directory.
    package func write(to path: String, fs: FileSystem = FileSystem()) throws(VecDBError) {
        try fs.replaceAtomically(path, with: try fileBytes())
    }

    /// Opens an index file by memory-mapping it; the lists are read in place.
    ///
    /// - Throws: ``VecDBError/Code/corruptFile`` naming the file and what is wrong.
    package static func open(_ path: String, fs: FileSystem = FileSystem(), verifyBody: Bool = false) throws(VecDBError) -> IVFIndex {
        let file = try IndexFileReader(
            path, kind: "IVF index", magic: fileMagic, version: fileVersion,
            headerSize: fileHeaderSize, fs: fs)
        let size = file.size
        let metric: Metric
        switch file.load(16, as: UInt8.self) {
        case 0: metric = .l2
        case 1: metric = .ip
        case 2: metric = .cosine
        case let c: throw file.damaged("unknown metric code \(c)")
        }
        let d = Int(file.load(24, as: UInt32.self))
        let nlist = Int(file.load(28, as: UInt32.self))
        let m = Int(file.load(20, as: UInt32.self))
        let encoding: Encoding
        switch file.load(17, as: UInt8.self) {
        case 0: encoding = .flat
        case 1: encoding = .sq8
        case 2: encoding = .pq(m: m)
        case let c: throw file.damaged("unknown encoding code \(c)")
        }
        guard d >= 1, d <= 1 << 16, nlist >= 1, nlist <= 1 << 24 else {
            throw file.damaged("dimension \(d) or nlist \(nlist) out of range")
        }
        let index: IVFIndex
        do {
            index = try IVFIndex(metric: metric, dimension: d, nlist: nlist, encoding: encoding)
        } catch {
            throw file.damaged(error.message)
        }
        let n = file.offset(32)
        guard n <= Int(UInt32.max) else { throw file.damaged("row count \(n) out of range") }
        if verifyBody { try file.checkBody(checksumAt: 40) }
        let offsets = (0..<5).map { file.offset(72 + 8 * $0) }
        try file.checkTotalSize(offsets[4])
        let quantiserFloats: Int
        switch encoding {
        case .flat: quantiserFloats = 0
        case .sq8: quantiserFloats = 2 * d
        case .pq: quantiserFloats = ProductQuantizer.ksub * d
        }
        let need = [nlist * d * 4, quantiserFloats * 4, nlist * 16, (n + 63) / 64 * 8]
        try file.checkSections(offsets, need: need)
        index.centroids = file.floats(offsets[0], count: nlist * d)
        let q = file.floats(offsets[1], count: quantiserFloats)
        switch encoding {
        case .flat: break
        case .sq8: index.sq = ScalarQuantizer(vmin: Array(q[0..<d]), vscale: Array(q[d...]))
        case .pq(let m): index.pq = ProductQuantizer(dimension: d, m: m, centroids: q)
        }
        index.tombstones = (0..<((n + 63) / 64)).map { file.load(offsets[3] + 8 * $0, as: UInt64.self) }
        index.count = n
        index.deletedCount = Int(file.load(44, as: UInt32.self))
        index.trainingMeanDistance = Double(bitPattern: file.load(48, as: UInt64.self))
        index.addedDistanceSum = Double(bitPattern: file.load(56, as: UInt64.self))
        index.addedCount = file.offset(64)
        // Only `add` counts rows for drift, and it counts them in `n` too.
        guard index.addedCount <= n else { throw file.damaged("\(index.addedCount) rows counted for drift, more than the \(n) added") }
        let base = file.bytes.baseAddress.unsafelyUnwrapped
        var rowsInLists = 0
        for l in 0..<nlist {
            let off = file.offset(offsets[2] + 16 * l)
            let rows = file.offset(offsets[2] + 16 * l + 8)
            guard rows <= n, off % 64 == 0, off >= fileHeaderSize, off <= size else {
                throw file.damaged("list \(l) lies outside the file")
            }
            let codesAt = (off + rows * 4 + 63) & ~63
            guard codesAt <= size, rows * index.codeSize <= size - codesAt else { throw file.damaged("list \(l) lies outside the file") }
            rowsInLists += rows
            index.lists.mapped[l] = (
                (base + off).assumingMemoryBound(to: UInt32.self),
                (base + codesAt).assumingMemoryBound(to: UInt8.self), rows
            )
        }
        guard rowsInLists == n else { throw file.damaged("the lists hold \(rowsInLists) rows, the header says \(n)") }
        index.lists.mapping = file.region
        index.preparePQListTerms()
        return index
    }

    /// Checks the body checksum of an index file.
    package static func verifyFile(_ path: String, fs: FileSystem = FileSystem()) throws(VecDBError) {
        _ = try open(path, fs: fs, verifyBody: true)
    }
}
