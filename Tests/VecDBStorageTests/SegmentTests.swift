import Testing
import VecDBKernels
import VecDBTestSupport

@testable import VecDBStorage

@Suite struct PayloadFileTests {
    func write(_ dir: TemporaryDirectory, _ payloads: [[UInt8]?]) throws -> String {
        let path = dir.file("seg-0000000000000001.pay")
        try CollectionStore.writePayloads(fs: .system, path: path, count: payloads.count) { payloads[$0] }
        return path
    }

    func samplePayloads(_ n: Int) -> [[UInt8]?] {
        var g = SeededGenerator(seed: 11)
        return (0..<n).map { i in
            if i % 10 == 3 { return nil }
            let words = ["alpha", "beta", "gamma", "delta", "\(i)"]
            let len = Int.random(in: 0...60, using: &g)
            return Array((0..<len).map { _ in words.randomElement(using: &g) ?? "" }.joined(separator: " ").utf8)
        }
    }

    @Test func roundTripAndCompression() throws {
        let dir = TemporaryDirectory()
        let payloads = samplePayloads(3000)
        let path = try write(dir, payloads)
        let f = try PayloadFile(fs: .system, path: path, expectedRows: payloads.count)
        #expect(f.blockCount > 3)
        for i in 0..<payloads.count { #expect(try f.payload(row: i) == payloads[i]) }
        #expect(Double(f.rawBytes) / Double(f.fileSize) > 1.5)
    }

    @Test func damagedBlockIsReportedAndOtherBlocksStayReadable() throws {
        let dir = TemporaryDirectory()
        let payloads = samplePayloads(3000)
        let path = try write(dir, payloads)
        var bytes = try FileSystem.system.readAll(path)
        bytes[64 + 16 + 100] ^= 0xFF  // inside block 0's compressed bytes
        try FileSystem.system.open(path, writable: true, truncate: true).write(bytes, at: 0)
        let f = try PayloadFile(fs: .system, path: path, expectedRows: payloads.count)
        let e = #expect(throws: VecDBError.self) { try f.payload(row: 0) }
        #expect(e?.code == .corruptFile)
        #expect(e?.message.contains(path) == true)
        #expect(e?.message.contains("block 0") == true)
        #expect(try f.payload(row: 2999) == payloads[2999])
        #expect(throws: VecDBError.self) { try f.verify() }
    }

    @Test func everyTruncationIsRefused() throws {
        let dir = TemporaryDirectory()
        let payloads = samplePayloads(200)
        let path = try write(dir, payloads)
        let clean = try FileSystem.system.readAll(path)
        for cut in stride(from: 0, to: clean.count, by: max(1, clean.count / 97)) {
            try FileSystem.system.open(path, writable: true, truncate: true).write(Array(clean[..<cut]), at: 0)
            let e = #expect(throws: VecDBError.self) { try PayloadFile(fs: .system, path: path, expectedRows: payloads.count) }
            #expect(e?.path == path)
        }
    }
}

@Suite struct SegmentFileTests {
    func write(_ dir: TemporaryDirectory, _ type: ElementType, rows: [Float], keys: [Key], dimension: Int) throws {
        try rows.withUnsafeBufferPointer { p in
            let base = p.baseAddress.unsafelyUnwrapped
            try SegmentWriter.write(
                fs: .system, path: dir.file(Segment.fileName(id: 5)), dimension: dimension, elementType: type, metric: .l2,
                count: keys.count, vector: { base + $0 * dimension }, key: { keys[$0] }, hasPayload: { $0 % 2 == 0 })
        }
        try CollectionStore.writePayloads(fs: .system, path: dir.file(Segment.payloadFileName(id: 5)), count: keys.count) {
            $0 % 2 == 0 ? [UInt8($0 % 256)] : nil
        }
    }

    @Test(arguments: ElementType.allCases)
    func roundTrip(_ type: ElementType) throws {
        let dir = TemporaryDirectory()
        let d = 13
        let n = 300
        var g = SeededGenerator(seed: 5)
        let rows = g.vectors(n, dimension: d)
        let keys: [Key] = (0..<n).map { $0 % 3 == 0 ? .string("key-\($0)-é") : .int(UInt64($0) * 7) }
        try write(dir, type, rows: rows, keys: keys, dimension: d)
        let s = try Segment(fs: .system, directory: dir.path, id: 5, dimension: d, elementType: type, metric: .l2, expectedRows: n)
        try s.verify()
        let tolerance: Float = type == .float32 ? 0 : (type == .float16 ? 1e-3 : 2.0 / 255)
        let m = s.rows()
        for r in 0..<n {
            #expect(s.key(at: r) == keys[r])
            #expect(s.hasPayload(r) == (r % 2 == 0))
            let v = s.vector(at: r)
            for j in 0..<d {
                #expect(abs(v[j] - rows[r * d + j]) <= tolerance)
                #expect(m[r][j] == v[j])
            }
        }
    }

    @Test func damageIsReportedWithTheFileName() throws {
        let dir = TemporaryDirectory()
        let d = 8
        let n = 100
        var g = SeededGenerator(seed: 6)
        let keys: [Key] = (0..<n).map { .int(UInt64($0)) }
        try write(dir, .float32, rows: g.vectors(n, dimension: d), keys: keys, dimension: d)
        let path = dir.file(Segment.fileName(id: 5))
        let clean = try FileSystem.system.readAll(path)
        func open() throws -> Segment {
            try Segment(fs: .system, directory: dir.path, id: 5, dimension: d, elementType: .float32, metric: .l2, expectedRows: n)
        }
        // Header, keys and flags: opening refuses. Vectors: verify() refuses.
        let vectorsEnd = 128 + n * d * 4
        for offset in stride(from: 0, to: clean.count, by: 7) {
            var bytes = clean
            bytes[offset] ^= 0x20
            try FileSystem.system.open(path, writable: true, truncate: true).write(bytes, at: 0)
            if offset >= 128 && offset < vectorsEnd {
                let s = try open()
                let e = #expect(throws: VecDBError.self) { try s.verify() }
                #expect(e?.message.contains(path) == true)
            } else if (112..<124).contains(offset) || isPadding(offset, clean) {
                continue
            } else {
                let e = #expect(throws: VecDBError.self) { try open() }
                #expect(e?.path == path, "offset \(offset)")
            }
        }
        for cut in stride(from: 0, to: clean.count, by: 53) {
            try FileSystem.system.open(path, writable: true, truncate: true).write(Array(clean[..<cut]), at: 0)
            let e = #expect(throws: VecDBError.self) { try open() }
            #expect(e?.path == path)
        }
    }

    /// Alignment padding between sections is not covered by any checksum.
    func isPadding(_ offset: Int, _ bytes: [UInt8]) -> Bool {
        func u64(_ o: Int) -> Int { Int(bytes[o..<(o + 8)].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }) }
        let sections = [(u64(32), u64(40)), (u64(48), u64(56)), (u64(64), u64(72)), (u64(80), u64(88))]
        if offset < 128 { return false }
        return !sections.contains { offset >= $0.0 && offset < $0.0 + $0.1 }
    }
}

@Suite struct ManifestTests {
    func sample() -> Manifest {
        var m = Manifest(dimension: 96, metric: .cosine, elementType: .float16)
        m.walGeneration = 9
        m.nextWALGeneration = 10
        m.nextSegmentID = 4
        m.segments = [.init(id: 1, rowCount: 100, deletedRows: [0, 5, 99]), .init(id: 3, rowCount: 7, deletedRows: [])]
        return m
    }

    @Test func roundTrip() throws {
        let m = sample()
        #expect(try Manifest.decode(m.encode(), path: "M") == m)
    }

    @Test func everyFlippedBitAndTruncationIsRefused() throws {
        let clean = sample().encode()
        for offset in 0..<clean.count {
            for bit in [0, 3, 7] {
                var bytes = clean
                bytes[offset] ^= UInt8(1 << bit)
                let e = #expect(throws: VecDBError.self) { try Manifest.decode(bytes, path: "/db/c/MANIFEST") }
                #expect(e?.path == "/db/c/MANIFEST")
            }
        }
        for cut in 0..<clean.count {
            #expect(throws: VecDBError.self) { try Manifest.decode(Array(clean[..<cut]), path: "M") }
        }
    }
}
