// The interaction log of a database: `interactions.log` in the database directory.
//
// Append-only. Every call of `record(_:)` writes one checksummed frame and fsyncs it before
// returning, so a batch is committed atomically: on open, a frame is either wholly valid (and
// replayed) or not. The framing is the write-ahead log's, and so is the rule that tells a torn
// tail (a frame cut short by a crash: cut off, durably, before the first new append) from
// damage (a complete frame that fails its checksum, or a damaged frame with a valid one after
// it: opening fails naming the file and offset); see WriteAheadLog.swift.
//
// All integers are little-endian.
//
//   File header, 32 bytes:
//     0   8  magic "VECDBINT"
//     8   4  format version, 1
//    12  16  reserved, 0
//    28   4  CRC-32C of bytes 0..<28
//
//   Frame (one per recorded batch), 20-byte header then the body:
//     0   4  body length N
//     4   4  CRC-32C of the body
//     8   8  sequence number: 1 for the first frame of the file, then +1 each frame
//    16   4  CRC-32C of bytes 0..<16 of this frame header
//    20   N  body
//
//   Body:
//     varint  C, the number of interactions, then C times:
//       key     user
//       key     item
//       4       weight, Float32 (finite)
//       8       timestamp, Int64 (seconds since the Unix epoch)
//
//   Key: u8 tag; tag 0: u64 integer; tag 1: varint length then UTF-8 bytes (as in the WAL).
//
// The file is held with an exclusive flock while open, so two writers cannot interleave frames.
import VecDBKernels
import VecDBStorage

/// The durable, append-only record of a database's interactions.
///
/// Each ``record(_:)`` call is one atomic batch: it is checksummed (CRC-32C), written and
/// fsynced before the call returns, and after a crash it is either replayed whole on the next
/// ``open(directory:)`` or not at all. A torn tail left by a crash is cut off on open; frames
/// before it survive. The file format is drawn at the top of `InteractionLog.swift` and in
/// `docs/file-format.md`.
///
/// Thread-safe, hence `@unchecked Sendable`: the handle and every mutable field are used under
/// one `Mutex`.
public final class InteractionLog: @unchecked Sendable {
    package static let fileName = "interactions.log"
    package static let magic: [UInt8] = Array("VECDBINT".utf8)
    package static let version: UInt32 = 1
    package static let headerSize = 32
    package static let frameHeaderSize = 20

    /// The log file.
    public let path: String
    /// Bytes of a torn tail that opening cut off (0 after a clean shutdown).
    public let discardedBytes: Int

    struct State {
        var handle: FileHandle?
        var end: Int
        var nextSequence: UInt64
        var interactions: [Interaction]
        var failure: VecDBError?
    }

    let state: Lock<State>

    init(path: String, handle: FileHandle, end: Int, nextSequence: UInt64, interactions: [Interaction], discarded: Int) {
        self.path = path
        discardedBytes = discarded
        state = Lock(State(handle: handle, end: end, nextSequence: nextSequence, interactions: interactions, failure: nil))
    }

    deinit { close() }

    /// Opens the interaction log of the database in `directory`, creating it when missing, and
    /// replays every committed batch.
    ///
    /// - Parameter directory: the database directory (created when missing).
    /// - Returns: the open log; ``interactions`` holds what was recorded before.
    /// - Throws: ``VecDBError/Code/corruptFile`` when the header is damaged or a damaged frame
    ///   is followed by a valid one; ``VecDBError/Code/locked`` when another handle has the log
    ///   open; ``VecDBError/Code/io`` when a system call fails.
    /// - Complexity: O(size of the log).
    public static func open(directory: String) throws(VecDBError) -> InteractionLog {
        try open(directory: directory, fileSystem: .system)
    }

    /// ``open(directory:)`` through a chosen file layer (fault injection in tests).
    package static func open(directory: String, fileSystem fs: FileSystem) throws(VecDBError) -> InteractionLog {
        try fs.makeDirectories(directory)
        let path = directory + "/" + fileName
        if !fs.exists(path) || fs.fileSize(path) == 0 {
            let h = try fs.open(path, writable: true, create: true, truncate: true)
            guard try h.tryLock(exclusive: true) else { throw lockedError(path) }
            try h.write(header(), at: 0)
            try h.sync()
            try fs.syncDirectory(directory)
            return InteractionLog(path: path, handle: h, end: headerSize, nextSequence: 1, interactions: [], discarded: 0)
        }
        let h = try fs.open(path, writable: true)
        guard try h.tryLock(exclusive: true) else { throw lockedError(path) }
        let bytes = try h.read(count: try h.size(), at: 0)
        let replay = try typed { try bytes.withUnsafeBytes { raw in try Self.replay(raw, path: path) } }
        if replay.discarded > 0 {
            try h.truncate(to: replay.validEnd)
            try h.sync()
        }
        return InteractionLog(
            path: path, handle: h, end: replay.validEnd, nextSequence: replay.nextSequence,
            interactions: replay.interactions, discarded: replay.discarded)
    }

    static func lockedError(_ path: String) -> VecDBError {
        VecDBError(.locked, "interaction log '\(path)' is open in another handle or process", path: path)
    }

    static func header() -> [UInt8] {
        var w = ByteWriter(capacity: headerSize)
        w.append(magic)
        w.u32(version)
        w.append([UInt8](repeating: 0, count: 16))
        w.u32(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    // MARK: Recording

    /// Records `batch` atomically and durably.
    ///
    /// Every interaction is validated first; a batch with one invalid interaction records
    /// nothing. The batch is one frame, written and fsynced before this returns. After a failed
    /// write the file is cut back to where it was; after a failed fsync the log refuses further
    /// writes until it is reopened (the page cache's state is unknown).
    ///
    /// - Parameter batch: the interactions; an empty batch writes nothing.
    /// - Throws: ``VecDBError/Code/nonFiniteValue`` for a NaN or infinite weight,
    ///   ``VecDBError/Code/invalidArgument`` for an over-long key, ``VecDBError/Code/diskFull``
    ///   or ``VecDBError/Code/io`` when the write or fsync fails, ``VecDBError/Code/closed``.
    /// - Complexity: O(batch size), plus one fsync.
    public func record(_ batch: [Interaction]) throws(VecDBError) {
        for (i, x) in batch.enumerated() { try x.validate(index: i) }
        if batch.isEmpty { return }
        var frame = Self.encodeFrame(batch)
        guard frame.count - Self.frameHeaderSize <= Int(UInt32.max) else {
            throw VecDBError(.invalidArgument, "a batch of \(batch.count) interactions is too large for one frame (4 GiB at most)")
        }
        try state.withLock { (s: inout State) throws(VecDBError) in
            if let f = s.failure { throw f }
            guard let h = s.handle else { throw VecDBError(.closed, "interaction log '\(path)' is closed", path: path) }
            Self.seal(&frame, sequence: s.nextSequence)
            do throws(VecDBError) {
                try h.write(frame, at: s.end)
            } catch {
                do throws(VecDBError) {
                    try h.truncate(to: s.end)
                } catch let e2 {
                    s.failure = VecDBError(
                        e2.code,
                        "interaction log '\(path)' could not be cut back after a failed write "
                            + "(\(e2.message)); reopen it", path: path, errno: e2.errno)
                }
                throw error
            }
            do throws(VecDBError) {
                try h.sync()
            } catch {
                s.failure = VecDBError(
                    error.code, "interaction log '\(path)' failed to fsync (\(error.message)); reopen it",
                    path: path, errno: error.errno)
                throw error
            }
            s.end += frame.count
            s.nextSequence += 1
            s.interactions.append(contentsOf: batch)
        }
    }

    /// Every recorded interaction, in recording order.
    public var interactions: [Interaction] { state.withLock { $0.interactions } }

    /// The number of recorded interactions.
    public var count: Int { state.withLock { $0.interactions.count } }

    /// Bytes in the log file, header included.
    public var size: Int { state.withLock { $0.end } }

    /// Releases the file and its lock; later ``record(_:)`` calls throw ``VecDBError/Code/closed``.
    public func close() {
        state.withLock { s in
            s.handle?.close()
            s.handle = nil
        }
    }

    // MARK: Frames

    /// A frame with its length and body checksum filled in; ``seal(_:sequence:)`` adds the rest.
    static func encodeFrame(_ batch: [Interaction]) -> [UInt8] {
        var w = ByteWriter(capacity: frameHeaderSize + 8 + batch.count * 40)
        w.append([UInt8](repeating: 0, count: frameHeaderSize))
        w.varint(UInt64(batch.count))
        for x in batch {
            x.user.encode(into: &w)
            x.item.encode(into: &w)
            w.f32(x.weight)
            w.u64(UInt64(bitPattern: x.timestamp))
        }
        let crc = w.bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[frameHeaderSize...])) }
        w.patchU32(UInt32(truncatingIfNeeded: w.count - frameHeaderSize), at: 0)
        w.patchU32(crc, at: 4)
        return w.bytes
    }

    static func seal(_ frame: inout [UInt8], sequence: UInt64) {
        var w = ByteWriter()
        swap(&w.bytes, &frame)
        defer { swap(&w.bytes, &frame) }
        w.patchU64(sequence, at: 8)
        w.patchU32(w.bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<16])) }, at: 16)
    }

    struct Replay {
        var interactions: [Interaction]
        var validEnd: Int
        var discarded: Int
        var nextSequence: UInt64
    }

    static func replay(_ raw: UnsafeRawBufferPointer, path: String) throws(VecDBError) -> Replay {
        guard raw.count >= headerSize else {
            throw VecDBError(
                .corruptFile,
                "interaction log '\(path)' is truncated: \(raw.count) bytes, shorter than its "
                    + "\(headerSize)-byte header", path: path)
        }
        guard raw.prefix(8).elementsEqual(magic) else {
            throw VecDBError(.corruptFile, "interaction log '\(path)' has a bad magic number", path: path)
        }
        let headerCRC = raw.loadUnaligned(fromByteOffset: 28, as: UInt32.self).littleEndian
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<28])) == headerCRC else {
            throw VecDBError(.corruptFile, "interaction log '\(path)' has a damaged header (checksum mismatch)", path: path)
        }
        let version = raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian
        guard version == Self.version else {
            throw VecDBError(
                .unsupported,
                "interaction log '\(path)' has format version \(version); this build reads version "
                    + "\(Self.version)", path: path)
        }
        var out: [Interaction] = []
        var offset = headerSize
        var sequence: UInt64 = 1
        while offset < raw.count {
            func damaged(_ why: String) -> VecDBError {
                VecDBError(
                    .corruptFile, "interaction log '\(path)' is damaged at offset \(offset): \(why); refusing to open", path: path)
            }
            switch WriteAheadLog.frameHeader(raw, at: offset, sequence: sequence) {
            case .intact(let length, let bodyCRC):
                let body = UnsafeRawBufferPointer(rebasing: raw[(offset + frameHeaderSize)..<(offset + frameHeaderSize + length)])
                guard CRC32C.checksum(body) == bodyCRC else {
                    throw damaged("frame \(sequence) is complete but its body fails its checksum")
                }
                try decodeBody(body, into: &out, what: "frame \(sequence) of interaction log '\(path)'", path: path)
                offset += frameHeaderSize + length
                sequence += 1
                continue
            case .damagedComplete:
                throw damaged("frame \(sequence) has a damaged header although its length reaches exactly to the end of the file")
            case .torn:
                break
            }
            if let later = WriteAheadLog.findValidFrame(raw, after: offset, minimumSequence: sequence) {
                throw damaged("frame \(sequence) fails its checksum but valid frames follow at offset \(later)")
            }
            return Replay(interactions: out, validEnd: offset, discarded: raw.count - offset, nextSequence: sequence)
        }
        return Replay(interactions: out, validEnd: offset, discarded: 0, nextSequence: sequence)
    }

    static func decodeBody(_ body: UnsafeRawBufferPointer, into out: inout [Interaction], what: String, path: String) throws(VecDBError) {
        var r = ByteReader(body, what: what, path: path)
        let n = try r.varint()
        guard n <= UInt64(r.remaining / 16) else { throw r.truncated(Int(clamping: n)) }
        out.reserveCapacity(out.count + Int(n))
        for _ in 0..<Int(n) {
            let user = try Key.decode(from: &r)
            let item = try Key.decode(from: &r)
            let weight = try r.f32()
            let timestamp = Int64(bitPattern: try r.u64())
            out.append(Interaction(user: user, item: item, weight: weight, timestamp: timestamp))
        }
        guard r.remaining == 0 else {
            throw VecDBError(.corruptFile, "\(what) has \(r.remaining) unexpected bytes after its interactions", path: path)
        }
    }
}
