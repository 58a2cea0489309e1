import Testing
import VecDBKernels
import VecDBTestSupport

/// Every kernel of every ISA this CPU runs, against a naive Double-precision reference.
@Suite("Distance kernels")
struct DistanceKernelTests {
    static let isas = DistanceKernels.available.map(\.isa)
    static let dims: [Int] = {
        var rng = SeededGenerator(seed: 7)
        return [1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 50, 63, 64, 65, 127, 128, 129, 784, 1000]
            + (0..<20).map { _ in 1 + Int(rng.next() % 1000) }
    }()

    static func tolerance(_ ref: Double, _ d: Int, _ magnitude: Double) -> Double {
        1e-5 * Double(d).squareRoot() * max(1, magnitude) + 1e-5 * abs(ref)
    }

    @Test("float32 l2, ip and cosine", arguments: isas)
    func float32(isa: DistanceKernels.ISA) throws {
        let k = try #require(DistanceKernels.forISA(isa))
        for (n, d) in Self.dims.enumerated() {
            let a = SyntheticData.uniform(count: 1, dimension: d, seed: UInt64(n * 2))
            let b = SyntheticData.uniform(count: 1, dimension: d, seed: UInt64(n * 2 + 1))
            for metric in Metric.allCases {
                let got = Double(try k.distance(metric, a, b))
                let ref = SyntheticData.referenceDistance(a, b, metric)
                let mag = metric == .cosine ? 1 : Double(d)
                #expect(abs(got - ref) <= Self.tolerance(ref, d, mag), "\(isa) \(metric) d=\(d): \(got) vs \(ref)")
            }
        }
    }

    @Test("float32 batch kernels match the pair kernels", arguments: isas)
    func batch(isa: DistanceKernels.ISA) throws {
        let k = try #require(DistanceKernels.forISA(isa))
        for d in [1, 15, 16, 17, 31, 32, 33, 48, 50, 63, 64, 65, 784] {
            let q = SyntheticData.uniform(count: 1, dimension: d, seed: 1)
            let rows = SyntheticData.uniform(count: 37, dimension: d, seed: 2)
            var l2 = [Float](repeating: 0, count: 37)
            var ip = l2
            q.withUnsafeBufferPointer { qp in
                rows.withUnsafeBufferPointer { rp in
                    l2.withUnsafeMutableBufferPointer { k.l2sqF32Batch(qp.baseAddress, rp.baseAddress, d, 37, $0.baseAddress) }
                    ip.withUnsafeMutableBufferPointer { k.ipF32Batch(qp.baseAddress, rp.baseAddress, d, 37, $0.baseAddress) }
                }
            }
            for r in 0..<37 {
                let row = Array(rows[(r * d)..<((r + 1) * d)])
                let refL2 = SyntheticData.referenceDistance(q, row, .l2)
                let refIP = -SyntheticData.referenceDistance(q, row, .ip)
                #expect(abs(Double(l2[r]) - refL2) <= Self.tolerance(refL2, d, Double(d)))
                #expect(abs(Double(ip[r]) - refIP) <= Self.tolerance(refIP, d, Double(d)))
            }
        }
    }

    @Test("gather kernels score the named rows, Float32 and Float16, with row padding", arguments: isas)
    func gather(isa: DistanceKernels.ISA) throws {
        let k = try #require(DistanceKernels.forISA(isa))
        let count = 40
        for d in [1, 15, 16, 17, 33, 50, 64, 65, 384, 784] {
            let q = SyntheticData.uniform(count: 1, dimension: d, seed: 11)
            let rows = SyntheticData.uniform(count: count, dimension: d, seed: 12)
            // Out of order, repeated, and more ids than a level-0 block holds.
            let ids: [UInt32] = (0..<37).map { UInt32(($0 * 17 + 5) % count) } + [3, 3]
            // Float32 rows padded to a stride longer than the row, as segments may lay them out.
            let stride = d + 3
            var padded = [Float](repeating: .nan, count: count * stride)
            for r in 0..<count { for i in 0..<d { padded[r * stride + i] = rows[r * d + i] } }
            let halves = HalfFloat.encode(rows)
            let decoded = HalfFloat.decode(halves)
            var out = [Float](repeating: -1, count: ids.count)
            func run(_ kernel: DistanceKernels.Gather, _ base: UnsafeRawPointer, _ rowBytes: Int, _ n: Int) {
                q.withUnsafeBufferPointer { qp in
                    ids.withUnsafeBufferPointer { ip in
                        out.withUnsafeMutableBufferPointer { kernel(qp.baseAddress, base, rowBytes, ip.baseAddress, n, d, $0.baseAddress) }
                    }
                }
            }
            for (kernel, metric, half) in [
                (k.l2sqF32Gather, Metric.l2, false), (k.ipF32Gather, .ip, false), (k.l2sqF16Gather, .l2, true), (k.ipF16Gather, .ip, true),
            ] {
                out = [Float](repeating: -1, count: ids.count)
                if half {
                    halves.withUnsafeBytes { run(kernel, $0.baseAddress!, d * 2, ids.count) }
                } else {
                    padded.withUnsafeBytes { run(kernel, $0.baseAddress!, stride * 4, ids.count) }
                }
                let source = half ? decoded : rows
                for (j, id) in ids.enumerated() {
                    let row = Array(source[(Int(id) * d)..<((Int(id) + 1) * d)])
                    let sign: Double = metric == .ip ? -1 : 1
                    let ref = sign * SyntheticData.referenceDistance(q, row, metric)
                    #expect(abs(Double(out[j]) - ref) <= Self.tolerance(ref, d, Double(d)), "\(isa) \(metric) half=\(half) d=\(d) row \(j)")
                }
                // n = 0 writes nothing.
                out = [Float](repeating: -1, count: ids.count)
                padded.withUnsafeBytes { run(kernel, $0.baseAddress!, stride * 4, 0) }
                #expect(out.allSatisfy { $0 == -1 })
            }
        }
    }

    @Test("uint8 batch kernel: the query's products with contiguous code rows", arguments: isas)
    func u8Batch(isa: DistanceKernels.ISA) throws {
        let k = try #require(DistanceKernels.forISA(isa))
        var rng = SeededGenerator(seed: 21)
        for d in [1, 7, 15, 16, 17, 31, 32, 33, 50, 384, 785] {
            let n = 9
            let q = SyntheticData.uniform(count: 1, dimension: d, seed: UInt64(d))
            let codes = (0..<(n * d)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            var out = [Float](repeating: .nan, count: n)
            q.withUnsafeBufferPointer { qp in
                codes.withUnsafeBufferPointer { cp in
                    out.withUnsafeMutableBufferPointer { k.ipU8Batch(qp.baseAddress, cp.baseAddress, d, n, $0.baseAddress) }
                }
            }
            for r in 0..<n {
                var want = 0.0
                for i in 0..<d { want += Double(q[i]) * Double(codes[r * d + i]) }
                #expect(abs(Double(out[r]) - want) <= 1e-5 * (abs(want) + 255 * Double(d).squareRoot()), "\(isa) d=\(d) row \(r)")
            }
        }
    }

    @Test("float16 storage kernels", arguments: isas)
    func float16(isa: DistanceKernels.ISA) throws {
        let k = try #require(DistanceKernels.forISA(isa))
        for (n, d) in Self.dims.enumerated() {
            let q = SyntheticData.uniform(count: 1, dimension: d, seed: UInt64(100 + n))
            let x = SyntheticData.uniform(count: 1, dimension: d, seed: UInt64(200 + n))
            let h = HalfFloat.encode(x)
            let decoded = HalfFloat.decode(h)  // the oracle sees exactly the stored values
            let refL2 = SyntheticData.referenceDistance(q, decoded, .l2)
            let refIP = -SyntheticData.referenceDistance(q, decoded, .ip)
            let (l2, ip) = q.withUnsafeBufferPointer { qp in
                h.withUnsafeBufferPointer { hp in (k.l2sqF16(qp.baseAddress, hp.baseAddress, d), k.ipF16(qp.baseAddress, hp.baseAddress, d))
                }
            }
            #expect(abs(Double(l2) - refL2) <= Self.tolerance(refL2, d, Double(d)), "\(isa) f16 l2 d=\(d)")
            #expect(abs(Double(ip) - refIP) <= Self.tolerance(refIP, d, Double(d)), "\(isa) f16 ip d=\(d)")
        }
    }

    @Test("int8 kernels are exact", arguments: isas)
    func int8(isa: DistanceKernels.ISA) throws {
        let k = try #require(DistanceKernels.forISA(isa))
        var rng = SeededGenerator(seed: 3)
        for d in Self.dims {
            let a = (0..<d).map { _ in Int8(truncatingIfNeeded: rng.next()) }
            let b = (0..<d).map { _ in Int8(truncatingIfNeeded: rng.next()) }
            var refL2: Int32 = 0
            var refIP: Int32 = 0
            for i in 0..<d {
                let x = Int32(a[i])
                let y = Int32(b[i])
                refL2 += (x - y) * (x - y)
                refIP += x * y
            }
            let (l2, ip) = a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in (k.l2sqI8(ap.baseAddress, bp.baseAddress, d), k.ipI8(ap.baseAddress, bp.baseAddress, d)) }
            }
            #expect(l2 == refL2, "\(isa) i8 l2 d=\(d)")
            #expect(ip == refIP, "\(isa) i8 ip d=\(d)")
        }
    }

    @Test("scalar-quantised (sq8) kernels", arguments: isas)
    func sq8(isa: DistanceKernels.ISA) throws {
        let k = try #require(DistanceKernels.forISA(isa))
        var rng = SeededGenerator(seed: 4)
        for d in Self.dims {
            let q = SyntheticData.uniform(count: 1, dimension: d, seed: UInt64(d))
            let codes = (0..<d).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let vmin = (0..<d).map { _ in rng.nextUnitFloat() - 1 }
            let vscale = (0..<d).map { _ in rng.nextUnitFloat() / 128 }
            let decoded = (0..<d).map { vmin[$0] + vscale[$0] * Float(codes[$0]) }
            let refL2 = SyntheticData.referenceDistance(q, decoded, .l2)
            let refIP = -SyntheticData.referenceDistance(q, decoded, .ip)
            let (l2, ip) = q.withUnsafeBufferPointer { qp in
                codes.withUnsafeBufferPointer { cp in
                    vmin.withUnsafeBufferPointer { mp in
                        vscale.withUnsafeBufferPointer { sp in
                            (
                                k.l2sqSQ8(qp.baseAddress, cp.baseAddress, mp.baseAddress, sp.baseAddress, d),
                                k.ipSQ8(qp.baseAddress, cp.baseAddress, mp.baseAddress, sp.baseAddress, d)
                            )
                        }
                    }
                }
            }
            #expect(abs(Double(l2) - refL2) <= Self.tolerance(refL2, d, Double(d)), "\(isa) sq8 l2 d=\(d)")
            #expect(abs(Double(ip) - refIP) <= Self.tolerance(refIP, d, Double(d)), "\(isa) sq8 ip d=\(d)")
        }
    }

    @Test("the best ISA is chosen once and is the widest this CPU has")
    func bestISA() {
        #expect(DistanceKernels.best.isa == Self.isas.last)
    }

    @Test("cosine of a zero vector is 1, not NaN", arguments: isas)
    func cosineZero(isa: DistanceKernels.ISA) throws {
        let k = try #require(DistanceKernels.forISA(isa))
        #expect(try k.distance(.cosine, [0, 0, 0], [1, 2, 3]) == 1)
    }

    @Test("comparing vectors of different lengths is a typed error")
    func lengthMismatch() {
        #expect(throws: VecDBError.self) { try DistanceKernels.best.distance(.l2, [1, 2], [1, 2, 3]) }
    }
}

@Suite("Half precision")
struct HalfFloatTests {
    @Test("known bit patterns")
    func known() {
        let cases: [(Float, UInt16)] = [
            (0, 0x0000), (-0.0, 0x8000), (1, 0x3c00), (-2, 0xc000), (65504, 0x7bff),
            (0.5, 0x3800), (Float(6.103515625e-05), 0x0400), (Float(5.960464477539063e-08), 0x0001),
            (.infinity, 0x7c00), (1e6, 0x7c00), (1.0009765625, 0x3c01),
        ]
        for (f, h) in cases {
            #expect(HalfFloat.bits(f) == h, "\(f)")
            if f.isFinite && f < 65520 { #expect(HalfFloat.value(h) == f, "\(h)") }
        }
        #expect(HalfFloat.value(HalfFloat.bits(.nan)).isNaN)
    }

    @Test("every half value round-trips through Float")
    func roundTrip() {
        for bits in UInt16.min...UInt16.max {
            let f = HalfFloat.value(bits)
            if f.isNaN { continue }
            #expect(HalfFloat.bits(f) == bits)
        }
    }
}
