import CVecDBKernels

/// IEEE 754 half-precision conversion, bit-exact and independent of the platform's `Float16`.
public enum HalfFloat {
    /// Rounds to the nearest half, ties to even; overflow becomes an infinity.
    @inlinable public static func bits(_ value: Float) -> UInt16 { vdb_f32_to_f16(value) }
    @inlinable public static func value(_ bits: UInt16) -> Float { vdb_f16_to_f32(bits) }

    public static func encode(_ values: [Float]) -> [UInt16] {
        values.map { vdb_f32_to_f16($0) }
    }

    public static func decode(_ bits: [UInt16]) -> [Float] {
        bits.map { vdb_f16_to_f32($0) }
    }
}
