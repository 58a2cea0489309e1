// The seed corpus of the fuzz targets: small valid files, made by the library's own writers, so
// the fuzzer starts from inputs that pass every check and mutates from there. scripts/fuzz.sh
// --make-corpus runs this (VECDB_FUZZ_SEEDS=DIR) and Tests/Fuzz/corpus/ holds the result.
//
// Binary targets get the control byte first (FuzzMain.swift): 0x01, repair checksums.
import Foundation
import VecDB
import VecDBDatasets
import VecDBIndex
import VecDBKernels
import VecDBStorage

enum SeedCorpus {
    /// Writes every target's seeds under `dir/<target>/`.
    static func write(to dir: String) throws {
        let fs = FileSystem.system
        try fs.makeDirectories(dir)
        var seeds: [FuzzTarget: [[UInt8]]] = [:]
        seeds[.wal] = try walSeeds().map { [1] + $0 }
        seeds[.segment] = try segmentSeeds().map { [1] + $0 }
        seeds[.manifest] = manifestSeeds().map { [1] + $0 }
        seeds[.payload] = try payloadSeeds().map { [1] + $0 }
        seeds[.hnsw] = try hnswSeeds().map { [1] + $0 }
        seeds[.ivf] = try ivfSeeds().map { [1] + $0 }
        seeds[.filter] = [
            "year >= 1990 and name = 'alpha'", "not exists nested.depth.x or tags in ['a', \"b\", 3, true, null]",
            "(price < 20.5 or price > 1e3) and active != false", "nested.depth.y == \"two\"",
        ].map { Array($0.utf8) }
        seeds[.shell] = [
            "search items --vector '0.1, 0.2' --k 5", "import \"my file.jsonl\" --collection c\\ 1", "get 'it''s' \"a \\\"b\\\"\" ''",
        ].map { Array($0.utf8) }
        seeds[.jsonl] = [
            "{\"key\": 1, \"vector\": [0.5, -1.25e2, 3], \"payload\": {\"name\": \"a\", \"tags\": [1, null, true]}}\n"
                + "\n{\"key\": \"id-2\", \"vector\": [0, 0, 0], \"payload\": null}\n",
            "{\"key\": 7, \"text\": \"caf\\u00e9 \\\"quoted\\\"\", \"vector\": []}\n",
        ].map { Array($0.utf8) }
        seeds[.csv] = ["x,y,z\n0.5,1,2\n-3e-2,4,5.5\n", "1,2\n3,4\n\n"].map { Array($0.utf8) }
        let m = VectorMatrix<Float>(values: [0.5, -1, 2, 3.25, 0, 1e-3], count: 3, dimension: 2)
        seeds[.npy] = [[UInt8](NumpyFormat.encode(m)), [UInt8](NumpyFormat.encode(m.prefix(1)))]
        seeds[.fvecs] = [[UInt8](VecsFormat.encodeFvecs(m)), [UInt8](VecsFormat.encodeFvecs(m.prefix(1)))]
        // IDX: magic 0x00000803 (unsigned bytes, rank 3), 2 images of 2 × 3 pixels.
        seeds[.idx] = [
            [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3] + (0..<12).map { UInt8($0 * 20) }, [0, 0, 8, 1, 0, 0, 0, 2, 7, 9],
        ]
        for target in FuzzTarget.allCases {
            let sub = dir + "/" + target.rawValue
            try fs.makeDirectories(sub)
            for (i, bytes) in (seeds[target] ?? []).enumerated() {
                try fs.replaceAtomically(sub + "/seed-\(i)", with: bytes)
            }
        }
    }

    /// Dimension 3 rows with integer and string keys, and payloads on some rows.
    static let keys: [Key] = [.int(1), .string("two"), .int(1 << 40), .string("caf\u{e9}")]
    static let vectors: [Float] = [0.5, -1, 2, 3.25, 0, 1e-3, -7, 8, 9.5, 0.125, 0.25, -0.5]
    static let payloads: [[UInt8]?] = {
        let values: [Payload?] = [["name": "a", "year": 1999], nil, ["tags": ["x", 2, true, nil]], "plain"]
        return values.map { $0?.encoded() }
    }()

    static func temporaryPath(_ name: String) -> String { Scratch.path("seed-" + name) }

    static func walSeeds() throws -> [[UInt8]] {
        let path = temporaryPath(WriteAheadLog.fileName(generation: 3))
        try? FileSystem.system.unlink(path)
        let wal = try WriteAheadLog.create(fs: .system, path: path, dimension: 3, generation: 3)
        _ = try wal.append(
            body: WALBatch(keys: Array(keys[0..<2]), vectors: Array(vectors[0..<6]), payloads: Array(payloads[0..<2])).encodeBody(
                dimension: 3))
        _ = try wal.append(
            body: WALBatch(deletes: [.int(1)], keys: [keys[3]], vectors: Array(vectors[9..<12]), payloads: [payloads[3]]).encodeBody(
                dimension: 3))
        wal.close()
        defer { try? FileSystem.system.unlink(path) }
        return [try FileSystem.system.readAll(path)]
    }

    static func segmentSeeds() throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        for (type, metric) in [(ElementType.float32, Metric.l2), (.float16, .ip), (.int8, .cosine)] {
            let path = temporaryPath("seg.vec")
            try vectors.withUnsafeBufferPointer { v in
                let base = v.baseAddress.unsafelyUnwrapped
                try SegmentWriter.write(
                    fs: .system, path: path, dimension: 3, elementType: type, metric: metric, count: 4,
                    vector: { base + 3 * $0 }, key: { keys[$0] }, hasPayload: { payloads[$0] != nil })
            }
            out.append(try FileSystem.system.readAll(path))
            try FileSystem.system.unlink(path)
        }
        return out
    }

    /// Manifests as the library writes them: one with two segments and deleted rows, and an
    /// empty one.
    static func manifestSeeds() -> [[UInt8]] {
        var full = Manifest(dimension: 3, metric: .cosine, elementType: .float16)
        full.walGeneration = 4
        full.nextSegmentID = 3
        full.nextWALGeneration = 5
        full.segments = [
            Manifest.SegmentEntry(id: 1, rowCount: 4, deletedRows: [0, 2]), Manifest.SegmentEntry(id: 2, rowCount: 10, deletedRows: []),
        ]
        return [full.encode(), Manifest(dimension: 128, metric: .l2, elementType: .float32).encode()]
    }

    static func payloadSeeds() throws -> [[UInt8]] {
        let path = temporaryPath("seg.pay")
        let h = try FileSystem.system.open(path, writable: true, create: true, truncate: true)
        var w = PayloadFileWriter(handle: h)
        for p in payloads {
            if let p { try p.withUnsafeBytes { raw in try w.append(raw) } } else { try w.append(nil) }
        }
        try w.finish()
        h.close()
        defer { try? FileSystem.system.unlink(path) }
        return [try FileSystem.system.readAll(path)]
    }

    /// Twenty rows of dimension 4, for the index seeds.
    static let indexRows: [Float] = (0..<80).map { Float(($0 * 37) % 101) / 101 - 0.5 }

    static func hnswSeeds() throws -> [[UInt8]] {
        try indexRows.withUnsafeBufferPointer { v in
            let rows = RowMatrix(base: v.baseAddress.unsafelyUnwrapped, count: 20, dimension: 4)
            let params = HNSWGraph.Parameters(m: 4, efConstruction: 16, seed: 7)
            return [
                try HNSWGraph.build(vectors: rows, metric: .l2, parameters: params).fileBytes(),
                try HNSWGraph.build(vectors: RowMatrix(base: rows.base, count: 3, dimension: 4), metric: .ip, parameters: params)
                    .fileBytes(),
            ]
        }
    }

    static func ivfSeeds() throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        for (encoding, metric) in [(IVFIndex.Encoding.flat, Metric.l2), (.sq8, .cosine)] {
            let index = try IVFIndex(metric: metric, dimension: 4, nlist: 3, encoding: encoding)
            try indexRows.withUnsafeBufferPointer { v in
                let rows = RowMatrix(base: v.baseAddress.unsafelyUnwrapped, count: 20, dimension: 4)
                try index.train(rows, parameters: .init(iterations: 4, seed: 3, threads: 1))
                _ = try index.add(rows, threads: 1)
            }
            out.append(try index.fileBytes())
        }
        return out
    }
}
