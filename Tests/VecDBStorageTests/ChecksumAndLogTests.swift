import Testing
import VecDBKernels
import VecDBTestSupport

@testable import VecDBStorage

@Suite struct CRC32CTests {
    @Test func checkValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    @Test func hardwareAgreesWithTable() {
        var g = SeededGenerator(seed: 2)
        let bytes = (0..<5000).map { _ in UInt8.random(in: 0...255, using: &g) }
        bytes.withUnsafeBytes { raw in
            for (start, length) in [(0, 0), (0, 1), (1, 7), (3, 64), (5, 777), (0, 5000), (13, 4000)] {
                let part = UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)])
                #expect(CRC32C.checksum(part, seed: 0x1234) == CRC32C.portable(part, seed: 0x1234))
                #expect(CRC32C.checksum(part) == CRC32C.portable(part))
            }
        }
        #expect(CRC32C.portable(UnsafeRawBufferPointer(start: nil, count: 0)) == 0)
    }

    @Test func chainingEqualsWhole() {
        var g = SeededGenerator(seed: 1)
        let bytes = (0..<1000).map { _ in UInt8.random(in: 0...255, using: &g) }
        for cut in [0, 1, 7, 8, 9, 500, 999, 1000] {
            let a = CRC32C.checksum(Array(bytes[..<cut]))
            #expect(CRC32C.checksum(Array(bytes[cut...]), seed: a) == CRC32C.checksum(bytes))
        }
    }
}

func sampleBatch(_ i: Int, dimension: Int, g: inout SeededGenerator) -> WALBatch {
    let n = 1 + i % 5
    return WALBatch(
        deletes: i % 3 == 0 ? [.int(UInt64(i)), .string("gone-\(i)")] : [],
        keys: (0..<n).map { $0 % 2 == 0 ? .int(UInt64(i * 100 + $0)) : .string("k\(i)-\($0)") },
        vectors: g.vectors(n, dimension: dimension),
        payloads: (0..<n).map { $0 % 3 == 2 ? nil : Array("payload \(i) \($0)".utf8) })
}

@Suite struct WriteAheadLogTests {
    let dimension = 4

    func writeLog(_ dir: TemporaryDirectory, batches: Int) throws -> (String, [WALBatch], [Int]) {
        let path = dir.file(WriteAheadLog.fileName(generation: 1))
        let wal = try WriteAheadLog.create(fs: .system, path: path, dimension: dimension, generation: 1)
        var g = SeededGenerator(seed: 7)
        var written: [WALBatch] = []
        var ends: [Int] = []
        for i in 0..<batches {
            let b = sampleBatch(i, dimension: dimension, g: &g)
            let end = try wal.append(body: b.encodeBody(dimension: dimension))
            try wal.sync(through: end)
            written.append(b)
            ends.append(end)
        }
        wal.close()
        return (path, written, ends)
    }

    @Test func replayReturnsEveryBatch() throws {
        let dir = TemporaryDirectory()
        let (path, written, _) = try writeLog(dir, batches: 20)
        let r = try WriteAheadLog.replay(fs: .system, path: path, dimension: dimension, generation: 1)
        #expect(r.batches == written)
        #expect(r.discardedBytes == 0)
        #expect(r.nextSequence == 21)
    }

    @Test func tornTailIsDiscardedAtEveryCut() throws {
        let dir = TemporaryDirectory()
        let (path, written, ends) = try writeLog(dir, batches: 6)
        let full = try FileSystem.system.readAll(path)
        // Cut anywhere inside the last two frames: the complete frames before the cut survive.
        for cut in stride(from: ends[3], to: full.count, by: 3) {
            try FileSystem.system.open(path, writable: true, create: true, truncate: true).write(Array(full[..<cut]), at: 0)
            let r = try WriteAheadLog.replay(fs: .system, path: path, dimension: dimension, generation: 1)
            let complete = ends.filter { $0 <= cut }.count
            #expect(r.batches == Array(written.prefix(complete)))
            #expect(r.validEnd == ends[complete - 1])
        }
        // Reopening for append cuts the tail, and new frames follow the valid ones.
        try FileSystem.system.open(path, writable: true, create: true, truncate: true).write(Array(full[..<(ends[4] + 5)]), at: 0)
        let r = try WriteAheadLog.replay(fs: .system, path: path, dimension: dimension, generation: 1)
        let wal = try WriteAheadLog.openForAppend(fs: .system, path: path, dimension: dimension, generation: 1, replay: r)
        _ = try wal.append(body: written[5].encodeBody(dimension: dimension))
        try wal.syncAll()
        let again = try WriteAheadLog.replay(fs: .system, path: path, dimension: dimension, generation: 1)
        #expect(again.batches == Array(written.prefix(5)) + [written[5]])
    }

    @Test func garbageInACompleteLastFrameIsCorruptionNotATornTail() throws {
        let dir = TemporaryDirectory()
        let (path, _, ends) = try writeLog(dir, batches: 5)
        var bytes = try FileSystem.system.readAll(path)
        bytes[ends[3] + 25] ^= 0x40
        try FileSystem.system.open(path, writable: true, create: true, truncate: true).write(bytes, at: 0)
        // The frame is whole (its header intact, its body inside the file): an acknowledged
        // batch was damaged after it was written, so replay refuses rather than drop it.
        let e = #expect(throws: VecDBError.self) { try WriteAheadLog.replay(fs: .system, path: path, dimension: dimension, generation: 1) }
        #expect(e?.code == .corruptFile && e?.path == path)
        #expect(e?.message.contains("is damaged at offset \(ends[3]): frame 5 is complete but its body fails its checksum") == true)
        guard case .damaged(let d) = try WriteAheadLog.inspect(fs: .system, path: path, dimension: dimension, generation: 1) else {
            Issue.record("inspect found no damage")
            return
        }
        #expect(d.offset == ends[3] && d.frame == 5)
        // The same frame cut short by the end of the file is a torn tail.
        try FileSystem.system.open(path, writable: true).truncate(to: ends[4] - 3)
        let r = try WriteAheadLog.replay(fs: .system, path: path, dimension: dimension, generation: 1)
        #expect(r.batches.count == 4 && r.validEnd == ends[3] && r.discardedBytes == ends[4] - 3 - ends[3])
    }

    @Test func corruptionInTheMiddleIsReportedWithTheFileName() throws {
        let dir = TemporaryDirectory()
        let (path, _, ends) = try writeLog(dir, batches: 8)
        let clean = try FileSystem.system.readAll(path)
        for offset in [ends[1] + 2, ends[2] + 21, ends[4] - 1, ends[0] + 10] {
            var bytes = clean
            bytes[offset] ^= 0x01
            try FileSystem.system.open(path, writable: true, create: true, truncate: true).write(bytes, at: 0)
            let e = #expect(throws: VecDBError.self) {
                try WriteAheadLog.replay(fs: .system, path: path, dimension: dimension, generation: 1)
            }
            #expect(e?.code == .corruptFile)
            #expect(e?.message.contains(path) == true)
            #expect(e?.message.contains("is damaged at offset") == true)
        }
    }

    @Test func damagedHeaderIsReported() throws {
        let dir = TemporaryDirectory()
        let (path, _, _) = try writeLog(dir, batches: 2)
        let clean = try FileSystem.system.readAll(path)
        for offset in 0..<WriteAheadLog.headerSize {
            var bytes = clean
            bytes[offset] ^= 0x10
            try FileSystem.system.open(path, writable: true, create: true, truncate: true).write(bytes, at: 0)
            let e = #expect(throws: VecDBError.self) {
                try WriteAheadLog.replay(fs: .system, path: path, dimension: dimension, generation: 1)
            }
            #expect(e?.path == path)
        }
        for cut in [0, 5, 31] {
            try FileSystem.system.open(path, writable: true, create: true, truncate: true).write(Array(clean[..<cut]), at: 0)
            let e = #expect(throws: VecDBError.self) {
                try WriteAheadLog.replay(fs: .system, path: path, dimension: dimension, generation: 1)
            }
            #expect(e?.code == .corruptFile)
        }
    }

    @Test func failedWriteLeavesNoPartialFrame() throws {
        let dir = TemporaryDirectory()
        let faults = FaultPlan()
        let path = dir.file(WriteAheadLog.fileName(generation: 1))
        let wal = try WriteAheadLog.create(fs: faults.fileSystem, path: path, dimension: dimension, generation: 1)
        var g = SeededGenerator(seed: 3)
        let a = sampleBatch(1, dimension: dimension, g: &g)
        let b = sampleBatch(2, dimension: dimension, g: &g)
        try wal.sync(through: try wal.append(body: a.encodeBody(dimension: dimension)))
        faults.failNext(.write, with: .shortWrite(bytes: 11))
        let e = #expect(throws: VecDBError.self) { try wal.append(body: b.encodeBody(dimension: dimension)) }
        #expect(e?.code == .diskFull)
        #expect(e?.errno == enospcValue)
        try wal.sync(through: try wal.append(body: b.encodeBody(dimension: dimension)))
        let r = try WriteAheadLog.replay(fs: .system, path: path, dimension: dimension, generation: 1)
        #expect(r.batches == [a, b])
        #expect(r.discardedBytes == 0)
    }

    @Test func groupCommitFromManyThreads() async throws {
        let dir = TemporaryDirectory()
        let path = dir.file(WriteAheadLog.fileName(generation: 1))
        let wal = try WriteAheadLog.create(fs: .system, path: path, dimension: dimension, generation: 1)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 0..<4 {
                group.addTask {
                    var g = SeededGenerator(seed: UInt64(t))
                    for i in 0..<25 {
                        let b = sampleBatch(t * 100 + i, dimension: 4, g: &g)
                        try wal.sync(through: try wal.append(body: b.encodeBody(dimension: 4)))
                    }
                }
            }
            try await group.waitForAll()
        }
        let r = try WriteAheadLog.replay(fs: .system, path: path, dimension: dimension, generation: 1)
        #expect(r.batches.count == 100)
    }
}

#if canImport(Glibc)
    import Glibc
    let enospcValue: Int32 = ENOSPC
#else
    import Darwin
    let enospcValue: Int32 = ENOSPC
#endif
