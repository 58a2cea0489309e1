// The write-ahead log of one collection: `wal-GGGGGGGGGGGGGGGG.log` (G = generation, hex).
//
// Every batch of mutations is one checksummed frame, so a batch is committed atomically: a
// frame is either wholly valid (and replayed) or not. A crash can only cut the log short: frames
// are appended with one pwrite each, in order, and a kill or power loss leaves a prefix of what
// was written (ext4 and XFS grow a file's size only after its data is on disk). So replay tells
// a torn tail from corruption like this:
//
//   - torn tail, cut off and dropped: the file ends inside the last frame (fewer than 20 header
//     bytes remain, or the header is intact but its body runs past the end of the file), or the
//     last frame's header fails its checksum and its length field does not reach exactly to the
//     end of the file (a zero-filled or half-written header), with no valid frame after it;
//   - corruption, refused: a complete frame (intact header, body wholly inside the file) whose
//     body fails its checksum or does not decode; a damaged header whose length field reaches
//     exactly to the end of the file; or any damaged frame with a valid frame after it. The
//     error names the file, the frame and its offset. The bytes are left as they are;
//     `vecdb repair` keeps a copy and cuts the log before the damaged frame.
//
// All integers are little-endian.
//
//   File header, 32 bytes:
//     0   8  magic "VECDBWAL"
//     8   4  format version, 1
//    12   4  dimension of the collection
//    16   8  generation (the number in the file name)
//    24   4  reserved, 0
//    28   4  CRC-32C of bytes 0..<28
//
//   Frame (one per batch), 20-byte header then the body:
//     0   4  body length N
//     4   4  CRC-32C of the body
//     8   8  sequence number: 1 for the first frame of the file, then +1 each frame
//    16   4  CRC-32C of bytes 0..<16 of this frame header
//    20   N  body
//
//   Body (a batch: its deletes apply first, then its upserts, in order):
//     varint  D, the number of deleted keys, then D keys
//     varint  U, the number of upserted records, then U times:
//                key, then varint P: 0 for no payload, else P-1 payload bytes follow
//     U × dimension × 4 bytes: the upserted vectors, Float32, in record order
//
//   Key: u8 tag; tag 0: u64 integer; tag 1: varint length then UTF-8 bytes.
//
// Group commit: writers append frames with pwrite under the collection's writer lock, then ask
// for durability up to their frame's end; one fsync covers every frame written before it, so
// concurrent writers share fsyncs. In `.periodic` durability a timer fsyncs instead.
import VecDBKernels

/// One atomic batch of mutations, as the WAL stores it.
package struct WALBatch: Sendable, Equatable {
    package var deletes: [Key]
    package var keys: [Key]
    /// `keys.count × dimension` floats, row-major.
    package var vectors: [Float]
    package var payloads: [[UInt8]?]

    package init(deletes: [Key] = [], keys: [Key] = [], vectors: [Float] = [], payloads: [[UInt8]?] = []) {
        self.deletes = deletes
        self.keys = keys
        self.vectors = vectors
        self.payloads = payloads
    }

    package var isEmpty: Bool { deletes.isEmpty && keys.isEmpty }

    package func encodeBody(dimension: Int) -> [UInt8] {
        Array(encodeFrame(dimension: dimension)[WriteAheadLog.frameHeaderSize...])
    }

    /// A whole frame: the 20-byte header (length and body checksum filled in; the sequence
    /// number and header checksum are set by ``WriteAheadLog/append(frame:)``), then the body.
    /// The expensive work (encoding, checksumming) happens here, outside the writer lock.
    package func encodeFrame(dimension: Int) -> [UInt8] {
        var payloadBytes = 0
        for p in payloads { payloadBytes += p?.count ?? 0 }
        var w = ByteWriter(capacity: 36 + deletes.count * 10 + keys.count * (16 + dimension * 4) + payloadBytes)
        w.append([UInt8](repeating: 0, count: WriteAheadLog.frameHeaderSize))
        w.varint(UInt64(deletes.count))
        for k in deletes { k.encode(into: &w) }
        w.varint(UInt64(keys.count))
        for i in 0..<keys.count {
            keys[i].encode(into: &w)
            if let p = payloads[i] {
                w.varint(UInt64(p.count) + 1)
                w.append(p)
            } else {
                w.varint(0)
            }
        }
        vectors.withUnsafeBufferPointer { w.append(floats: $0) }
        let bodyLength = w.count - WriteAheadLog.frameHeaderSize
        let crc = w.bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[WriteAheadLog.frameHeaderSize...])) }
        w.patchU32(UInt32(truncatingIfNeeded: bodyLength), at: 0)
        w.patchU32(crc, at: 4)
        return w.bytes
    }

    package static func decodeBody(_ body: UnsafeRawBufferPointer, dimension: Int, what: String, path: String) throws(VecDBError)
        -> WALBatch
    {
        var r = ByteReader(body, what: what, path: path)
        var batch = WALBatch()
        let d = try r.length()
        batch.deletes.reserveCapacity(d)
        for _ in 0..<d { batch.deletes.append(try Key.decode(from: &r)) }
        let u = try r.length()
        batch.keys.reserveCapacity(u)
        batch.payloads.reserveCapacity(u)
        for _ in 0..<u {
            batch.keys.append(try Key.decode(from: &r))
            let p = try r.varint()
            if p == 0 {
                batch.payloads.append(nil)
            } else {
                guard p - 1 <= UInt64(r.remaining) else { throw r.truncated(Int(clamping: p - 1)) }
                batch.payloads.append(try r.array(Int(p - 1)))
            }
        }
        let floats = try r.bytes(u * dimension * 4)
        batch.vectors = [Float](unsafeUninitializedCapacity: u * dimension) { buf, n in
            if let dst = buf.baseAddress, let src = floats.baseAddress {
                UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: floats.count)
            }
            n = u * dimension
        }
        guard r.remaining == 0 else {
            throw VecDBError(.corruptFile, "\(what) has \(r.remaining) unexpected bytes after its records", path: path)
        }
        return batch
    }
}

/// Where a write-ahead log is damaged (as opposed to torn by a crash), for the error message
/// and for `vecdb repair`.
package struct WALDamage: Sendable, Equatable {
    package var path: String
    /// Byte offset of the damaged frame; `vecdb repair` cuts the log here.
    package var offset: Int
    /// Sequence number of the damaged frame (1 for the first).
    package var frame: UInt64
    package var reason: String

    package var error: VecDBError {
        VecDBError(
            .corruptFile,
            "write-ahead log '\(path)' is damaged at offset \(offset): \(reason); the file is kept as it is, and the \(frame - 1) frames before it are intact; `vecdb repair` keeps a copy of the log and cuts it at offset \(offset), dropping frame \(frame) and any after it",
            path: path)
    }
}

/// The append-only log of one collection. See the comment at the top of this file for the format.
package final class WriteAheadLog: @unchecked Sendable {
    // Sendable: all mutable state is inside `state` (a Mutex); `syncGate` serialises fsyncs.
    package static let magic: [UInt8] = Array("VECDBWAL".utf8)
    package static let version: UInt32 = 1
    package static let headerSize = 32
    package static let frameHeaderSize = 20

    package let path: String
    package let generation: UInt64
    let dimension: Int
    let handle: FileHandle

    struct State {
        var end: Int
        var syncedEnd: Int
        var nextSequence: UInt64
        var failure: VecDBError?
    }

    let state: Lock<State>
    let syncGate = Lock<Void>(())

    init(path: String, generation: UInt64, dimension: Int, handle: FileHandle, end: Int, nextSequence: UInt64) {
        self.path = path
        self.generation = generation
        self.dimension = dimension
        self.handle = handle
        state = Lock(State(end: end, syncedEnd: end, nextSequence: nextSequence, failure: nil))
    }

    package static func fileName(generation: UInt64) -> String {
        "wal-" + hex16(generation) + ".log"
    }

    static func header(dimension: Int, generation: UInt64) -> [UInt8] {
        var w = ByteWriter(capacity: headerSize)
        w.append(magic)
        w.u32(version)
        w.u32(UInt32(dimension))
        w.u64(generation)
        w.u32(0)
        w.u32(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    /// Creates an empty log (header only), fsynced. The caller fsyncs the directory.
    package static func create(fs: FileSystem, path: String, dimension: Int, generation: UInt64) throws(VecDBError) -> WriteAheadLog {
        let h = try fs.open(path, writable: true, create: true, truncate: true)
        try h.write(header(dimension: dimension, generation: generation), at: 0)
        try h.sync()
        return WriteAheadLog(path: path, generation: generation, dimension: dimension, handle: h, end: headerSize, nextSequence: 1)
    }

    /// The outcome of reading a log from disk.
    package struct Replay {
        package var batches: [WALBatch]
        /// Where the valid frames end.
        package var validEnd: Int
        /// Bytes after `validEnd` that were discarded as a torn tail.
        package var discardedBytes: Int
        package var nextSequence: UInt64
    }

    /// Reads every committed batch of the log at `path`.
    ///
    /// - Throws: ``VecDBError/Code/corruptFile`` naming the file when the header is damaged or a
    ///   damaged frame is followed by a valid one.
    package static func replay(fs: FileSystem, path: String, dimension: Int, generation: UInt64) throws(VecDBError) -> Replay {
        let bytes = try fs.readAll(path)
        return try typed {
            try bytes.withUnsafeBytes { raw in
                try replay(raw, path: path, dimension: dimension, generation: generation)
            }
        }
    }

    static func replay(_ raw: UnsafeRawBufferPointer, path: String, dimension: Int, generation: UInt64) throws(VecDBError) -> Replay {
        switch try inspect(raw, path: path, dimension: dimension, generation: generation) {
        case .replay(let r): return r
        case .damaged(let d): throw d.error
        }
    }

    /// What a log holds: its committed batches, or the first damaged frame.
    package enum Inspection {
        case replay(Replay)
        case damaged(WALDamage)
    }

    /// Reads the log at `path` like ``replay(fs:path:dimension:generation:)``, but returns a
    /// damaged frame instead of throwing it (for `vecdb check` and `repair`). A damaged header
    /// still throws.
    package static func inspect(fs: FileSystem, path: String, dimension: Int, generation: UInt64) throws(VecDBError) -> Inspection {
        let bytes = try fs.readAll(path)
        return try typed {
            try bytes.withUnsafeBytes { raw in
                try inspect(raw, path: path, dimension: dimension, generation: generation)
            }
        }
    }

    static func inspect(_ raw: UnsafeRawBufferPointer, path: String, dimension: Int, generation: UInt64) throws(VecDBError)
        -> Inspection
    {
        guard raw.count >= headerSize else {
            throw VecDBError(
                .corruptFile, "write-ahead log '\(path)' is truncated: \(raw.count) bytes, shorter than its \(headerSize)-byte header",
                path: path)
        }
        guard raw.prefix(8).elementsEqual(magic) else {
            throw VecDBError(.corruptFile, "write-ahead log '\(path)' has a bad magic number", path: path)
        }
        let headerCRC = raw.loadUnaligned(fromByteOffset: 28, as: UInt32.self).littleEndian
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<28])) == headerCRC else {
            throw VecDBError(.corruptFile, "write-ahead log '\(path)' has a damaged header (checksum mismatch)", path: path)
        }
        let version = raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian
        guard version == Self.version else {
            throw VecDBError(
                .unsupported, "write-ahead log '\(path)' has format version \(version); this build reads version \(Self.version)",
                path: path)
        }
        let dim = Int(raw.loadUnaligned(fromByteOffset: 12, as: UInt32.self).littleEndian)
        let gen = raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian
        guard dim == dimension, gen == generation else {
            throw VecDBError(
                .corruptFile, "write-ahead log '\(path)' belongs to another collection or generation (dimension \(dim), generation \(gen))",
                path: path)
        }
        var batches: [WALBatch] = []
        var offset = headerSize
        var sequence: UInt64 = 1
        while offset < raw.count {
            switch frameHeader(raw, at: offset, sequence: sequence) {
            case .intact(let length, let bodyCRC):
                let body = UnsafeRawBufferPointer(rebasing: raw[(offset + frameHeaderSize)..<(offset + frameHeaderSize + length)])
                guard CRC32C.checksum(body) == bodyCRC else {
                    return .damaged(
                        WALDamage(
                            path: path, offset: offset, frame: sequence,
                            reason: "frame \(sequence) is complete but its body fails its checksum"))
                }
                do throws(VecDBError) {
                    batches.append(
                        try WALBatch.decodeBody(
                            body, dimension: dimension, what: "frame \(sequence) of write-ahead log '\(path)'", path: path))
                } catch {
                    return .damaged(WALDamage(path: path, offset: offset, frame: sequence, reason: error.message))
                }
                offset += frameHeaderSize + length
                sequence += 1
                continue
            case .damagedComplete:
                return .damaged(
                    WALDamage(
                        path: path, offset: offset, frame: sequence,
                        reason: "frame \(sequence) has a damaged header although its length reaches exactly to the end of the file"))
            case .torn:
                break
            }
            // A torn frame: the tail left by a crash, unless a valid frame follows it.
            if let later = findValidFrame(raw, after: offset, minimumSequence: sequence) {
                return .damaged(
                    WALDamage(
                        path: path, offset: offset, frame: sequence,
                        reason: "frame \(sequence) fails its checksum but valid frames follow at offset \(later)"))
            }
            return .replay(Replay(batches: batches, validEnd: offset, discardedBytes: raw.count - offset, nextSequence: sequence))
        }
        return .replay(Replay(batches: batches, validEnd: offset, discardedBytes: 0, nextSequence: sequence))
    }

    package enum FrameHeader {
        /// Intact, the expected sequence number, and the body wholly inside the file.
        case intact(length: Int, bodyCRC: UInt32)
        /// The header fails its checksum, but its length field reaches exactly to the end of
        /// the file: a complete frame damaged after it was written, not one cut short.
        case damagedComplete
        /// Cut short by the end of the file, or a header that a crash left half-written.
        case torn
    }

    /// Classifies the frame at `offset` (see the top of this file). The interaction log, which
    /// shares this framing, uses it too.
    package static func frameHeader(_ raw: UnsafeRawBufferPointer, at offset: Int, sequence: UInt64) -> FrameHeader {
        if let (length, crc) = validFrameHeader(raw, at: offset, sequence: sequence) { return .intact(length: length, bodyCRC: crc) }
        guard raw.count - offset >= frameHeaderSize else { return .torn }
        let length = Int(raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian)
        let headerIsZero = UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + frameHeaderSize)]).allSatisfy { $0 == 0 }
        return !headerIsZero && length == raw.count - offset - frameHeaderSize ? .damagedComplete : .torn
    }

    /// The body length and CRC of the frame at `offset` when its header is intact and fits.
    static func validFrameHeader(_ raw: UnsafeRawBufferPointer, at offset: Int, sequence: UInt64?) -> (Int, UInt32)? {
        guard raw.count - offset >= frameHeaderSize else { return nil }
        let h = UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + 16)])
        let crc = raw.loadUnaligned(fromByteOffset: offset + 16, as: UInt32.self).littleEndian
        guard CRC32C.checksum(h) == crc else { return nil }
        let length = Int(raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian)
        let seq = raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self).littleEndian
        if let sequence, seq != sequence { return nil }
        guard length <= raw.count - offset - frameHeaderSize else { return nil }
        return (length, raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self).littleEndian)
    }

    package static func findValidFrame(_ raw: UnsafeRawBufferPointer, after offset: Int, minimumSequence: UInt64) -> Int? {
        var o = offset + 1
        while o + frameHeaderSize <= raw.count {
            if let (length, crc) = validFrameHeader(raw, at: o, sequence: nil) {
                let seq = raw.loadUnaligned(fromByteOffset: o + 8, as: UInt64.self).littleEndian
                let body = UnsafeRawBufferPointer(rebasing: raw[(o + frameHeaderSize)..<(o + frameHeaderSize + length)])
                if seq >= minimumSequence && CRC32C.checksum(body) == crc { return o }
            }
            o += 1
        }
        return nil
    }

    /// Opens an existing log for appending after `replay`, cutting off a torn tail durably.
    package static func openForAppend(fs: FileSystem, path: String, dimension: Int, generation: UInt64, replay: Replay) throws(VecDBError)
        -> WriteAheadLog
    {
        let h = try fs.open(path, writable: true)
        if replay.discardedBytes > 0 {
            try h.truncate(to: replay.validEnd)
            try h.sync()
        }
        return WriteAheadLog(
            path: path, generation: generation, dimension: dimension, handle: h, end: replay.validEnd, nextSequence: replay.nextSequence)
    }

    /// Bytes in the log, header included.
    package var size: Int { state.withLock { $0.end } }

    /// Appends one frame holding `body`, without fsync; see ``append(frame:)``.
    package func append(body: [UInt8]) throws(VecDBError) -> Int {
        var frame = [UInt8](repeating: 0, count: Self.frameHeaderSize)
        frame.append(contentsOf: body)
        var w = ByteWriter()
        swap(&w.bytes, &frame)
        w.patchU32(UInt32(truncatingIfNeeded: body.count), at: 0)
        w.patchU32(CRC32C.checksum(body), at: 4)
        return try append(frame: &w.bytes)
    }

    /// Appends a frame made by ``WALBatch/encodeFrame(dimension:)``, without fsync, after
    /// setting its sequence number and header checksum. Returns the end offset of the frame, to
    /// pass to ``sync(through:)``.
    ///
    /// On failure (such as ENOSPC) the file is cut back to its previous end so that no partial
    /// frame stays behind; if even that fails, the log refuses further writes.
    package func append(frame: inout [UInt8]) throws(VecDBError) -> Int {
        try state.withLock { (s: inout State) throws(VecDBError) -> Int in
            if let f = s.failure { throw f }
            guard frame.count - Self.frameHeaderSize <= Int(UInt32.max) else {
                throw VecDBError(.invalidArgument, "batch of \(frame.count) bytes is too large for one WAL frame (4 GiB at most)")
            }
            var w = ByteWriter()
            swap(&w.bytes, &frame)
            defer { swap(&w.bytes, &frame) }
            w.patchU64(s.nextSequence, at: 8)
            w.patchU32(w.bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<16])) }, at: 16)
            do throws(VecDBError) {
                try handle.write(w.bytes, at: s.end)
            } catch {
                do throws(VecDBError) {
                    try handle.truncate(to: s.end)
                } catch let e2 {
                    s.failure = VecDBError(
                        e2.code,
                        "write-ahead log '\(path)' could not be cut back after a failed write (\(e2.message)); reopen the database",
                        path: path, errno: e2.errno)
                }
                throw error
            }
            s.end += w.count
            s.nextSequence += 1
            return s.end
        }
    }

    /// Makes every frame up to `end` durable. Concurrent callers share one fsync (group commit).
    package func sync(through end: Int) throws(VecDBError) {
        if state.withLock({ $0.syncedEnd >= end }) { return }
        try syncGate.withLock { (_: inout Void) throws(VecDBError) in
            let (written, synced, failure) = state.withLock { ($0.end, $0.syncedEnd, $0.failure) }
            if let failure { throw failure }
            if synced >= end { return }
            do throws(VecDBError) {
                try handle.sync()
            } catch {
                // After a failed fsync the page cache state is unknown (fsyncgate): stop writing.
                state.withLock {
                    $0.failure = VecDBError(
                        error.code, "write-ahead log '\(path)' failed to fsync (\(error.message)); reopen the database", path: path,
                        errno: error.errno)
                }
                throw error
            }
            state.withLock { $0.syncedEnd = max($0.syncedEnd, written) }
        }
    }

    /// Makes everything written so far durable.
    package func syncAll() throws(VecDBError) {
        try sync(through: state.withLock { $0.end })
    }

    package func close() { handle.close() }
}

package func hex16(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: max(0, 16 - s.count)) + s
}
