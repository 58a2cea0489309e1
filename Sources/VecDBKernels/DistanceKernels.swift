import CVecDBKernels

/// The SIMD distance kernels for one instruction set.
///
/// ``best`` is chosen once, the first time it is used, for the CPU in hand (AVX-512, AVX2 or
/// the scalar fallback). Hot loops copy the function pointer they need out of this value before
/// the loop, the way hnswlib picks its distance function when a space is constructed, so there
/// is no dispatch per pair.
public struct DistanceKernels: Sendable {
    public typealias F32 = @convention(c) (UnsafePointer<Float>?, UnsafePointer<Float>?, Int) -> Float
    public typealias F16 = @convention(c) (UnsafePointer<Float>?, UnsafePointer<UInt16>?, Int) -> Float
    public typealias I8 = @convention(c) (UnsafePointer<Int8>?, UnsafePointer<Int8>?, Int) -> Int32
    public typealias SQ8 =
        @convention(c) (
            UnsafePointer<Float>?, UnsafePointer<UInt8>?, UnsafePointer<Float>?, UnsafePointer<Float>?, Int
        ) -> Float
    public typealias F32Batch =
        @convention(c) (
            UnsafePointer<Float>?, UnsafePointer<Float>?, Int, Int, UnsafeMutablePointer<Float>?
        ) -> Void
    public typealias Sum = @convention(c) (UnsafePointer<Float>?, Int) -> Float
    /// A query against contiguous rows of uint8 codes: `(query, codes, dimension, n, out)`.
    public typealias U8Batch = @convention(c) (UnsafePointer<Float>?, UnsafePointer<UInt8>?, Int, Int, UnsafeMutablePointer<Float>?) -> Void
    /// A query against gathered rows: `(query, base, rowBytes, ids, n, dimension, out)`.
    public typealias Gather =
        @convention(c) (
            UnsafePointer<Float>?, UnsafeRawPointer?, Int, UnsafePointer<UInt32>?, Int, Int, UnsafeMutablePointer<Float>?
        ) -> Void

    /// The instruction sets a kernel table can be built for.
    public enum ISA: Int, Sendable, CaseIterable, CustomStringConvertible {
        case scalar = 0
        case avx2 = 1
        case avx512 = 2
        public var description: String { String(cString: vdb_isa_name(vdb_isa(rawValue: UInt32(rawValue)))) }
    }

    public let isa: ISA
    public let l2sqF32: F32
    public let ipF32: F32
    public let cosineF32: F32
    public let l2sqF16: F16
    public let ipF16: F16
    public let l2sqI8: I8
    public let ipI8: I8
    public let l2sqSQ8: SQ8
    public let ipSQ8: SQ8
    public let l2sqF32Batch: F32Batch
    public let ipF32Batch: F32Batch
    public let sumF32: Sum
    /// Rows `ids[0..<n]` of a table with `rowBytes` bytes per row, prefetched ahead of use: a
    /// graph expansion scored in one call. Float32 rows, then IEEE half rows.
    public let l2sqF32Gather: Gather
    public let ipF32Gather: Gather
    public let l2sqF16Gather: Gather
    public let ipF16Gather: Gather
    /// `out[r] = Σ q[i] · code[r][i]` over `n` contiguous rows of uint8 codes (the SQ8 inner
    /// product with the query pre-multiplied by the steps, less a per-query constant).
    public let ipU8Batch: U8Batch

    init?(_ table: UnsafePointer<vdb_kernel_table>?) {
        guard let t = table?.pointee,
            let isa = ISA(rawValue: Int(t.isa.rawValue)),
            let l2 = t.l2sq_f32, let ip = t.ip_f32, let cos = t.cosine_f32,
            let l2h = t.l2sq_f16, let iph = t.ip_f16,
            let l2i = t.l2sq_i8, let ipi = t.ip_i8,
            let l2q = t.l2sq_sq8, let ipq = t.ip_sq8,
            let l2b = t.l2sq_f32_batch, let ipb = t.ip_f32_batch,
            let sum = t.sum_f32,
            let l2g = t.l2sq_f32_gather, let ipg = t.ip_f32_gather,
            let l2hg = t.l2sq_f16_gather, let iphg = t.ip_f16_gather,
            let ipu8 = t.ip_u8_batch
        else { return nil }
        self.isa = isa
        (l2sqF32, ipF32, cosineF32) = (l2, ip, cos)
        (l2sqF16, ipF16) = (l2h, iph)
        (l2sqI8, ipI8) = (l2i, ipi)
        (l2sqSQ8, ipSQ8) = (l2q, ipq)
        (l2sqF32Batch, ipF32Batch, sumF32) = (l2b, ipb, sum)
        (l2sqF32Gather, ipF32Gather, l2sqF16Gather, ipF16Gather) = (l2g, ipg, l2hg, iphg)
        ipU8Batch = ipu8
    }

    /// The table for `isa`, or `nil` when this CPU cannot run it.
    public static func forISA(_ isa: ISA) -> DistanceKernels? {
        DistanceKernels(vdb_kernels_for(vdb_isa(rawValue: UInt32(isa.rawValue))))
    }

    /// The fastest table this CPU supports, chosen once.
    public static let best: DistanceKernels = {
        if let k = DistanceKernels(vdb_kernels()) { return k }
        // vdb_kernels() always returns a complete table; the scalar table is the last resort.
        return forISA(.scalar).unsafelyUnwrapped
    }()

    /// Every table this CPU can run, best last.
    public static var available: [DistanceKernels] { ISA.allCases.compactMap(forISA) }

    /// The Float32 kernel that computes `metric`'s *distance* (smaller is closer) for a pair.
    ///
    /// For `ip` this is the plain inner-product kernel, so the caller negates its result; see
    /// ``distance(_:_:_:dimension:)`` for the complete mapping.
    @inlinable
    public func distance(_ metric: Metric, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, dimension: Int) -> Float {
        switch metric {
        case .l2: return l2sqF32(a, b, dimension)
        case .ip: return -ipF32(a, b, dimension)
        case .cosine: return cosineF32(a, b, dimension)
        }
    }

    /// Distance between two arrays; convenient, not for hot loops.
    ///
    /// - Throws: ``VecDBError/Code/dimensionMismatch`` when the lengths differ.
    public func distance(_ metric: Metric, _ a: [Float], _ b: [Float]) throws(VecDBError) -> Float {
        guard a.count == b.count else {
            throw VecDBError(.dimensionMismatch, "cannot compare a \(a.count)-dimensional vector with a \(b.count)-dimensional one")
        }
        return a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                guard let x = pa.baseAddress, let y = pb.baseAddress else { return metric == .cosine ? 1 : 0 }
                return distance(metric, x, y, dimension: a.count)
            }
        }
    }
}
