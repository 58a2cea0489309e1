import VecDBKernels

/// Per-dimension 8-bit scalar quantisation.
///
/// Training records each dimension's minimum and range over the sample; a component `x` is
/// stored as `round((x − min) / scale)` clamped to 0…255, with `scale = (max − min) / 255`,
/// and read back as `min + scale · code`, the form the `l2sqSQ8` and `ipSQ8` kernels compute
/// with. Values outside the trained range (vectors added later) are clamped.
public struct ScalarQuantizer: Sendable, Equatable {
    public let dimension: Int
    /// Per-dimension minimum.
    public internal(set) var vmin: [Float]
    /// Per-dimension step.
    public internal(set) var vscale: [Float]

    init(vmin: [Float], vscale: [Float]) {
        dimension = vmin.count
        self.vmin = vmin
        self.vscale = vscale
    }

    /// Trains the per-dimension ranges on `rows`.
    ///
    /// - Throws: ``VecDBError/Code/invalidArgument`` for an empty sample.
    public static func train(rows: RowMatrix) throws(VecDBError) -> ScalarQuantizer {
        guard rows.count > 0 else { throw VecDBError(.invalidArgument, "scalar quantiser needs training rows, got none") }
        let d = rows.dimension
        var lo = [Float](repeating: .infinity, count: d)
        var hi = [Float](repeating: -.infinity, count: d)
        for r in 0..<rows.count {
            let row = rows[r]
            for j in 0..<d {
                lo[j] = min(lo[j], row[j])
                hi[j] = max(hi[j], row[j])
            }
        }
        return ScalarQuantizer(vmin: lo, vscale: (0..<d).map { (hi[$0] - lo[$0]) / 255 })
    }

    /// Writes the `dimension` codes of `x` to `out`.
    @inlinable
    public func encode(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<UInt8>) {
        for j in 0..<dimension {
            let s = vscale[j]
            guard s > 0 else {
                out[j] = 0
                continue
            }
            let v = ((x[j] - vmin[j]) / s).rounded()
            out[j] = UInt8(min(255, max(0, v)))
        }
    }

    /// The vector a code stands for.
    public func decode(_ code: UnsafePointer<UInt8>) -> [Float] {
        (0..<dimension).map { vmin[$0] + vscale[$0] * Float(code[$0]) }
    }
}
