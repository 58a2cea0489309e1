import VecDBKernels

/// Appends little-endian fixed-width integers, varints and raw bytes to a growing buffer.
package struct ByteWriter {
    package var bytes: [UInt8]

    package init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    package var count: Int { bytes.count }

    @inlinable package mutating func u8(_ v: UInt8) { bytes.append(v) }
    package mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    package mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    package mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    package mutating func f32(_ v: Float) { u32(v.bitPattern) }
    package mutating func f64(_ v: Double) { u64(v.bitPattern) }

    /// LEB128: seven bits a byte, low bits first.
    package mutating func varint(_ v: UInt64) {
        var x = v
        while x >= 0x80 {
            bytes.append(UInt8(x & 0x7F) | 0x80)
            x >>= 7
        }
        bytes.append(UInt8(x))
    }

    package mutating func append(_ raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }
    package mutating func append(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }
    package mutating func append(floats: UnsafeBufferPointer<Float>) {
        // Little-endian host assumed (x86-64, arm64); the formats are little-endian.
        bytes.append(contentsOf: UnsafeRawBufferPointer(floats))
    }

    /// Zero bytes up to a multiple of `alignment`.
    package mutating func pad(to alignment: Int) {
        let r = bytes.count % alignment
        if r != 0 { bytes.append(contentsOf: repeatElement(0, count: alignment - r)) }
    }

    /// Overwrites four bytes at `offset`.
    package mutating func patchU32(_ v: UInt32, at offset: Int) {
        withUnsafeBytes(of: v.littleEndian) { src in
            for i in 0..<4 { bytes[offset + i] = src[i] }
        }
    }

    package mutating func patchU64(_ v: UInt64, at offset: Int) {
        withUnsafeBytes(of: v.littleEndian) { src in
            for i in 0..<8 { bytes[offset + i] = src[i] }
        }
    }
}

/// Reads what ``ByteWriter`` writes, with bounds checks that throw instead of trapping.
///
/// `what` names the structure for error messages, such as "WAL frame 17 of '/db/items/wal-…'".
package struct ByteReader {
    package let base: UnsafeRawBufferPointer
    package var offset: Int
    package let what: String
    package let path: String?

    package init(_ base: UnsafeRawBufferPointer, offset: Int = 0, what: String, path: String? = nil) {
        self.base = base
        self.offset = offset
        self.what = what
        self.path = path
    }

    package var remaining: Int { base.count - offset }

    package func truncated(_ need: Int) -> VecDBError {
        VecDBError(.corruptFile, "\(what) is truncated: needs \(need) more bytes at offset \(offset), has \(remaining)", path: path)
    }

    package mutating func need(_ n: Int) throws(VecDBError) {
        if n < 0 || n > remaining { throw truncated(n) }
    }

    package mutating func u8() throws(VecDBError) -> UInt8 {
        try need(1)
        defer { offset += 1 }
        return base[offset]
    }

    package mutating func u16() throws(VecDBError) -> UInt16 {
        try need(2)
        defer { offset += 2 }
        return UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    package mutating func u32() throws(VecDBError) -> UInt32 {
        try need(4)
        defer { offset += 4 }
        return UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    package mutating func u64() throws(VecDBError) -> UInt64 {
        try need(8)
        defer { offset += 8 }
        return UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    package mutating func f32() throws(VecDBError) -> Float { Float(bitPattern: try u32()) }
    package mutating func f64() throws(VecDBError) -> Double { Double(bitPattern: try u64()) }

    package mutating func varint() throws(VecDBError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try u8()
            if shift >= 64 || (shift == 63 && b > 1) {
                throw VecDBError(.corruptFile, "\(what): varint overflows 64 bits at offset \(offset)", path: path)
            }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// A length that must fit in what is left.
    package mutating func length() throws(VecDBError) -> Int {
        let n = try varint()
        guard n <= UInt64(remaining) else { throw truncated(Int(clamping: n)) }
        return Int(n)
    }

    package mutating func bytes(_ n: Int) throws(VecDBError) -> UnsafeRawBufferPointer {
        try need(n)
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: base[offset..<(offset + n)])
    }

    package mutating func array(_ n: Int) throws(VecDBError) -> [UInt8] {
        [UInt8](try bytes(n))
    }
}

/// Runs a `rethrows` API (such as `withUnsafeBytes`) whose body throws only ``VecDBError``,
/// and gives the error back its type.
@inline(__always)
package func typed<T>(_ body: () throws -> T) throws(VecDBError) -> T {
    do {
        return try body()
    } catch let e as VecDBError {
        throw e
    } catch {
        throw VecDBError(.io, "\(error)")
    }
}
