import VecDBKernels
import VecDBStorage

// Index specification file (`index.spec` in a collection's directory). Little-endian.
//
// Version 2, 64 bytes:
//
//   offset  size  field
//   0       8     magic "VDBIDXS\0"
//   8       4     format version (2)
//   12      4     CRC-32C of the whole file with this field zeroed
//   16      4     index type (1 = HNSW, 2 = IVF)
//   20      4     HNSW M                       (0 for IVF)
//   24      4     HNSW efConstruction          (0 for IVF)
//   28      4     default search width: HNSW ef, or IVF nprobe (0: the library default)
//   32      8     seed (HNSW node levels; IVF k-means++ and training sample)
//   40      4     IVF encoding (0 flat, 1 sq8, 2 pq); HNSW traversal (0 the rows, 1 a float16 copy)
//   44      4     IVF nlist
//   48      4     IVF-PQ sub-quantisers m (0 unless pq)
//   52      4     IVF k-means iterations
//   56      4     IVF training sample, rows
//   60      4     IVF-PQ re-rank candidates (0: none)
//
// Version 1 (40 bytes, HNSW only) has the first 40 bytes of the above, with version 1 and its
// checksum over 40 bytes; it is still read.
//
// Its presence means "keep an index for every segment": `hnsw-<id>.idx` graphs, or
// `ivf-<id>.idx` inverted lists that all share the centroids trained once and kept in
// `ivf-quantizer.idx`.

/// Which index a collection keeps, and with what parameters.
package struct IndexSpec: Sendable, Equatable {
    package enum Kind: Sendable, Equatable {
        case hnsw(HNSWGraph.Parameters)
        case ivf(IVFIndex.Parameters)
    }

    package var kind: Kind
    /// The collection's default search width (HNSW ef, IVF nprobe); nil leaves it to the library.
    package var defaultWidth: Int?

    package init(hnsw: HNSWGraph.Parameters, defaultEF: Int? = nil) {
        kind = .hnsw(hnsw)
        defaultWidth = defaultEF
    }

    package init(ivf: IVFIndex.Parameters, defaultNprobe: Int? = nil) {
        kind = .ivf(ivf)
        defaultWidth = defaultNprobe
    }

    package var hnsw: HNSWGraph.Parameters? {
        if case .hnsw(let p) = kind { return p }
        return nil
    }

    package var ivf: IVFIndex.Parameters? {
        if case .ivf(let p) = kind { return p }
        return nil
    }

    static let magic: [UInt8] = Array("VDBIDXS\0".utf8)
    package static let fileName = "index.spec"
    static let size = 64

    package func bytes() -> [UInt8] {
        var w = [UInt8](repeating: 0, count: Self.size)
        func put<T: FixedWidthInteger>(_ v: T, _ at: Int) {
            withUnsafeBytes(of: v.littleEndian) { for (i, b) in $0.enumerated() { w[at + i] = b } }
        }
        for (i, b) in Self.magic.enumerated() { w[i] = b }
        put(UInt32(2), 8)
        put(UInt32(defaultWidth ?? 0), 28)
        switch kind {
        case .hnsw(let p):
            put(UInt32(1), 16)
            put(UInt32(p.m), 20)
            put(UInt32(p.efConstruction), 24)
            put(p.seed, 32)
            put(UInt32(p.traversal == .float16 ? 1 : 0), 40)
        case .ivf(let p):
            put(UInt32(2), 16)
            put(p.seed, 32)
            switch p.encoding {
            case .flat: put(UInt32(0), 40)
            case .sq8: put(UInt32(1), 40)
            case .pq(let m):
                put(UInt32(2), 40)
                put(UInt32(m), 48)
            }
            put(UInt32(p.nlist), 44)
            put(UInt32(p.iterations), 52)
            put(UInt32(clamping: p.maxSample), 56)
            put(UInt32(p.rerank), 60)
        }
        put(CRC32C.checksum(w), 12)
        return w
    }

    package init(bytes: [UInt8], path: String) throws(VecDBError) {
        func bad(_ why: String) -> VecDBError { VecDBError(.corruptFile, "index spec \(path) is damaged: \(why)", path: path) }
        guard bytes.count == 40 || bytes.count == Self.size else { throw bad("\(bytes.count) bytes, expected \(Self.size)") }
        guard Array(bytes[0..<8]) == Self.magic else { throw bad("wrong magic number") }
        func get<T: FixedWidthInteger>(_ at: Int, _: T.Type) -> T {
            var v: T = 0
            for i in 0..<MemoryLayout<T>.size { v |= T(bytes[at + i]) << (8 * i) }
            return v
        }
        let crc = bytes.withUnsafeBytes { IndexFileReader.checksum($0, zeroingFieldAt: 12) }
        guard crc == get(12, UInt32.self) else { throw bad("checksum mismatch") }
        let version = get(8, UInt32.self)
        guard (version == 1 && bytes.count == 40) || (version == 2 && bytes.count == Self.size) else {
            throw bad("format version \(version) in \(bytes.count) bytes")
        }
        let width = Int(get(28, UInt32.self))
        defaultWidth = width == 0 ? nil : width
        switch get(16, UInt32.self) {
        case 1:
            let traversal: HNSWGraph.Parameters.Traversal
            switch version == 2 ? get(40, UInt32.self) : 0 {
            case 0: traversal = .rows
            case 1: traversal = .float16
            case let t: throw bad("unknown HNSW traversal \(t)")
            }
            let p = HNSWGraph.Parameters(
                m: Int(get(20, UInt32.self)), efConstruction: Int(get(24, UInt32.self)), seed: get(32, UInt64.self),
                traversal: traversal)
            do { try p.validate() } catch { throw bad(error.message) }
            kind = .hnsw(p)
        case 2 where version == 2:
            let encoding: IVFIndex.Encoding
            switch get(40, UInt32.self) {
            case 0: encoding = .flat
            case 1: encoding = .sq8
            case 2: encoding = .pq(m: Int(get(48, UInt32.self)))
            case let e: throw bad("unknown IVF encoding \(e)")
            }
            let p = IVFIndex.Parameters(
                encoding: encoding, nlist: Int(get(44, UInt32.self)), iterations: Int(get(52, UInt32.self)),
                maxSample: Int(get(56, UInt32.self)), seed: get(32, UInt64.self), rerank: Int(get(60, UInt32.self)))
            do { try p.validate() } catch { throw bad(error.message) }
            kind = .ivf(p)
        case let t:
            throw bad("unknown index type \(t)")
        }
    }
}
