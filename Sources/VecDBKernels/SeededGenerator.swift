/// A small, fast, seedable random number generator (SplitMix64).
///
/// Everything in VecDB that draws random numbers (held-out query sets, k-means samples,
/// HNSW levels, weight initialisation) takes one of these, so a run is reproducible from its seed.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    @usableFromInline var state: UInt64

    public init(seed: UInt64) { state = seed }

    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform Float in [0, 1).
    @inlinable
    public mutating func nextUnitFloat() -> Float { Float(next() >> 40) * (1.0 / Float(1 << 24)) }

    /// A standard normal sample (Box–Muller).
    @inlinable
    public mutating func nextGaussian() -> Float {
        var u = nextUnitFloat()
        if u < 1e-7 { u = 1e-7 }
        let v = nextUnitFloat()
        return (-2 * _logf(u)).squareRoot() * _cosf(2 * Float.pi * v)
    }
}

@usableFromInline func _logf(_ x: Float) -> Float { Float(log(Double(x))) }
@usableFromInline func _cosf(_ x: Float) -> Float { Float(cos(Double(x))) }

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
