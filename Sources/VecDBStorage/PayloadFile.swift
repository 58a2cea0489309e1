// Payload file of one segment: `seg-IIIIIIIIIIIIIIII.pay` (I = segment id, hex).
//
// Payloads are opaque byte strings here (the VecDB facade stores its binary JSON-like encoding).
// They are packed, in row order, into blocks of about 4 KiB of raw bytes; each block is
// compressed with LZ4 (LZ4_compress_default) and checksummed, and an index gives every row's
// block, offset and length, so one payload is read by decompressing one block (and recently
// used blocks stay cached).
//
// All integers are little-endian.
//
//   Header, 64 bytes:
//     0   8  magic "VECDBPAY"
//     8   4  format version, 1
//    12   4  reserved, 0
//    16   8  row count R
//    24   8  block count B
//    32   8  index offset (from the start of the file)
//    40   8  index length in bytes (B × 8 + R × 12)
//    48   8  total raw (uncompressed) payload bytes
//    56   4  CRC-32C of the index
//    60   4  CRC-32C of bytes 0..<60
//
//   Blocks, from offset 64, one after another:
//     0   4  compressed length C
//     4   4  raw length
//     8   4  CRC-32C of the C compressed bytes
//    12   4  reserved, 0
//    16   C  LZ4 block (raw format, no frame)
//
//   Index, at the index offset:
//     B × u64  file offset of each block
//     R × (u32 block, u32 offset in the raw block, u32 length); block 0xFFFFFFFF = no payload
import CLZ4
import VecDBKernels

/// Builds a payload file in memory-sized chunks; see the format at the top of this file.
package struct PayloadFileWriter {
    package static let blockTarget = 4 * 1024
    package static let noBlock = UInt32.max

    let handle: FileHandle
    var fileOffset = 64
    var blockOffsets: [UInt64] = []
    var entries = ByteWriter()
    var block: [UInt8] = []
    var rows = 0
    var rawBytes: UInt64 = 0
    package var compressedBytes: UInt64 = 0

    package init(handle: FileHandle) {
        self.handle = handle
        block.reserveCapacity(Self.blockTarget * 2)
    }

    package mutating func append(_ payload: UnsafeRawBufferPointer?) throws(VecDBError) {
        rows += 1
        guard let payload else {
            entries.u32(Self.noBlock)
            entries.u32(0)
            entries.u32(0)
            return
        }
        entries.u32(UInt32(blockOffsets.count))
        entries.u32(UInt32(block.count))
        entries.u32(UInt32(payload.count))
        block.append(contentsOf: payload)
        rawBytes += UInt64(payload.count)
        if block.count >= Self.blockTarget { try flushBlock() }
    }

    mutating func flushBlock() throws(VecDBError) {
        guard !block.isEmpty else { return }
        let bound = Int(LZ4_compressBound(Int32(block.count)))
        var out = [UInt8](repeating: 0, count: 16 + bound)
        let c = block.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                LZ4_compress_default(
                    src.baseAddress?.assumingMemoryBound(to: CChar.self),
                    (dst.baseAddress.unsafelyUnwrapped + 16).assumingMemoryBound(to: CChar.self),
                    Int32(block.count), Int32(bound))
            }
        }
        guard c > 0 else { throw VecDBError(.io, "LZ4 failed to compress a payload block of \(block.count) bytes", path: handle.path) }
        out.removeLast(bound - Int(c))
        let crc = out.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[16...])) }
        var h = ByteWriter(capacity: 16)
        h.u32(UInt32(c))
        h.u32(UInt32(block.count))
        h.u32(crc)
        h.u32(0)
        for i in 0..<16 { out[i] = h.bytes[i] }
        try handle.write(out, at: fileOffset)
        blockOffsets.append(UInt64(fileOffset))
        fileOffset += out.count
        compressedBytes += UInt64(out.count)
        block.removeAll(keepingCapacity: true)
    }

    /// Writes the last block, the index and the header, then fsyncs.
    package mutating func finish() throws(VecDBError) {
        try flushBlock()
        var index = ByteWriter(capacity: blockOffsets.count * 8 + entries.count)
        for o in blockOffsets { index.u64(o) }
        index.append(entries.bytes)
        try handle.write(index.bytes, at: fileOffset)
        var h = ByteWriter(capacity: 64)
        h.append(Array("VECDBPAY".utf8))
        h.u32(1)
        h.u32(0)
        h.u64(UInt64(rows))
        h.u64(UInt64(blockOffsets.count))
        h.u64(UInt64(fileOffset))
        h.u64(UInt64(index.count))
        h.u64(rawBytes)
        h.u32(CRC32C.checksum(index.bytes))
        h.u32(CRC32C.checksum(h.bytes))
        try handle.write(h.bytes, at: 0)
        try handle.sync()
    }
}

/// A memory-mapped payload file, read by row.
package final class PayloadFile: @unchecked Sendable {
    // Sendable: the mapping is immutable; the block cache is behind a Mutex.
    package let path: String
    package let rowCount: Int
    package let blockCount: Int
    package let rawBytes: UInt64
    package let fileSize: Int
    let region: MappedRegion
    let indexOffset: Int
    let cache = Lock<[Int: [UInt8]]>([:])
    static let cacheBlocks = 256

    package init(fs: FileSystem, path: String, expectedRows: Int) throws(VecDBError) {
        self.path = path
        let h = try fs.open(path, writable: false)
        defer { h.close() }
        let size = try h.size()
        fileSize = size
        guard size >= 64 else {
            throw VecDBError(
                .corruptFile, "payload file '\(path)' is truncated: \(size) bytes, shorter than its 64-byte header", path: path)
        }
        region = try h.mapReadOnly(count: size)
        let raw = region.bytes
        guard raw.prefix(8).elementsEqual("VECDBPAY".utf8) else {
            throw VecDBError(.corruptFile, "payload file '\(path)' has a bad magic number", path: path)
        }
        guard
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<60]))
                == raw.loadUnaligned(fromByteOffset: 60, as: UInt32.self).littleEndian
        else {
            throw VecDBError(.corruptFile, "payload file '\(path)' has a damaged header (checksum mismatch)", path: path)
        }
        let version = raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian
        guard version == 1 else {
            throw VecDBError(.unsupported, "payload file '\(path)' has format version \(version); this build reads version 1", path: path)
        }
        let rows = Int(clamping: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian)
        let blocks = Int(clamping: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self).littleEndian)
        let io = Int(clamping: raw.loadUnaligned(fromByteOffset: 32, as: UInt64.self).littleEndian)
        let il = Int(clamping: raw.loadUnaligned(fromByteOffset: 40, as: UInt64.self).littleEndian)
        rawBytes = raw.loadUnaligned(fromByteOffset: 48, as: UInt64.self).littleEndian
        guard rows == expectedRows else {
            throw VecDBError(.corruptFile, "payload file '\(path)' holds \(rows) rows; its segment holds \(expectedRows)", path: path)
        }
        guard blocks <= size, rows <= size / 12, il == blocks * 8 + rows * 12, io >= 64, io <= size, il <= size - io else {
            throw VecDBError(
                .corruptFile,
                "payload file '\(path)' is truncated or its index bounds are damaged (index at \(io), \(il) bytes, file \(size) bytes)",
                path: path)
        }
        guard
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[io..<(io + il)]))
                == raw.loadUnaligned(fromByteOffset: 56, as: UInt32.self).littleEndian
        else {
            throw VecDBError(.corruptFile, "payload file '\(path)' has a damaged index (checksum mismatch)", path: path)
        }
        rowCount = rows
        blockCount = blocks
        indexOffset = io
    }

    package var compressedBytes: Int { fileSize }

    func entry(_ row: Int) -> (block: UInt32, offset: Int, length: Int) {
        let o = indexOffset + blockCount * 8 + row * 12
        let raw = region.bytes
        return (
            raw.loadUnaligned(fromByteOffset: o, as: UInt32.self).littleEndian,
            Int(raw.loadUnaligned(fromByteOffset: o + 4, as: UInt32.self).littleEndian),
            Int(raw.loadUnaligned(fromByteOffset: o + 8, as: UInt32.self).littleEndian)
        )
    }

    /// The payload of `row`, or `nil` when it has none.
    ///
    /// - Throws: ``VecDBError/Code/corruptFile`` naming the file and block when the block fails
    ///   its checksum or does not decompress.
    package func payload(row: Int) throws(VecDBError) -> [UInt8]? {
        guard row >= 0 && row < rowCount else { return nil }
        let e = entry(row)
        if e.block == PayloadFileWriter.noBlock { return nil }
        let block = try blockBytes(Int(e.block))
        guard e.offset + e.length <= block.count else {
            throw VecDBError(.corruptFile, "payload file '\(path)': row \(row) points past the end of block \(e.block)", path: path)
        }
        return Array(block[e.offset..<(e.offset + e.length)])
    }

    /// Decompresses (or finds in the cache) block `b`.
    func blockBytes(_ b: Int) throws(VecDBError) -> [UInt8] {
        if let hit = cache.withLock({ $0[b] }) { return hit }
        guard b < blockCount else {
            throw VecDBError(.corruptFile, "payload file '\(path)': block \(b) does not exist", path: path)
        }
        let raw = region.bytes
        let o = Int(clamping: raw.loadUnaligned(fromByteOffset: indexOffset + b * 8, as: UInt64.self).littleEndian)
        guard o >= 64, o <= indexOffset - 16 else {
            throw VecDBError(.corruptFile, "payload file '\(path)': block \(b) has a damaged offset", path: path)
        }
        let c = Int(raw.loadUnaligned(fromByteOffset: o, as: UInt32.self).littleEndian)
        let n = Int(raw.loadUnaligned(fromByteOffset: o + 4, as: UInt32.self).littleEndian)
        let crc = raw.loadUnaligned(fromByteOffset: o + 8, as: UInt32.self).littleEndian
        // LZ4 expands a byte to at most 255, so a larger raw length is damage (and would allocate it).
        guard c <= indexOffset - o - 16, n <= 1 << 30, n <= 255 * c + 255 else {
            throw VecDBError(.corruptFile, "payload file '\(path)': block \(b) at offset \(o) has damaged lengths", path: path)
        }
        let src = UnsafeRawBufferPointer(rebasing: raw[(o + 16)..<(o + 16 + c)])
        guard CRC32C.checksum(src) == crc else {
            throw VecDBError(.corruptFile, "payload file '\(path)': block \(b) at offset \(o) fails its checksum", path: path)
        }
        var out = [UInt8](repeating: 0, count: n)
        let got = out.withUnsafeMutableBytes { dst in
            LZ4_decompress_safe(
                src.baseAddress?.assumingMemoryBound(to: CChar.self),
                dst.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(c), Int32(n))
        }
        guard got == Int32(n) else {
            throw VecDBError(.corruptFile, "payload file '\(path)': block \(b) does not decompress", path: path)
        }
        cache.withLock { c in
            if c.count >= Self.cacheBlocks, let victim = c.keys.first { c[victim] = nil }
            c[b] = out
        }
        return out
    }

    /// Checks every block's checksum and decompression.
    package func verify() throws(VecDBError) {
        for b in 0..<blockCount { _ = try blockBytes(b) }
    }
}
