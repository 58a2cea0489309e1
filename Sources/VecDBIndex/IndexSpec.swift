import VecDBKernels
import VecDBStorage

// Index specification file (`index.spec` in a collection's directory), version 1, 40 bytes,
// little-endian:
//
//   offset  size  field
//   0       8     magic "VDBIDXS\0"
//   8       4     format version (1)
//   12      4     CRC-32C of the 40 bytes with this field zeroed
//   16      4     index type (1 = HNSW)
//   20      4     M
//   24      4     efConstruction
//   28      4     default ef for searches that do not give one (0: the library default)
//   32      8     seed
//
// Its presence means "keep an HNSW graph for every segment"; each graph is `seg-<id>.hnsw`.

/// Which index a collection keeps, and with what parameters.
package struct IndexSpec: Sendable, Equatable {
    package var hnsw: HNSWGraph.Parameters
    /// The collection's default search width; nil leaves it to the library.
    package var defaultEF: Int?

    package init(hnsw: HNSWGraph.Parameters, defaultEF: Int? = nil) {
        self.hnsw = hnsw
        self.defaultEF = defaultEF
    }

    static let magic: [UInt8] = Array("VDBIDXS\0".utf8)
    package static let fileName = "index.spec"

    package func bytes() -> [UInt8] {
        var w = [UInt8](repeating: 0, count: 40)
        func put<T: FixedWidthInteger>(_ v: T, _ at: Int) {
            withUnsafeBytes(of: v.littleEndian) { for (i, b) in $0.enumerated() { w[at + i] = b } }
        }
        for (i, b) in Self.magic.enumerated() { w[i] = b }
        put(UInt32(1), 8)
        put(UInt32(1), 16)
        put(UInt32(hnsw.M), 20)
        put(UInt32(hnsw.efConstruction), 24)
        put(UInt32(defaultEF ?? 0), 28)
        put(hnsw.seed, 32)
        put(CRC32C.checksum(w), 12)
        return w
    }

    package init(bytes: [UInt8], path: String) throws(VecDBError) {
        func bad(_ why: String) -> VecDBError { VecDBError(.corruptFile, "index spec \(path) is damaged: \(why)", path: path) }
        guard bytes.count == 40 else { throw bad("\(bytes.count) bytes, expected 40") }
        guard Array(bytes[0..<8]) == Self.magic else { throw bad("wrong magic number") }
        func get<T: FixedWidthInteger>(_ at: Int, _: T.Type) -> T {
            var v: T = 0
            for i in 0..<MemoryLayout<T>.size { v |= T(bytes[at + i]) << (8 * i) }
            return v
        }
        var zeroed = bytes
        for i in 12..<16 { zeroed[i] = 0 }
        guard CRC32C.checksum(zeroed) == get(12, UInt32.self) else { throw bad("checksum mismatch") }
        guard get(8, UInt32.self) == 1 else { throw bad("format version \(get(8, UInt32.self))") }
        guard get(16, UInt32.self) == 1 else { throw bad("unknown index type \(get(16, UInt32.self))") }
        hnsw = HNSWGraph.Parameters(M: Int(get(20, UInt32.self)), efConstruction: Int(get(24, UInt32.self)), seed: get(32, UInt64.self))
        let ef = Int(get(28, UInt32.self))
        defaultEF = ef == 0 ? nil : ef
        do { try hnsw.validate() } catch { throw bad(error.message) }
    }
}
