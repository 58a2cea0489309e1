import Testing
import VecDBKernels
import VecDBRecommend
import VecDBStorage
import VecDBTestSupport

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Interaction log")
struct InteractionLogTests {
    /// A log of two batches of 5, its bytes then changed by `damage`: its directory, path and
    /// damaged bytes.
    static func twoBatches(damage: (inout [UInt8]) -> Void) throws -> (dir: TemporaryDirectory, path: String, bytes: [UInt8]) {
        let dir = TemporaryDirectory()
        let log = try InteractionLog.open(directory: dir.path)
        try log.record(batch(5))
        try log.record(batch(5, offset: 5))
        let path = log.path
        log.close()
        var bytes = try FileSystem.system.readAll(path)
        damage(&bytes)
        try FileSystem.system.replaceAtomically(path, with: bytes)
        return (dir, path, bytes)
    }

    static func batch(_ n: Int, offset: Int = 0) -> [Interaction] {
        (0..<n).map { i in
            let k = i + offset
            return Interaction(
                user: k % 3 == 0 ? .string("user-\(k)") : .int(UInt64(k % 7)), item: .int(UInt64(k * 13)),
                weight: Float(k) / 2, timestamp: Int64(1_700_000_000 + k))
        }
    }

    @Test func roundTripAndReopen() throws {
        let dir = TemporaryDirectory()
        let log = try InteractionLog.open(directory: dir.path)
        try log.record(Self.batch(5))
        try log.record([])
        try log.record(Self.batch(3, offset: 5))
        #expect(log.interactions == Self.batch(8))
        log.close()
        let again = try InteractionLog.open(directory: dir.path)
        #expect(again.interactions == Self.batch(8))
        #expect(again.discardedBytes == 0)
        try again.record(Self.batch(2, offset: 8))
        again.close()
        #expect(try InteractionLog.open(directory: dir.path).interactions == Self.batch(10))
    }

    @Test func nonFiniteWeightRecordsNothing() throws {
        let dir = TemporaryDirectory()
        let log = try InteractionLog.open(directory: dir.path)
        var bad = Self.batch(3)
        bad[2].weight = .nan
        expectVecDBError(.nonFiniteValue, containing: "interaction 2") { try log.record(bad) }
        bad[2].weight = .infinity
        expectVecDBError(.nonFiniteValue) { try log.record(bad) }
        #expect(log.count == 0)
        #expect(log.size == 32)
    }

    @Test func secondHandleIsLocked() throws {
        let dir = TemporaryDirectory()
        let log = try InteractionLog.open(directory: dir.path)
        expectVecDBError(.locked) { try InteractionLog.open(directory: dir.path) }
        log.close()
        _ = try InteractionLog.open(directory: dir.path)
    }

    /// Appends raw bytes to the log file, as a crash mid-write would leave them.
    static func append(_ bytes: [UInt8], to path: String) throws {
        let h = try FileSystem.system.open(path, writable: true)
        try h.write(bytes, at: try h.size())
        h.close()
    }

    @Test(arguments: [0, 1, 7, 19, 20, 40])
    func tornTailIsCutOff(keep: Int) throws {
        let dir = TemporaryDirectory()
        let log = try InteractionLog.open(directory: dir.path)
        try log.record(Self.batch(4))
        try log.record(Self.batch(3, offset: 4))
        let path = log.path
        let goodSize = log.size
        log.close()
        // A third frame torn after `keep` bytes: write it whole through a second log in another
        // directory, then copy its first `keep` bytes after the frame header of this one.
        let other = TemporaryDirectory()
        let scratch = try InteractionLog.open(directory: other.path)
        try scratch.record(Self.batch(4))
        try scratch.record(Self.batch(3, offset: 4))
        try scratch.record(Self.batch(6, offset: 7))
        let full = try FileSystem.system.readAll(scratch.path)
        scratch.close()
        #expect(Array(full[..<goodSize]) == (try FileSystem.system.readAll(path)))
        let frame = Array(full[goodSize...])
        try Self.append(Array(frame.prefix(keep)), to: path)
        let reopened = try InteractionLog.open(directory: dir.path)
        #expect(reopened.interactions == Self.batch(7))
        #expect(reopened.discardedBytes == keep)
        #expect(FileSystem.system.fileSize(path) == goodSize)
        try reopened.record(Self.batch(1, offset: 7))
        reopened.close()
        #expect(try InteractionLog.open(directory: dir.path).interactions == Self.batch(8))
    }

    @Test func garbageTailIsDropped() throws {
        let dir = TemporaryDirectory()
        let log = try InteractionLog.open(directory: dir.path)
        try log.record(Self.batch(5))
        let path = log.path
        log.close()
        var rng = SeededGenerator(seed: 9)
        try Self.append((0..<333).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, to: path)
        let reopened = try InteractionLog.open(directory: dir.path)
        #expect(reopened.interactions == Self.batch(5))
        #expect(reopened.discardedBytes == 333)
    }

    @Test func damageBeforeAValidFrameRefusesToOpen() throws {
        // Inside the first frame's body.
        let (dir, _, _) = try Self.twoBatches { $0[40] ^= 0xFF }
        expectVecDBError(.corruptFile, containing: "is damaged at offset 32: frame 1 fails its checksum but valid frames follow") {
            try InteractionLog.open(directory: dir.path)
        }
    }

    /// A complete last frame that fails its checksum is damage to an acknowledged batch, not a
    /// torn tail: refused, and the bytes kept (issue 14, class 4).
    @Test func damageInACompleteLastFrameRefusesToOpen() throws {
        let (dir, path, bytes) = try Self.twoBatches { $0[$0.count - 3] ^= 0x10 }
        expectVecDBError(.corruptFile, containing: "frame 2 is complete but its body fails its checksum") {
            try InteractionLog.open(directory: dir.path)
        }
        #expect(try FileSystem.system.readAll(path) == bytes)
    }

    @Test func damagedHeaderIsReported() throws {
        let dir = TemporaryDirectory()
        let log = try InteractionLog.open(directory: dir.path)
        let path = log.path
        log.close()
        var bytes = try FileSystem.system.readAll(path)
        bytes[9] ^= 1
        try FileSystem.system.replaceAtomically(path, with: bytes)
        expectVecDBError(.corruptFile, containing: "damaged header") { try InteractionLog.open(directory: dir.path) }
    }

    @Test func failedWriteLeavesNothingBehind() throws {
        let dir = TemporaryDirectory()
        let faults = FaultPlan()
        let log = try InteractionLog.open(directory: dir.path, fileSystem: faults.fileSystem)
        try log.record(Self.batch(3))
        faults.failNext(.write, pathContaining: "interactions.log", with: .shortWrite(bytes: 11))
        expectVecDBError(.diskFull) { try log.record(Self.batch(4, offset: 3)) }
        #expect(log.interactions == Self.batch(3))
        try log.record(Self.batch(2, offset: 3))
        log.close()
        let reopened = try InteractionLog.open(directory: dir.path)
        #expect(reopened.interactions == Self.batch(5))
        #expect(reopened.discardedBytes == 0)
    }

    @Test func failedSyncStopsWrites() throws {
        let dir = TemporaryDirectory()
        let faults = FaultPlan()
        let log = try InteractionLog.open(directory: dir.path, fileSystem: faults.fileSystem)
        try log.record(Self.batch(3))
        faults.failNext(.sync, pathContaining: "interactions.log", with: .fail(errno: EIO))
        expectVecDBError(.io) { try log.record(Self.batch(1, offset: 3)) }
        expectVecDBError(.io, containing: "reopen") { try log.record(Self.batch(1, offset: 4)) }
        #expect(log.interactions == Self.batch(3))
        log.close()
        // The unacknowledged frame may or may not have reached the disk; acknowledged ones did.
        let reopened = try InteractionLog.open(directory: dir.path).interactions
        #expect(Array(reopened.prefix(3)) == Self.batch(3))
        #expect(reopened.count <= 4)
    }

    @Test func crashAtEveryCallKeepsAcknowledgedBatches() throws {
        for limit in 0..<12 {
            let dir = TemporaryDirectory()
            let faults = FaultPlan()
            faults.failEverything(after: limit)
            var acknowledged = 0
            if let log = try? InteractionLog.open(directory: dir.path, fileSystem: faults.fileSystem) {
                for b in 0..<4 {
                    guard (try? log.record(Self.batch(2, offset: 2 * b))) != nil else { break }
                    acknowledged += 1
                }
                log.close()
            }
            let reopened = try InteractionLog.open(directory: dir.path).interactions
            #expect(reopened.count >= 2 * acknowledged, "limit \(limit)")
            #expect(reopened == Self.batch(reopened.count), "limit \(limit)")
        }
    }
}
