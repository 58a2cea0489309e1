// Segment file: `seg-IIIIIIIIIIIIIIII.vec` (I = segment id, hex). Immutable once written.
//
// A sealed memtable (or the output of compaction). The vectors are contiguous and row-major at
// a 64-byte-aligned offset, so a Float32 segment is searched straight from the mapping through
// `RowMatrix`, with no copy (Float16 and Int8 ones through their own kernels, also in place). Payloads live beside it in `seg-….pay` (see PayloadFile.swift).
// Which rows are deleted is not in this file (it never changes); the manifest lists them.
//
// All integers are little-endian.
//
//   Header, 128 bytes:
//     0   8  magic "VECDBSEG"
//     8   4  format version, 1
//    12   4  header length, 128
//    16   4  dimension D
//    20   1  element type: 0 Float32, 1 Float16 (IEEE half), 2 Int8 (8-bit scalar codes)
//    21   1  metric: 0 l2, 1 ip, 2 cosine (cosine segments hold unit-length vectors)
//    22   2  reserved, 0
//    24   8  row count R
//    32   8  vectors offset    40  8  vectors length (R × D × element width)
//    48   8  keys offset       56  8  keys length
//    64   8  flags offset      72  8  flags length (R)
//    80   8  quantisation offset   88  8  quantisation length (Int8: D × 8, else 0)
//    96   4  CRC-32C of the vectors section
//   100   4  CRC-32C of the keys section
//   104   4  CRC-32C of the flags section
//   108   4  CRC-32C of the quantisation section (0 when empty)
//   112  12  reserved, 0
//   124   4  CRC-32C of bytes 0..<124
//
//   Sections, each starting at a multiple of 64:
//     vectors       R × D components (Float32, Float16 bits, or UInt8 codes)
//     keys          (R + 1) × u64 offsets into the key bytes that follow, then the key bytes;
//                   key r is bytes [offset r, offset r+1): u8 tag, then 8 bytes (tag 0, an
//                   integer) or UTF-8 (tag 1, a string)
//     flags         R bytes; bit 0: the row has a payload
//     quantisation  D × f32 minimum, then D × f32 scale; component = min + code × scale
//
// Opening checks the header, keys, flags and quantisation checksums; the vectors checksum is
// checked by `verify()` (compaction, `Collection.verify`, or opening with verification on) or
// else on first use (`verifyOnFirstUse()`, before the first search or read of the segment), so
// opening a large collection does not read its vectors.
import Synchronization
import VecDBKernels

/// Writes a segment file; see the format at the top of this file.
package enum SegmentWriter {
    package static let headerSize = 128

    /// Writes `count` rows and fsyncs the file.
    ///
    /// - Parameters:
    ///   - vector: the Float32 components of row `i`.
    package static func write(
        fs: FileSystem, path: String, dimension: Int, elementType: ElementType, metric: Metric,
        count: Int, vector: (Int) -> UnsafePointer<Float>, key: (Int) -> Key, hasPayload: (Int) -> Bool
    ) throws(VecDBError) {
        let h = try fs.open(path, writable: true, create: true, truncate: true)
        defer { h.close() }
        let d = dimension
        var offset = headerSize
        var buffer = ByteWriter(capacity: 1 << 20)
        var crc: UInt32 = 0
        let flushAt = 8 << 20

        func flush(_ buffer: inout ByteWriter, _ crc: inout UInt32, _ offset: inout Int) throws(VecDBError) {
            guard buffer.count > 0 else { return }
            crc = CRC32C.checksum(buffer.bytes, seed: crc)
            try h.write(buffer.bytes, at: offset)
            offset += buffer.count
            buffer.bytes.removeAll(keepingCapacity: true)
        }
        func padSection(_ buffer: inout ByteWriter, _ offset: inout Int) {
            let r = (offset + buffer.count) % 64
            if r != 0 { buffer.append([UInt8](repeating: 0, count: 64 - r)) }
        }

        // Quantisation parameters (Int8).
        var qmin = [Float](repeating: 0, count: d)
        var qscale = [Float](repeating: 0, count: d)
        if elementType == .int8 && count > 0 {
            var qmax = [Float](repeating: -.infinity, count: d)
            for j in 0..<d { qmin[j] = .infinity }
            for i in 0..<count {
                let v = vector(i)
                for j in 0..<d {
                    qmin[j] = min(qmin[j], v[j])
                    qmax[j] = max(qmax[j], v[j])
                }
            }
            for j in 0..<d { qscale[j] = qmax[j] > qmin[j] ? (qmax[j] - qmin[j]) / 255 : 0 }
        }

        // Vectors.
        let vectorsOffset = offset
        var f16 = [UInt16](repeating: 0, count: d)
        var codes = [UInt8](repeating: 0, count: d)
        if elementType == .float32 {
            // Runs of rows adjacent in memory go to the file straight from where they are.
            let maxRun = max(1, flushAt / (d * 4))
            var i = 0
            while i < count {
                let start = vector(i)
                var n = 1
                while i + n < count && n < maxRun && vector(i + n) == start + n * d { n += 1 }
                let raw = UnsafeRawBufferPointer(start: start, count: n * d * 4)
                crc = CRC32C.checksum(raw, seed: crc)
                try h.write(raw, at: offset)
                offset += raw.count
                i += n
            }
        }
        for i in 0..<(elementType == .float32 ? 0 : count) {
            let v = vector(i)
            switch elementType {
            case .float32:
                break
            case .float16:
                for j in 0..<d { f16[j] = HalfFloat.bits(v[j]) }
                f16.withUnsafeBytes { buffer.append($0) }
            case .int8:
                for j in 0..<d {
                    let s = qscale[j]
                    let c = s > 0 ? ((v[j] - qmin[j]) / s).rounded() : 0
                    codes[j] = UInt8(max(0, min(255, c)))
                }
                buffer.append(codes)
            }
            if buffer.count >= flushAt { try flush(&buffer, &crc, &offset) }
        }
        try flush(&buffer, &crc, &offset)
        let vectorsLength = offset - vectorsOffset
        let vectorsCRC = crc
        padSection(&buffer, &offset)
        try h.write(buffer.bytes, at: offset)
        offset += buffer.count
        buffer.bytes.removeAll(keepingCapacity: true)

        // Keys: offsets, then bytes.
        let keysOffset = offset
        var blob = ByteWriter(capacity: count * 9)
        var offsets = ByteWriter(capacity: (count + 1) * 8)
        for i in 0..<count {
            offsets.u64(UInt64(blob.count))
            switch key(i) {
            case .int(let v):
                blob.u8(Key.intTag)
                blob.u64(v)
            case .string(let s):
                blob.u8(Key.stringTag)
                blob.append(Array(s.utf8))
            }
        }
        offsets.u64(UInt64(blob.count))
        let keysCRC = CRC32C.checksum(blob.bytes, seed: CRC32C.checksum(offsets.bytes))
        try h.write(offsets.bytes, at: offset)
        offset += offsets.count
        try h.write(blob.bytes, at: offset)
        offset += blob.count
        let keysLength = offset - keysOffset
        padSection(&buffer, &offset)

        // Flags.
        let flagsOffset = offset + buffer.count
        for i in 0..<count { buffer.u8(hasPayload(i) ? 1 : 0) }
        let flagsCRC = CRC32C.checksum(buffer.bytes[(flagsOffset - offset)...])
        padSection(&buffer, &offset)

        // Quantisation.
        let quantOffset = offset + buffer.count
        var quantLength = 0
        var quantCRC: UInt32 = 0
        if elementType == .int8 {
            var q = ByteWriter(capacity: d * 8)
            for x in qmin { q.f32(x) }
            for x in qscale { q.f32(x) }
            quantLength = q.count
            quantCRC = CRC32C.checksum(q.bytes)
            buffer.append(q.bytes)
        }
        try h.write(buffer.bytes, at: offset)

        var hd = ByteWriter(capacity: headerSize)
        hd.append(Array("VECDBSEG".utf8))
        hd.u32(1)
        hd.u32(UInt32(headerSize))
        hd.u32(UInt32(d))
        hd.u8(elementType.code)
        hd.u8(metric.code)
        hd.u16(0)
        hd.u64(UInt64(count))
        hd.u64(UInt64(vectorsOffset))
        hd.u64(UInt64(vectorsLength))
        hd.u64(UInt64(keysOffset))
        hd.u64(UInt64(keysLength))
        hd.u64(UInt64(flagsOffset))
        hd.u64(UInt64(count))
        hd.u64(UInt64(quantLength > 0 ? quantOffset : 0))
        hd.u64(UInt64(quantLength))
        hd.u32(vectorsCRC)
        hd.u32(keysCRC)
        hd.u32(flagsCRC)
        hd.u32(quantCRC)
        hd.append([UInt8](repeating: 0, count: 12))
        hd.u32(CRC32C.checksum(hd.bytes))
        try h.write(hd.bytes, at: 0)
        try h.sync()
    }
}

/// Float32 rows owned by a segment whose file stores another element type.
final class DecodedRows: @unchecked Sendable {
    // Sendable: written once in init, read-only afterwards.
    let base: UnsafeMutablePointer<Float>
    let count: Int

    init(count: Int) {
        self.count = count
        base = UnsafeMutablePointer<Float>.allocate(capacity: max(1, count))
    }

    deinit { base.deallocate() }
}

/// An immutable, memory-mapped segment and its payload file.
package final class Segment: @unchecked Sendable {
    // Sendable: the mapping and all fields are immutable; the decoded-rows cache is a Mutex.
    package let id: UInt64
    package let path: String
    package let dimension: Int
    package let elementType: ElementType
    package let count: Int
    package let payloads: PayloadFile
    package let fileSize: Int
    let region: MappedRegion
    let vectorsOffset: Int
    let vectorsLength: Int
    let vectorsCRC: UInt32
    let keysOffset: Int
    let flagsOffset: Int
    let quantMin: [Float]
    let quantScale: [Float]
    let decoded = Lock<DecodedRows?>(nil)
    /// Whether the vectors checksum has been checked (or need not be); see ``verifyOnFirstUse()``.
    let checked = Atomic<Bool>(false)
    /// The damage found by the first-use check, thrown to every later use.
    let damage = Lock<VecDBError?>(nil)

    package static func fileName(id: UInt64) -> String { "seg-" + hex16(id) + ".vec" }
    package static func payloadFileName(id: UInt64) -> String { "seg-" + hex16(id) + ".pay" }

    /// Maps a segment and checks everything but the vector bytes.
    package init(fs: FileSystem, directory: String, id: UInt64, dimension: Int, elementType: ElementType, metric: Metric, expectedRows: Int)
        throws(VecDBError)
    {
        self.id = id
        let path = directory + "/" + Self.fileName(id: id)
        self.path = path
        self.dimension = dimension
        self.elementType = elementType
        func bad(_ why: String) -> VecDBError { VecDBError(.corruptFile, "segment file '\(path)' \(why)", path: path) }

        let h = try fs.open(path, writable: false)
        defer { h.close() }
        let size = try h.size()
        fileSize = size
        guard size >= SegmentWriter.headerSize else { throw bad("is truncated: \(size) bytes, shorter than its 128-byte header") }
        region = try h.mapReadOnly(count: size)
        let raw = region.bytes
        guard raw.prefix(8).elementsEqual("VECDBSEG".utf8) else { throw bad("has a bad magic number") }
        guard
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<124]))
                == raw.loadUnaligned(fromByteOffset: 124, as: UInt32.self).littleEndian
        else {
            throw bad("has a damaged header (checksum mismatch)")
        }
        func u64(_ o: Int) -> Int { Int(clamping: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self).littleEndian) }
        func u32(_ o: Int) -> UInt32 { raw.loadUnaligned(fromByteOffset: o, as: UInt32.self).littleEndian }
        let version = u32(8)
        guard version == 1 else {
            throw VecDBError(.unsupported, "segment file '\(path)' has format version \(version); this build reads version 1", path: path)
        }
        guard Int(u32(16)) == dimension, raw[20] == elementType.code, raw[21] == metric.code else {
            throw bad("does not match its collection (dimension \(u32(16)), element type \(raw[20]), metric \(raw[21]))")
        }
        let rows = u64(24)
        guard rows == expectedRows else { throw bad("holds \(rows) rows; the manifest says \(expectedRows)") }
        count = rows
        vectorsOffset = u64(32)
        vectorsLength = u64(40)
        keysOffset = u64(48)
        let keysLength = u64(56)
        flagsOffset = u64(64)
        let flagsLength = u64(72)
        let qo = u64(80)
        let ql = u64(88)
        vectorsCRC = u32(96)
        func fits(_ o: Int, _ n: Int) -> Bool { o >= SegmentWriter.headerSize && n >= 0 && o <= size && n <= size - o }
        // Every size derived from the row count is computed without trapping: a damaged count
        // near Int.max must give an error, not an overflow.
        let vectorBytes = rows.multipliedReportingOverflow(by: dimension * elementType.width)
        let keyIndexBytes = rows < Int.max / 8 - 1 ? (rows + 1) * 8 : Int.max
        guard vectorsOffset % 64 == 0, fits(vectorsOffset, vectorsLength), !vectorBytes.overflow,
            vectorsLength == vectorBytes.partialValue,
            fits(keysOffset, keysLength), keysLength >= keyIndexBytes, keysOffset % 8 == 0,
            fits(flagsOffset, flagsLength), flagsLength == rows,
            ql == 0 || fits(qo, ql)
        else { throw bad("is truncated or its section bounds are damaged (file \(size) bytes)") }
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[keysOffset..<(keysOffset + keysLength)])) == u32(100) else {
            throw bad("has damaged keys (checksum mismatch)")
        }
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[flagsOffset..<(flagsOffset + flagsLength)])) == u32(104) else {
            throw bad("has damaged row flags (checksum mismatch)")
        }
        // Key offsets must be monotone and inside the key bytes, so `key(at:)` never reads out of bounds.
        let blobLength = keysLength - keyIndexBytes
        var previous = 0
        for r in 0...rows {
            let o = u64(keysOffset + r * 8)
            guard o >= previous, o <= blobLength, r == 0 || o - previous >= 1 else { throw bad("has a damaged key index at row \(r)") }
            previous = o
        }
        if elementType == .int8 {
            guard ql == dimension * 8 else { throw bad("lacks its quantisation parameters") }
            guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[qo..<(qo + ql)])) == u32(108) else {
                throw bad("has damaged quantisation parameters (checksum mismatch)")
            }
            quantMin = (0..<dimension).map { Float(bitPattern: u32(qo + 4 * $0)) }
            quantScale = (0..<dimension).map { Float(bitPattern: u32(qo + 4 * (dimension + $0))) }
        } else {
            quantMin = []
            quantScale = []
        }
        payloads = try PayloadFile(fs: fs, path: directory + "/" + Self.payloadFileName(id: id), expectedRows: rows)
    }

    /// The key of `row`.
    package func key(at row: Int) -> Key {
        let raw = region.bytes
        let start = Int(clamping: raw.loadUnaligned(fromByteOffset: keysOffset + row * 8, as: UInt64.self).littleEndian)
        let end = Int(clamping: raw.loadUnaligned(fromByteOffset: keysOffset + row * 8 + 8, as: UInt64.self).littleEndian)
        let blob = keysOffset + (count + 1) * 8
        if raw[blob + start] == Key.intTag && end - start == 9 {
            return .int(raw.loadUnaligned(fromByteOffset: blob + start + 1, as: UInt64.self).littleEndian)
        }
        return .string(String(decoding: UnsafeRawBufferPointer(rebasing: raw[(blob + start + 1)..<(blob + end)]), as: UTF8.self))
    }

    package func hasPayload(_ row: Int) -> Bool { region.bytes[flagsOffset + row] & 1 != 0 }

    /// The rows as Float32: a view of the mapping for Float32 segments, otherwise decoded once
    /// and kept for the segment's lifetime (compaction uses this; search does not).
    package func rows() -> RowMatrix {
        let raw = region.bytes
        if elementType == .float32 {
            guard let base = raw.baseAddress, count > 0 else { return emptyRows() }
            return RowMatrix(base: (base + vectorsOffset).assumingMemoryBound(to: Float.self), count: count, dimension: dimension)
        }
        let d = decoded.withLock { (slot: inout DecodedRows?) -> DecodedRows in
            if let s = slot { return s }
            let s = DecodedRows(count: count * dimension)
            for r in 0..<count { decode(row: r, into: s.base + r * dimension) }
            slot = s
            return s
        }
        return RowMatrix(base: d.base, count: count, dimension: dimension)
    }

    /// The rows as stored, for indexes that read them in place: Float32 and Float16 segments
    /// give a view of the mapping; Int8 segments give their decoded rows (``rows()``).
    package func storedRows() -> StoredRows {
        if elementType == .float16, count > 0, let raw = region.bytes.baseAddress {
            return StoredRows(float16: (raw + vectorsOffset).assumingMemoryBound(to: UInt16.self), count: count, dimension: dimension)
        }
        return StoredRows(rows())
    }

    /// Whether ``rows()`` has decoded this (Float16 or Int8) segment into memory.
    package var hasDecodedRows: Bool { decoded.withLock { $0 != nil } }

    func emptyRows() -> RowMatrix {
        RowMatrix(base: Segment.dummy.base, count: 0, dimension: dimension)
    }

    static let dummy = DecodedRows(count: 1)

    func decode(row r: Int, into out: UnsafeMutablePointer<Float>) {
        let raw = region.bytes
        let d = dimension
        switch elementType {
        case .float32:
            UnsafeMutableRawPointer(out).copyMemory(from: raw.baseAddress.unsafelyUnwrapped + vectorsOffset + r * d * 4, byteCount: d * 4)
        case .float16:
            for j in 0..<d {
                out[j] = HalfFloat.value(raw.loadUnaligned(fromByteOffset: vectorsOffset + (r * d + j) * 2, as: UInt16.self).littleEndian)
            }
        case .int8:
            for j in 0..<d { out[j] = quantMin[j] + Float(raw[vectorsOffset + r * d + j]) * quantScale[j] }
        }
    }

    /// Offers every row that `allow` admits (all when `nil`) to `heap`, exactly: Float32 rows
    /// through `search`'s scan of the mapping, Float16 and Int8 rows on their stored components
    /// with the matching kernel (chosen once, before the loop), so quantised segments are
    /// searched without decoding them. Ids are `idBase + row`; `q` is prepared by `search`.
    ///
    /// Distances follow the metric as for Float32 rows; cosine segments hold unit-length
    /// vectors (before rounding), so cosine is `1 - q·x`.
    package func scan(
        prepared q: UnsafePointer<Float>, using search: ExactSearch, idBase: UInt64,
        allow: ((Int) -> Bool)?, heap: inout TopKHeap
    ) {
        guard count > 0, heap.k > 0 else { return }
        if elementType == .float32 {
            search.scan(prepared: q, rows: rows(), idBase: idBase, allow: allow, heap: &heap)
        } else {
            offer((0..<count).lazy.filter { allow?($0) ?? true }, prepared: q, using: search, idBase: idBase, heap: &heap)
        }
    }

    /// Offers the listed rows (each below ``count``) to `heap`, exactly, as
    /// ``scan(prepared:using:idBase:allow:heap:)`` does for the rows it admits: the plan for a
    /// filter that few rows match, which reads only those rows.
    package func scan(
        prepared q: UnsafePointer<Float>, using search: ExactSearch, idBase: UInt64, rows list: [UInt32], heap: inout TopKHeap
    ) {
        guard count > 0, heap.k > 0 else { return }
        offer(list.lazy.map { Int($0) }.filter { $0 < self.count }, prepared: q, using: search, idBase: idBase, heap: &heap)
    }

    /// Offers each of `rowsToScan` to `heap`, one distance at a time, on the stored components
    /// with the element type's kernel (chosen once, before the loop).
    func offer<S: Sequence>(
        _ rowsToScan: S, prepared q: UnsafePointer<Float>, using search: ExactSearch, idBase: UInt64, heap: inout TopKHeap
    ) where S.Element == Int {
        guard let raw = region.bytes.baseAddress else { return }
        let d = dimension
        let metric = search.metric
        let kernels = search.kernels
        let sign: Float = metric == .l2 ? 1 : -1
        let offset: Float = metric == .cosine ? 1 : 0
        switch elementType {
        case .float32:
            let m = rows()
            let pair = search.pairDistance()
            for r in rowsToScan {
                let dist = pair(q, m[r], d)
                if dist <= heap.threshold { heap.push(distance: dist, id: idBase &+ UInt64(r)) }
            }
        case .float16:
            let base = (raw + vectorsOffset).assumingMemoryBound(to: UInt16.self)
            let f = metric == .l2 ? kernels.l2sqF16 : kernels.ipF16
            for r in rowsToScan {
                let dist = offset + sign * f(q, base + r * d, d)
                if dist <= heap.threshold { heap.push(distance: dist, id: idBase &+ UInt64(r)) }
            }
        case .int8:
            let base = (raw + vectorsOffset).assumingMemoryBound(to: UInt8.self)
            let f = metric == .l2 ? kernels.l2sqSQ8 : kernels.ipSQ8
            quantMin.withUnsafeBufferPointer { mn in
                quantScale.withUnsafeBufferPointer { sc in
                    for r in rowsToScan {
                        let dist = offset + sign * f(q, base + r * d, mn.baseAddress, sc.baseAddress, d)
                        if dist <= heap.threshold { heap.push(distance: dist, id: idBase &+ UInt64(r)) }
                    }
                }
            }
        }
    }

    /// The Float32 components of `row`.
    package func vector(at row: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: dimension) { buf, n in
            decode(row: row, into: buf.baseAddress.unsafelyUnwrapped)
            n = dimension
        }
    }

    /// Checks the vectors checksum the first time any caller reads this segment's vectors, once
    /// (concurrent first callers wait for the one check). Opening checks every checksum but that
    /// of the vectors, which would read them all; this makes the check lazy, so damaged vectors
    /// are never searched or returned, yet opening stays cheap. Payload blocks are checked as
    /// they are read.
    ///
    /// - Throws: ``VecDBError/Code/corruptFile`` naming the file, on this and every later call.
    package func verifyOnFirstUse() throws(VecDBError) {
        if checked.load(ordering: .acquiring) { return }
        try damage.withLock { (d: inout VecDBError?) throws(VecDBError) in
            if let d { throw d }
            if checked.load(ordering: .acquiring) { return }
            do throws(VecDBError) {
                try verifyVectors()
            } catch {
                d = error
                throw error
            }
            checked.store(true, ordering: .releasing)
        }
    }

    /// Records that the vectors need no first-use check: just written by this process, already
    /// verified, or checking turned off.
    package func markChecked() { checked.store(true, ordering: .releasing) }

    func verifyVectors() throws(VecDBError) {
        let raw = region.bytes
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[vectorsOffset..<(vectorsOffset + vectorsLength)])) == vectorsCRC else {
            throw VecDBError(.corruptFile, "segment file '\(path)' has damaged vectors (checksum mismatch)", path: path)
        }
    }

    /// Checks the vectors checksum and every payload block.
    package func verify() throws(VecDBError) {
        try verifyVectors()
        markChecked()
        try payloads.verify()
    }
}
