// Fuzz targets for the storage engine's files: the write-ahead log, segments, the manifest and
// payload files (formats: the comments at the top of Sources/VecDBStorage/*.swift).
//
// Each target writes the (possibly checksum-repaired) bytes to a scratch file, opens it with
// the reader the engine uses, then reads everything the file claims to hold.
import VecDB
import VecDBKernels
import VecDBStorage

/// Little-endian field access on a file's bytes, for the checksum repairs.
extension Array where Element == UInt8 {
    func u32(_ at: Int) -> UInt32 {
        guard at >= 0, at + 4 <= count else { return 0 }
        return (0..<4).reduce(UInt32(0)) { $0 | UInt32(self[at + $1]) << (8 * $1) }
    }

    func u64(_ at: Int) -> UInt64 {
        guard at >= 0, at + 8 <= count else { return 0 }
        return (0..<8).reduce(UInt64(0)) { $0 | UInt64(self[at + $1]) << (8 * $1) }
    }

    mutating func put(_ v: UInt32, _ at: Int) {
        guard at >= 0, at + 4 <= count else { return }
        for i in 0..<4 { self[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) }
    }

    /// The CRC-32C of bytes `range` (clamped to the array).
    func crc(_ range: Range<Int>) -> UInt32 {
        let lo = Swift.max(0, Swift.min(range.lowerBound, count))
        let hi = Swift.max(lo, Swift.min(range.upperBound, count))
        return CRC32C.checksum(self[lo..<hi])
    }

    /// Sets the checksum at `at` to the CRC-32C of `range`, when both lie inside the array.
    mutating func fixCRC(at: Int, of range: Range<Int>) {
        guard range.lowerBound >= 0, range.upperBound <= count else { return }
        put(crc(range), at)
    }
}

enum StorageTargets {
    /// The write-ahead log: replay, as opening a collection does.
    static func wal(_ file: inout [UInt8], fix: Bool) {
        let dimension = file.count >= 32 ? Int(file.u32(12)) : 4
        let generation = file.count >= 32 ? file.u64(16) : 1
        if fix && file.count >= 32 {
            file.fixCRC(at: 28, of: 0..<28)
            // Walk the frames by their lengths, repairing each header and body checksum.
            var o = WriteAheadLog.headerSize
            while o + WriteAheadLog.frameHeaderSize <= file.count {
                let n = Int(file.u32(o))
                let bodyEnd = o + WriteAheadLog.frameHeaderSize + n
                if bodyEnd <= file.count { file.fixCRC(at: o + 4, of: (o + 20)..<bodyEnd) }
                file.fixCRC(at: o + 16, of: o..<(o + 16))
                guard bodyEnd <= file.count else { break }
                o = bodyEnd
            }
        }
        let path = Scratch.store(WriteAheadLog.fileName(generation: generation), file)
        defer { Scratch.remove(path) }
        guard let replay = try? WriteAheadLog.replay(fs: .system, path: path, dimension: dimension, generation: generation) else { return }
        for batch in replay.batches {
            _ = batch.encodeFrame(dimension: dimension)
            for p in batch.payloads { if let p { _ = try? Payload(encoded: p) } }
        }
    }

    /// A segment and its payload file: open (checks the header, keys, flags, quantisation),
    /// then read every key, flag, vector and payload and verify the vectors checksum.
    static func segment(_ file: inout [UInt8], fix: Bool) {
        guard file.count >= SegmentWriter.headerSize else {
            open(segment: file, dimension: 4, elementType: .float32, metric: .l2, rows: 0)
            return
        }
        if fix {
            func section(_ at: Int) -> Range<Int> {
                let o = Int(clamping: file.u64(at))
                let n = Int(clamping: file.u64(at + 8))
                return o <= file.count && n <= file.count - o ? o..<(o + n) : 0..<Int.max
            }
            file.fixCRC(at: 96, of: section(32))
            file.fixCRC(at: 100, of: section(48))
            file.fixCRC(at: 104, of: section(64))
            file.fixCRC(at: 108, of: section(80))
            file.fixCRC(at: 124, of: 0..<124)
        }
        // The manifest would give these; take the ones the header claims so the open goes deep.
        open(
            segment: file, dimension: Int(file.u32(16)), elementType: ElementType(code: file[20]) ?? .float32,
            metric: Metric(code: file[21]) ?? .l2, rows: Int(clamping: file.u64(24)))
    }

    static func open(segment file: [UInt8], dimension: Int, elementType: ElementType, metric: Metric, rows: Int) {
        let vec = Scratch.store(Segment.fileName(id: 1), file)
        defer { Scratch.remove(vec) }
        // A payload file for `rows` rows, none with a payload, when that is a plausible size.
        var pay: [UInt8] = []
        if rows >= 0 && rows <= 4 * file.count + 64 {
            pay = payloadFile(rows: rows)
        }
        let payPath = Scratch.store(Segment.payloadFileName(id: 1), pay)
        defer { Scratch.remove(payPath) }
        guard
            let s = try? Segment(
                fs: .system, directory: Scratch.directory, id: 1, dimension: dimension, elementType: elementType, metric: metric,
                expectedRows: rows)
        else { return }
        for r in 0..<s.count {
            _ = s.key(at: r)
            if s.hasPayload(r) { _ = try? s.payloads.payload(row: r) }
            _ = s.vector(at: r)
        }
        _ = s.rows()
        _ = try? s.verify()
    }

    /// An empty payload file for `rows` rows (none has a payload).
    static func payloadFile(rows: Int) -> [UInt8] {
        var index = ByteWriter()
        for _ in 0..<rows {
            index.u32(PayloadFileWriter.noBlock)
            index.u32(0)
            index.u32(0)
        }
        var h = ByteWriter(capacity: 64)
        h.append(Array("VECDBPAY".utf8))
        h.u32(1)
        h.u32(0)
        h.u64(UInt64(rows))
        h.u64(0)
        h.u64(64)
        h.u64(UInt64(index.count))
        h.u64(0)
        h.u32(CRC32C.checksum(index.bytes))
        h.u32(CRC32C.checksum(h.bytes))
        return h.bytes + index.bytes
    }

    /// The manifest: decode, then encode again.
    static func manifest(_ file: inout [UInt8], fix: Bool) {
        if fix && file.count >= 20 {
            let n = Int(file.u32(12))
            if n <= file.count - 20 { file.fixCRC(at: 16 + n, of: 0..<(16 + n)) }
        }
        guard let m = try? Manifest.decode(file, path: "MANIFEST") else { return }
        _ = m.encode()
    }

    /// A payload file: open, read (and decode, as the facade does) every row's payload, verify.
    static func payload(_ file: inout [UInt8], fix: Bool) {
        if fix && file.count >= 64 {
            let io = Int(clamping: file.u64(32))
            let il = Int(clamping: file.u64(40))
            if io <= file.count && il <= file.count - io { file.fixCRC(at: 56, of: io..<(io + il)) }
            file.fixCRC(at: 60, of: 0..<60)
            // Each block's checksum, for the blocks the index lists.
            let blocks = Int(clamping: file.u64(24))
            if io <= file.count, blocks <= (file.count - io) / 8 {
                for b in 0..<blocks {
                    let o = Int(clamping: file.u64(io + 8 * b))
                    guard o <= file.count - 16 else { continue }
                    let c = Int(file.u32(o))
                    if c <= file.count - o - 16 { file.fixCRC(at: o + 8, of: (o + 16)..<(o + 16 + c)) }
                }
            }
        }
        let path = Scratch.store(Segment.payloadFileName(id: 2), file)
        defer { Scratch.remove(path) }
        let rows = file.count >= 24 ? Int(clamping: file.u64(16)) : 0
        guard let f = try? PayloadFile(fs: .system, path: path, expectedRows: rows) else { return }
        for r in 0..<min(f.rowCount, 1 << 16) {
            if let p = try? f.payload(row: r) { _ = try? Payload(encoded: p) }
        }
        _ = try? f.verify()
    }
}
