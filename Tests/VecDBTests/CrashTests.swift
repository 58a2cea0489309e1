import Foundation
import Testing
import VecDBCrashData
import VecDBKernels
import VecDBTestSupport

@testable import VecDB

#if canImport(Glibc)
    import Glibc
#endif

/// Kills a writer process with SIGKILL at random moments and checks the database after each kill.
///
/// The writer (`vecdb-crash-writer`) commits deterministic batches (`CrashData`) and prints
/// "ack B" after batch B's commit returns. After each kill: every acknowledged batch is present
/// with its exact vectors and payloads (or deleted, when a later acknowledged batch deleted it),
/// the one batch in flight is entirely present or entirely absent, nothing later exists, and
/// search agrees with brute force. `VECDB_CRASH_ITERATIONS` sets the number of kills (default 20).
@Suite struct CrashTests {
    static var writerPath: String? { builtExecutable(named: "vecdb-crash-writer") }

    @Test func sigkillAtRandomMomentsLosesNoAcknowledgedBatch() throws {
        let writer = try #require(Self.writerPath, "vecdb-crash-writer must be built next to the test binary (swift build builds it)")
        let iterations = Int(ProcessInfo.processInfo.environment["VECDB_CRASH_ITERATIONS"] ?? "") ?? 20
        let dir = TemporaryDirectory(prefix: "vecdb-crash")
        var g = SeededGenerator(seed: UInt64(ProcessInfo.processInfo.environment["VECDB_CRASH_SEED"] ?? "") ?? 2026)
        var lastAck: Int64 = -1
        var totalAcks = 0
        for iteration in 0..<iterations {
            let first = UInt64(lastAck + 1)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: writer)
            p.arguments = [dir.path, String(first), String(iteration)]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(UInt32.random(in: 20_000...250_000, using: &g))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            for line in text.split(separator: "\n") where line.hasPrefix("ack ") {
                if let b = Int64(line.dropFirst(4)) {
                    #expect(b == lastAck + 1, "acks arrive in order")
                    lastAck = b
                    totalAcks += 1
                }
            }
            try verify(dir.path, lastAck: lastAck, iteration: iteration, g: &g)
        }
        #expect(totalAcks > 0)
    }

    func verify(_ path: String, lastAck: Int64, iteration: Int, g: inout SeededGenerator) throws {
        let db = try Database.open(at: path)
        defer { db.close() }
        guard db.collectionNames().contains("crash") else {
            #expect(lastAck < 0, "acknowledged batches but no collection after kill \(iteration)")
            return
        }
        let c = try db.collection("crash")
        let snap = c.snapshot()
        let stored = Dictionary(try snap.records().map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(stored.count == snap.count)
        let inFlight = UInt64(lastAck + 1)
        var expectedPresent = 0
        for b in 0...(inFlight + 1) {
            let keys = CrashData.batchKeys(b)
            let present = keys.filter { stored[$0] != nil }.count
            // Deleted by batch b+3 (every 7th batch deletes batch b-3), if that batch was acknowledged.
            let deleter = b + 3
            let deletedForSure = deleter % 7 == 0 && Int64(deleter) <= lastAck
            let deletionInFlight = deleter % 7 == 0 && deleter == inFlight
            if Int64(b) <= lastAck {
                if deletedForSure {
                    #expect(present == 0, "batch \(b) should be deleted (kill \(iteration))")
                } else if deletionInFlight {
                    #expect(present == 0 || present == keys.count, "batch \(b) half deleted (kill \(iteration))")
                } else {
                    #expect(present == keys.count, "acknowledged batch \(b) lost \(keys.count - present) records (kill \(iteration))")
                }
            } else if b == inFlight {
                #expect(present == 0 || present == keys.count, "batch \(b) half visible (kill \(iteration))")
            } else {
                #expect(present == 0, "batch \(b) was never written (kill \(iteration))")
            }
            expectedPresent += present
            for k in keys {
                guard let r = stored[k], case .int(let v) = k else { continue }
                #expect(r.vector == CrashData.vector(for: v))
                #expect(r.payload == CrashData.payload(for: v))
            }
        }
        #expect(expectedPresent == stored.count, "records outside the written batches (kill \(iteration))")
        if !stored.isEmpty {
            let candidates = stored.values.map { ($0.key, $0.vector) }
            for _ in 0..<2 {
                let q = g.vector(CrashData.dimension)
                expectAgrees(try snap.search(q, k: 10), BruteForce.nearest(q, candidates, k: 10, metric: .l2))
                let f = try Filter(parsing: "even = true")
                let filtered = stored.values.filter { f.matches($0.payload) }.map { ($0.key, $0.vector) }
                expectAgrees(
                    try snap.search(q, k: 10, options: SearchOptions(filter: f)), BruteForce.nearest(q, filtered, k: 10, metric: .l2))
            }
        }
    }
}
