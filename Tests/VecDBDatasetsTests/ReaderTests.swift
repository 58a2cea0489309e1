import Foundation
import Testing
import VecDBDatasets
import VecDBKernels
import VecDBTestSupport

@Suite("Data-set readers")
struct ReaderTests {
    let dir = TemporaryDirectory(prefix: "datasets")

    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = dir.file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    @Test("fvecs and ivecs round-trip")
    func vecsRoundTrip() throws {
        let m = VectorMatrix(values: SyntheticData.uniform(count: 5, dimension: 3, seed: 1), count: 5, dimension: 3)
        try writeFileAtomically(VecsFormat.encodeFvecs(m), to: dir.file("a.fvecs"))
        let back = try VecsFormat.readFvecs(dir.file("a.fvecs"))
        #expect(back.values == m.values && back.count == 5 && back.dimension == 3)
        let ids = VectorMatrix<Int32>(values: [1, 2, 3, 4, 5, 6], count: 2, dimension: 3)
        try writeFileAtomically(VecsFormat.encodeIvecs(ids), to: dir.file("a.ivecs"))
        #expect(try VecsFormat.readIvecs(dir.file("a.ivecs")).values == ids.values)
        #expect(try VecsFormat.readFvecs(dir.file("a.fvecs"), limit: 2).count == 2)
    }

    @Test("bvecs widen bytes")
    func bvecs() throws {
        let p = try write("a.bvecs", [2, 0, 0, 0, 7, 255, 2, 0, 0, 0, 0, 1])
        let m = try VecsFormat.readBvecs(p)
        #expect(m.values == [7, 255, 0, 1] && m.count == 2)
    }

    @Test("empty, truncated and inconsistent fvecs are typed errors")
    func badVecs() throws {
        let empty = try write("empty.fvecs", [])
        expectVecDBError(.malformedFile, containing: "empty") { try VecsFormat.readFvecs(empty) }
        // One 2-d vector, then half of another.
        let truncated = try write("t.fvecs", [2, 0, 0, 0] + [UInt8](repeating: 0, count: 8) + [2, 0, 0, 0, 0, 0])
        expectVecDBError(.malformedFile, containing: "truncated") { try VecsFormat.readFvecs(truncated) }
        let mixed = try write("m.fvecs", [1, 0, 0, 0, 0, 0, 128, 63, 2, 0, 0, 0] + [0, 0, 128, 63])
        expectVecDBError(.malformedFile) { try VecsFormat.readFvecs(mixed) }
        let negative = try write("n.fvecs", [255, 255, 255, 255, 0, 0, 0, 0])
        expectVecDBError(.malformedFile, containing: "dimension -1") { try VecsFormat.readFvecs(negative) }
        expectVecDBError(.notFound) { try VecsFormat.readFvecs(dir.file("missing.fvecs")) }
    }

    /// Builds an .npy file by hand, independently of NumpyFormat.encode.
    func npy(descr: String, fortran: Bool, shape: String, payload: [UInt8], version: UInt8 = 1) -> [UInt8] {
        var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }"
        while (10 + header.count + 1) % 16 != 0 { header += " " }
        header += "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
        bytes += [UInt8(header.count & 0xff), UInt8(header.count >> 8)]
        return bytes + Array(header.utf8) + payload
    }

    func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    @Test("npy: float32 C order, Fortran order, float64, int32, int64, big-endian")
    func npyReads() throws {
        // The matrix [[1, 2, 3], [4, 5, 6]].
        let cOrder: [Float] = [1, 2, 3, 4, 5, 6]
        let fOrder: [Float] = [1, 4, 2, 5, 3, 6]
        let c = try write("c.npy", npy(descr: "<f4", fortran: false, shape: "(2, 3)", payload: cOrder.flatMap { le($0.bitPattern) }))
        let f = try write("f.npy", npy(descr: "<f4", fortran: true, shape: "(2, 3)", payload: fOrder.flatMap { le($0.bitPattern) }))
        let d = try write(
            "d.npy", npy(descr: "<f8", fortran: false, shape: "(2, 3)", payload: cOrder.flatMap { le(Double($0).bitPattern) }))
        let i4 = try write("i4.npy", npy(descr: "<i4", fortran: false, shape: "(2, 3)", payload: cOrder.flatMap { le(Int32($0)) }))
        let i8 = try write("i8.npy", npy(descr: "<i8", fortran: true, shape: "(2, 3)", payload: fOrder.flatMap { le(Int64($0)) }))
        let be = try write(
            "be.npy",
            npy(
                descr: ">f4", fortran: false, shape: "(2, 3)",
                payload: cOrder.flatMap { withUnsafeBytes(of: $0.bitPattern.bigEndian) { Array($0) } }))
        for p in [c, f, d, i4, i8, be] {
            let m = try NumpyFormat.readMatrix(p)
            #expect(m.values == cOrder && m.count == 2 && m.dimension == 3, "\(p)")
        }
        let one = try write(
            "one.npy", npy(descr: "<f4", fortran: false, shape: "(3,)", payload: [Float(7), 8, 9].flatMap { le($0.bitPattern) }))
        #expect(try NumpyFormat.readMatrix(one).values == [7, 8, 9])
        // Our own encoder round-trips.
        let m = VectorMatrix(values: SyntheticData.uniform(count: 4, dimension: 5, seed: 2), count: 4, dimension: 5)
        try writeFileAtomically(NumpyFormat.encode(m), to: dir.file("rt.npy"))
        #expect(try NumpyFormat.readMatrix(dir.file("rt.npy")).values == m.values)
    }

    @Test("malformed npy headers are typed errors")
    func npyMalformed() throws {
        let payload = [UInt8](repeating: 0, count: 24)
        let cases: [(String, [UInt8], String)] = [
            ("magic", [0x93] + Array("NUMPX".utf8) + [1, 0, 0, 0], "magic"),
            ("descr", npy(descr: "<c8", fortran: false, shape: "(2, 3)", payload: payload), "element type"),
            (
                "fortran",
                npy(descr: "<f4", fortran: false, shape: "(2, 3)", payload: payload).replacing(
                    Array("False".utf8), with: Array("Maybe".utf8)), "fortran_order"
            ),
            ("shape", npy(descr: "<f4", fortran: false, shape: "(2, x)", payload: payload), "shape"),
            ("short", npy(descr: "<f4", fortran: false, shape: "(20, 3)", payload: payload), "truncated"),
            ("version", npy(descr: "<f4", fortran: false, shape: "(2, 3)", payload: payload, version: 9), "version"),
            ("rank", npy(descr: "<f4", fortran: false, shape: "(1, 2, 3)", payload: payload), "2-D"),
        ]
        for (name, bytes, fragment) in cases {
            let p = try write(name + ".npy", bytes)
            expectVecDBError(.malformedFile, containing: fragment) { try NumpyFormat.readMatrix(p) }
        }
    }

    @Test("IDX images and labels, and a wrong magic number")
    func idx() throws {
        let images = try write("img-ubyte", [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2] + [0, 1, 2, 3, 4, 5, 6, 255])
        let m = try IDXFormat.readImages(images)
        #expect(m.count == 2 && m.dimension == 4 && m.values == [0, 1, 2, 3, 4, 5, 6, 255])
        let labels = try write("lab-ubyte", [0, 0, 8, 1, 0, 0, 0, 3, 9, 0, 4])
        #expect(try IDXFormat.read(labels).bytes == [9, 0, 4])
        let wrong = try write("bad-ubyte", [0, 0, 0x0d, 3, 0, 0, 0, 1])
        expectVecDBError(.malformedFile, containing: "wrong IDX magic number 0x00000d03") { try IDXFormat.read(wrong) }
        let short = try write("short-ubyte", [0, 0, 8, 1, 0, 0, 0, 9, 1])
        expectVecDBError(.malformedFile, containing: "truncated") { try IDXFormat.read(short) }
    }

    @Test("CSV of floats, with and without a header")
    func csv() throws {
        #expect(try CSVFormat.parse("a,b\n1,2\n3.5,-4\n", path: "x").values == [1, 2, 3.5, -4])
        #expect(try CSVFormat.parse("1,2\n\n3,4", path: "x").count == 2)
        expectVecDBError(.malformedFile, containing: "line 2 has 1 fields") { try CSVFormat.parse("1,2\n3\n", path: "x") }
        expectVecDBError(.malformedFile, containing: "not a number") { try CSVFormat.parse("1,2\n3,x\n", path: "x") }
    }

    @Test("an unknown data-set name is a typed error listing the known ones")
    func unknownDataset() {
        let catalog = DatasetCatalog(cacheDirectory: dir.path)
        expectVecDBError(.unknownDataset, containing: "fashion-mnist-784") { try catalog.fetch("sift-1b") }
    }

    @Test("ground truth is exact and cached")
    func groundTruth() throws {
        let d = 6
        let base = VectorMatrix(values: SyntheticData.uniform(count: 300, dimension: d, seed: 5), count: 300, dimension: d)
        let queries = VectorMatrix(values: SyntheticData.uniform(count: 70, dimension: d, seed: 6), count: 70, dimension: d)
        try writeFileAtomically(VecsFormat.encodeFvecs(base), to: dir.file("b.fvecs"))
        try writeFileAtomically(VecsFormat.encodeFvecs(queries), to: dir.file("q.fvecs"))
        let (path, gt) = try GroundTruth.cached(
            basePath: dir.file("b.fvecs"), queriesPath: dir.file("q.fvecs"), metric: .l2,
            cacheDirectory: dir.path, threads: 2)
        #expect(gt.count == 70 && gt.dimension == 100)
        for i in 0..<70 {
            let want = SyntheticData.bruteForce(query: queries.row(i), rows: base.values, dimension: d, metric: .l2, k: 10)
            #expect(Set(gt.row(i).prefix(10).map(Int.init)) == Set(want.map(\.index)))
        }
        let again = try GroundTruth.cached(
            basePath: dir.file("b.fvecs"), queriesPath: dir.file("q.fvecs"), metric: .l2,
            cacheDirectory: dir.path, threads: 2)
        #expect(again.path == path && again.matrix.values == gt.values)
    }

    /// Fuzz crasher (idx): a rank-3 shape whose element count overflows `Int`.
    @Test("IDX shape whose size overflows is malformed")
    func idxShapeOverflow() throws {
        let bytes = try FuzzCrashers.bytes("idx", "crash-b3e1ea300feab7126b407a65c495e48fa4729958")
        expectVecDBError(.malformedFile, containing: "is too large") { try IDXFormat.parse(Data(bytes), path: "crash") }
    }

    /// Fuzz crasher (idx): zero images of 4,127,260,671 × 4,244,635,648 pixels: no data, but
    /// the pixels per image overflow `Int`.
    @Test("IDX images whose pixel count overflows are malformed")
    func idxImageSizeOverflow() throws {
        let path = try write("images-idx3-ubyte", try FuzzCrashers.bytes("idx", "crash-fb7cceb8f9942e5597e26e15d5ff92986e62dbbb"))
        expectVecDBError(.malformedFile, containing: "are too large") { try IDXFormat.readImages(path) }
    }
}
