import Foundation
import Testing
import VecDBKernels
import VecDBTestSupport

/// Issue 14, class 6: readers in other processes open and read while one writer writes.
///
/// A writer process runs an import, an index build and a compaction in turn; meanwhile this
/// test runs `vecdb get`, `search` and `stats` (each its own process) over and over. Every
/// read must succeed, and `get` must return the exact stored record of a key written before.
@Suite("readers beside a writer process", .serialized)
struct ConcurrentReaderTests {
    let dir = TemporaryDirectory(prefix: "vecdb-readers")
    static let dimension = 16

    func vecdb() throws -> String { try #require(builtExecutable(named: "vecdb"), "vecdb must be built next to the test binary") }

    /// Rows `range` as JSON Lines; vector components are exact in decimal (multiples of 1/8).
    func rows(_ range: Range<Int>) -> String {
        var g = SeededGenerator(seed: 9)
        var out = ""
        for i in 0..<range.upperBound {
            let v = (0..<Self.dimension).map { _ in Double(Int.random(in: -64...64, using: &g)) / 8 }
            guard range.contains(i) else { continue }
            out += "{\"key\": \(i), \"vector\": [\(v.map { String($0) }.joined(separator: ", "))], \"payload\": {\"i\": \(i)}}\n"
        }
        return out
    }

    /// Runs `args` as the writer and reads until it exits; returns the reads made while it ran.
    func readWhileWriting(_ db: String, _ args: [String], expectGet: String) throws -> (reads: Int, failures: [String]) {
        let exe = try vecdb()
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: exe)
        writer.arguments = args
        writer.standardOutput = FileHandle.nullDevice
        let writerErr = Pipe()
        writer.standardError = writerErr
        try writer.run()
        var reads = 0
        var failures: [String] = []
        var round = 0
        while writer.isRunning {
            let command: [String]
            switch round % 3 {
            case 0: command = ["get", db, "c", "7"]
            case 1:
                command = ["search", db, "c", "--vector", Array(repeating: "0.5", count: Self.dimension).joined(separator: ","), "-k", "3"]
            default: command = ["stats", db, "c"]
            }
            let wasRunning = writer.isRunning
            let r = try runCommand(exe, command)
            round += 1
            guard wasRunning else { continue }
            reads += 1
            if r.status != 0 {
                failures.append("\(command[0]): \(r.stderr)")
            } else if command[0] == "get" && !r.stdout.contains(expectGet) {
                failures.append("get 7 printed \(r.stdout)")
            }
        }
        writer.waitUntilExit()
        let err = String(decoding: writerErr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(writer.terminationStatus == 0, "writer \(args[0]) failed: \(err)")
        return (reads, failures)
    }

    @Test func readsSucceedDuringImportIndexBuildAndCompaction() throws {
        let exe = try vecdb()
        let db = dir.file("db")
        #expect(try runCommand(exe, ["create", db, "c", "--dim", String(Self.dimension)]).status == 0)
        let first = dir.file("first.jsonl")
        try rows(0..<100).write(toFile: first, atomically: true, encoding: .utf8)
        #expect(try runCommand(exe, ["import", db, "c", first]).status == 0)
        let expected = try runCommand(exe, ["get", db, "c", "7"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(expected.contains("\"i\":7") || expected.contains("\"i\": 7"), "\(expected)")

        let big = dir.file("big.jsonl")
        try rows(100..<40_100).write(toFile: big, atomically: true, encoding: .utf8)
        var total = 0
        for writer in [
            ["import", db, "c", big, "--batch-size", "500"],
            ["index", db, "c", "--type", "hnsw", "--ef-construction", "100"],
            ["delete", db, "c", "--filter", "i >= 20000"],
            ["compact", db, "c"],
        ] {
            let (reads, failures) = try readWhileWriting(db, writer, expectGet: expected)
            #expect(failures.isEmpty, "during \(writer[0]): \(failures.prefix(3))")
            print("readers during \(writer[0]): \(reads) reads, \(failures.count) failures")
            total += reads
        }
        // The writers together run for seconds; each must have met readers.
        #expect(total >= 6, "only \(total) reads overlapped the writers")
        let stats = try runCommand(exe, ["stats", db, "c"])
        #expect(stats.stdout.contains("20000 vectors"), "\(stats.stdout)")
    }
}
