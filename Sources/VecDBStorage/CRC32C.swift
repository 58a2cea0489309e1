import CVecDBStorage

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every VecDB file.
///
/// The CPU's CRC-32C instruction when it has one (SSE4.2), otherwise ``portable(_:seed:)``:
/// slicing-by-8 over a 2 KiB table, computed once. The check value of the nine ASCII bytes
/// "123456789" is 0xE3069283. Chained calls continue a running checksum:
/// `checksum(b, seed: checksum(a)) == checksum(a + b)`.
package enum CRC32C {
    @usableFromInline static let table: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            t[i] = c
        }
        for i in 0..<256 {
            var c = t[i]
            for s in 1..<8 {
                c = t[Int(c & 0xFF)] ^ (c >> 8)
                t[s * 256 + i] = c
            }
        }
        return t
    }()

    /// Whether the hardware instruction is used.
    package static let hardware: Bool = vdb_crc32c_hw_available() != 0

    /// The CRC-32C of `bytes`, continuing from `seed` (the checksum of the bytes before).
    @inline(__always)
    package static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        if hardware, let p = bytes.baseAddress { return vdb_crc32c_hw(seed, p, bytes.count) }
        return portable(bytes, seed: seed)
    }

    /// The table-driven CRC-32C, on any CPU.
    package static func portable(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        table.withUnsafeBufferPointer { tp -> UInt32 in
            let t = tp.baseAddress.unsafelyUnwrapped
            var crc = ~seed
            guard var p = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return seed }
            var n = bytes.count
            while n >= 8 {
                let lo = UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24
                let hi = UInt32(p[4]) | UInt32(p[5]) << 8 | UInt32(p[6]) << 16 | UInt32(p[7]) << 24
                let x = crc ^ lo
                crc =
                    t[7 * 256 + Int(x & 0xFF)] ^ t[6 * 256 + Int((x >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((x >> 16) & 0xFF)] ^ t[4 * 256 + Int(x >> 24)]
                    ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
                p += 8
                n -= 8
            }
            while n > 0 {
                crc = t[Int((crc ^ UInt32(p[0])) & 0xFF)] ^ (crc >> 8)
                p += 1
                n -= 1
            }
            return ~crc
        }
    }

    package static func checksum(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, seed: seed) }
    }

    package static func checksum(_ bytes: ArraySlice<UInt8>, seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, seed: seed) }
    }
}
