// The bodies of baseline version files (see ModelCheckpoint.swift for the envelope).
// Little-endian throughout.
//
//   popularity:  u32 items n, then n × f32 counts
//   itemknn:     u32 neighbours, f32 shrinkage, u32 items n, u64 entries m,
//                (n + 1) × u64 offsets, m × i32 neighbour items, m × f32 similarities
//   ease:        f32 lambda, u32 items n, n × n × f32 weights B (row-major)
import VecDBKernels
import VecDBStorage

/// Training, encoding and decoding of the baselines for ``ModelRegistry``.
enum BaselineModelCodec {
    static let kinds: [ModelKind] = BaselineKind.allCases.map { kind in
        ModelKind(
            name: kind.rawValue,
            train: { (input: TrainingInput) throws(VecDBError) in
                let split = HoldoutSplit(train: input.data, test: input.data)
                let t = try BaselineTrainer.train(kind, split: split, validationSeed: 1, threads: input.threads)
                return (t.model, t.params)
            },
            encode: { (m: any ItemScorer) throws(VecDBError) in try BaselineModelCodec.encode(m) },
            decode: { (b: [UInt8]) throws(VecDBError) in try BaselineModelCodec.decode(kind, b) })
    }

    static func encode(_ model: any ItemScorer) throws(VecDBError) -> [UInt8] {
        var w = ByteWriter()
        if let m = model as? PopularityModel {
            w.u32(UInt32(m.counts.count))
            m.counts.withUnsafeBufferPointer { w.append(floats: $0) }
        } else if let m = model as? ItemKNNModel {
            w.u32(UInt32(m.neighbours))
            w.f32(m.shrinkage)
            w.u32(UInt32(m.itemCount))
            w.u64(UInt64(m.neighbourItems.count))
            for o in m.offsets { w.u64(UInt64(o)) }
            for i in m.neighbourItems { w.u32(UInt32(bitPattern: i)) }
            m.similarities.withUnsafeBufferPointer { w.append(floats: $0) }
        } else if let m = model as? EASEModel {
            w.f32(m.lambda)
            w.u32(UInt32(m.itemCount))
            m.weights.withUnsafeBufferPointer { w.append(floats: $0) }
        } else {
            throw VecDBError(.unsupported, "\(type(of: model)) is not a baseline model")
        }
        return w.bytes
    }

    static func decode(_ kind: BaselineKind, _ bytes: [UInt8]) throws(VecDBError) -> any ItemScorer {
        try typed {
            try bytes.withUnsafeBytes { raw throws(VecDBError) -> any ItemScorer in
                var r = ByteReader(raw, what: "\(kind.rawValue) model")
                func floats(_ n: Int) throws(VecDBError) -> [Float] {
                    let b = try r.bytes(n * 4)
                    return (0..<n).map { Float(bitPattern: b.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self).littleEndian) }
                }
                switch kind {
                case .popularity:
                    let n = Int(try r.u32())
                    return PopularityModel(counts: try floats(n))
                case .itemknn:
                    let k = Int(try r.u32())
                    let h = try r.f32()
                    let n = Int(try r.u32())
                    let m = Int(try r.u64())
                    guard m <= r.remaining / 8 else { throw r.truncated(m * 8) }
                    var offsets: [Int] = []
                    for _ in 0...n { offsets.append(Int(try r.u64())) }
                    guard offsets.first == 0, offsets.last == m, zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }) else {
                        throw VecDBError(.corruptFile, "item-kNN model: bad neighbour offsets")
                    }
                    var items: [Int32] = []
                    items.reserveCapacity(m)
                    for _ in 0..<m {
                        let i = Int32(bitPattern: try r.u32())
                        guard i >= 0, Int(i) < n else { throw VecDBError(.corruptFile, "item-kNN model: neighbour \(i) out of range") }
                        items.append(i)
                    }
                    return ItemKNNModel(
                        neighbours: k, shrinkage: h, itemCount: n, offsets: offsets, neighbourItems: items,
                        similarities: try floats(m))
                case .ease:
                    let lambda = try r.f32()
                    let n = Int(try r.u32())
                    guard n <= 1 << 16 else { throw VecDBError(.corruptFile, "EASE model: \(n) items is implausible") }
                    return EASEModel(lambda: lambda, itemCount: n, weights: try floats(n * n))
                }
            }
        }
    }
}
