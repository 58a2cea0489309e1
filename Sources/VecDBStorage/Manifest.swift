// Manifest of one collection: `MANIFEST`, replaced atomically.
//
// The manifest names the collection's live files: its write-ahead log generation and its
// segments, with the rows of each segment that are deleted. A new manifest is written to
// `MANIFEST.tmp`, fsynced, renamed over `MANIFEST`, and the directory is fsynced, so after a
// crash the old or the new manifest is in place, never a mixture. Files that the manifest does
// not name (a segment written before a crash, the WAL of an earlier generation) are leftovers
// and are removed when the collection is opened for writing.
//
// All integers are little-endian.
//
//   0   8  magic "VECDBMAN"
//   8   4  format version, 1
//  12   4  body length N
//  16   N  body:
//            u32 dimension, u8 metric (0 l2, 1 ip, 2 cosine),
//            u8 element type (0 Float32, 1 Float16, 2 Int8), u16 reserved 0,
//            u64 WAL generation, u64 next segment id, u64 next WAL generation,
//            u32 segment count S, then S times:
//              u64 segment id, u64 row count, u64 deleted count X, X × u32 deleted row
//                (ascending)
//  16+N 4  CRC-32C of bytes 0..<16+N
import VecDBKernels

package struct Manifest: Sendable, Equatable {
    package struct SegmentEntry: Sendable, Equatable {
        package var id: UInt64
        package var rowCount: Int
        package var deletedRows: [UInt32]

        package init(id: UInt64, rowCount: Int, deletedRows: [UInt32]) {
            self.id = id
            self.rowCount = rowCount
            self.deletedRows = deletedRows
        }
    }

    package static let fileName = "MANIFEST"
    package var dimension: Int
    package var metric: Metric
    package var elementType: ElementType
    package var walGeneration: UInt64
    package var nextSegmentID: UInt64
    package var nextWALGeneration: UInt64
    package var segments: [SegmentEntry]

    package init(dimension: Int, metric: Metric, elementType: ElementType) {
        self.dimension = dimension
        self.metric = metric
        self.elementType = elementType
        walGeneration = 1
        nextSegmentID = 1
        nextWALGeneration = 2
        segments = []
    }

    package func encode() -> [UInt8] {
        var body = ByteWriter(capacity: 64 + segments.count * 32)
        body.u32(UInt32(dimension))
        body.u8(metric.code)
        body.u8(elementType.code)
        body.u16(0)
        body.u64(walGeneration)
        body.u64(nextSegmentID)
        body.u64(nextWALGeneration)
        body.u32(UInt32(segments.count))
        for s in segments {
            body.u64(s.id)
            body.u64(UInt64(s.rowCount))
            body.u64(UInt64(s.deletedRows.count))
            for r in s.deletedRows { body.u32(r) }
        }
        var w = ByteWriter(capacity: body.count + 20)
        w.append(Array("VECDBMAN".utf8))
        w.u32(1)
        w.u32(UInt32(body.count))
        w.append(body.bytes)
        w.u32(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    package static func decode(_ bytes: [UInt8], path: String) throws(VecDBError) -> Manifest {
        func bad(_ why: String) -> VecDBError { VecDBError(.corruptFile, "manifest '\(path)' \(why)", path: path) }
        guard bytes.count >= 20 else { throw bad("is truncated: \(bytes.count) bytes") }
        guard bytes.prefix(8).elementsEqual("VECDBMAN".utf8) else { throw bad("has a bad magic number") }
        return try typed {
            try bytes.withUnsafeBytes { raw in
                var r = ByteReader(raw, offset: 8, what: "manifest '\(path)'", path: path)
                let version = try r.u32()
                let n = Int(try r.u32())
                guard n <= bytes.count - 20 else { throw bad("is truncated: its body needs \(n) bytes, the file has \(bytes.count - 20)") }
                guard bytes.count == 20 + n else { throw bad("has \(bytes.count - 20 - n) unexpected trailing bytes") }
                let crc = raw.loadUnaligned(fromByteOffset: 16 + n, as: UInt32.self).littleEndian
                guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<(16 + n)])) == crc else {
                    throw bad("is damaged (checksum mismatch)")
                }
                guard version == 1 else {
                    throw VecDBError(
                        .unsupported, "manifest '\(path)' has format version \(version); this build reads version 1", path: path)
                }
                let dim = Int(try r.u32())
                guard let metric = Metric(code: try r.u8()) else { throw bad("names an unknown metric") }
                guard let et = ElementType(code: try r.u8()) else { throw bad("names an unknown element type") }
                _ = try r.u16()
                var m = Manifest(dimension: dim, metric: metric, elementType: et)
                m.walGeneration = try r.u64()
                m.nextSegmentID = try r.u64()
                m.nextWALGeneration = try r.u64()
                let count = Int(try r.u32())
                for _ in 0..<count {
                    let id = try r.u64()
                    let rows = Int(clamping: try r.u64())
                    let x = Int(clamping: try r.u64())
                    try r.need(x.multipliedReportingOverflow(by: 4).overflow ? -1 : x * 4)
                    var dead: [UInt32] = []
                    dead.reserveCapacity(x)
                    for _ in 0..<x {
                        let row = try r.u32()
                        guard Int(row) < rows, dead.last.map({ $0 < row }) ?? true else {
                            throw bad("lists deleted row \(row) of segment \(id) out of order or range")
                        }
                        dead.append(row)
                    }
                    m.segments.append(SegmentEntry(id: id, rowCount: rows, deletedRows: dead))
                }
                guard r.offset == 16 + n else { throw bad("has a body of the wrong length") }
                return m
            }
        }
    }
}
