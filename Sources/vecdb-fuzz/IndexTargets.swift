// Fuzz targets for the index files: HNSW graphs (`*.hnsw`) and IVF indexes (`*.ivf`); formats
// in Sources/VecDBIndex/HNSWGraph+File.swift and IVFIndex+File.swift.
//
// Each target opens the file as the engine does, then searches it, since the format promises
// that a damaged body "can degrade results but never trap".
import VecDBIndex
import VecDBKernels
import VecDBStorage

enum IndexTargets {
    /// Repairs an index file's header checksum (the CRC-32C of the 128-byte header with the
    /// field at 12 zeroed) after its body checksum at `bodyCRC`.
    static func fixChecksums(_ file: inout [UInt8], bodyCRC: Int) {
        guard file.count >= 128 else { return }
        file.fixCRC(at: bodyCRC, of: 128..<file.count)
        file.put(0, 12)
        file.fixCRC(at: 12, of: 0..<128)
    }

    /// An HNSW graph: open over vectors of the dimension and row count the header claims
    /// (bounded), search it with and without a filter, and check its invariants.
    static func hnsw(_ file: inout [UInt8], fix: Bool) {
        if fix { fixChecksums(&file, bodyCRC: 60) }
        let path = Scratch.store("index.hnsw", file)
        defer { Scratch.remove(path) }
        let claimedDimension = Int(file.u32(24))
        let claimedRows = Int(clamping: file.u64(48))
        let d = (1...64).contains(claimedDimension) ? claimedDimension : 4
        let n = min(claimedRows, 512)
        let metric = file.count > 16 ? Metric(code: file[16]) ?? .l2 : .l2
        var values = [Float](repeating: 0, count: max(1, n * d))
        for i in 0..<values.count { values[i] = Float((i * 37) % 101) / 101 - 0.5 }
        values.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress else { return }
            let rows = RowMatrix(base: base, count: n, dimension: d)
            guard let g = try? HNSWGraph.open(path, vectors: rows, metric: metric, verifyBody: fix) else { return }
            let query = [Float](repeating: 0.25, count: d)
            query.withUnsafeBufferPointer { q in
                guard let qp = q.baseAddress else { return }
                _ = g.search(qp, k: 5, ef: 16)
                _ = g.search(qp, k: 3, ef: 8) { $0 % 2 == 0 }
            }
            _ = g.invariantViolations()
        }
    }

    /// An IVF index: open, search every list, add a row (which copies a mapped list out), search again.
    static func ivf(_ file: inout [UInt8], fix: Bool) {
        if fix { fixChecksums(&file, bodyCRC: 40) }
        let path = Scratch.store("index.ivf", file)
        defer { Scratch.remove(path) }
        guard let index = try? IVFIndex.open(path, verifyBody: fix) else { return }
        let query = [Float](repeating: 0.25, count: index.dimension)
        _ = try? index.search(query, k: 5, nprobe: min(index.nlist, 64))
        _ = try? index.add([Float](repeating: 0.5, count: index.dimension), threads: 1)
        _ = try? index.search(query, k: 5, nprobe: 1)
    }
}
