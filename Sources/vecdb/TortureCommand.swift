import ArgumentParser
import Foundation
import VecDB
import VecDBCrashData
import VecDBKernels
import VecDBRecommend

#if canImport(Glibc)
    import Glibc
#endif

/// `vecdb torture DB --kills N --seed S [--json]`: the crash soak of issue 14.
///
/// Starts writer processes (`vecdb torture-writer`) that run the deterministic workload of
/// `TortureWorkload` (inserts, upserts, deletes by key and by filter, compactions, HNSW index
/// builds, recorded interactions, recommender trainings and refreshes) and print "ack B" after
/// operation B returns, and SIGKILLs each at a random moment. After every kill it opens the
/// database as a restarting writer would and checks that it holds exactly the records of
/// operations 0…last-acknowledged, or of one more (the operation in flight, all or nothing),
/// vectors and payloads bit for bit, that searches through the index agree with exact search,
/// and that the recommender's log, model version and embeddings agree with the workload
/// (`checkRecommender`).
struct TortureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "torture",
        abstract: "Crash soak: SIGKILL writers at random moments and check every acknowledged write.",
        discussion: """
            The database directory must be new or empty: the checks replay the workload from its \
            first operation, which a database left by an earlier run has already passed. Each round starts \
            a writer, kills it after a random delay (--min-ms to --max-ms), then reopens and checks \
            the collection and the recommender against the workload's model. After three rounds \
            with no acknowledgement the delays double until one comes, so a long operation (a \
            training on a slow machine) still completes. Exit status 1 on any lost or half-applied \
            operation, or an index that disagrees with exact search.
            """)

    @Argument(help: "Database directory (created when missing).")
    var db: String

    @Option(help: "SIGKILLs to deliver.")
    var kills = 100

    @Option(help: "Workload and timing seed.")
    var seed: UInt64 = 1

    @Option(help: "Shortest delay before a kill, in milliseconds.")
    var minMs = 10

    @Option(help: "Longest delay before a kill, in milliseconds.")
    var maxMs = 250

    @Flag(help: "Print the summary as one JSON object.")
    var json = false

    func validate() throws {
        guard kills > 0 else { throw ValidationError("--kills must be positive") }
        guard minMs >= 0, maxMs >= minMs else { throw ValidationError("need 0 ≤ --min-ms ≤ --max-ms") }
    }

    func run() throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: db, isDirectory: &isDirectory), isDirectory.boolValue,
            !(try FileManager.default.contentsOfDirectory(atPath: db)).isEmpty
        {
            printError("torture: '\(db)' is not empty; the soak needs a new database directory")
            throw ExitCode.failure
        }
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).path
        let workload = TortureWorkload(seed: seed)
        var g = SeededGenerator(seed: seed ^ 0x7075_7274)
        var lastAck: Int64 = -1
        var killedDuring: [String: Int] = [:]
        var ackedKinds: [String: Int] = [:]
        var failures: [String] = []
        var worstRecall = 1.0
        var checkedIndexes = 0
        var checkedModels = 0
        var worstModelRecall = 1.0
        var stalled = 0
        let started = Date()
        for kill in 0..<kills {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: exe)
            p.arguments = ["torture-writer", db, String(lastAck + 1), String(seed)]
            let out = Pipe()
            p.standardOutput = out
            let err = Pipe()
            p.standardError = err
            try p.run()
            let stretch = stalled >= 3 ? 1 << min(stalled - 2, 8) : 1
            usleep(UInt32(Int.random(in: minMs * stretch...maxMs * stretch, using: &g)) * 1000)
            Glibc.kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            if p.terminationReason == .exit {
                failures.append("kill \(kill): the writer exited by itself (status \(p.terminationStatus)): \(errors)")
                break
            }
            var acked = false
            for line in text.split(separator: "\n") where line.hasPrefix("ack ") {
                guard let b = Int64(line.dropFirst(4)), b == lastAck + 1 else {
                    failures.append("kill \(kill): out-of-order acknowledgement '\(line)' after \(lastAck)")
                    continue
                }
                ackedKinds[workload.operation(UInt64(b)).kind, default: 0] += 1
                lastAck = b
                acked = true
            }
            stalled = acked ? 0 : stalled + 1
            let inFlight = workload.operation(UInt64(lastAck + 1)).kind
            killedDuring[acked ? inFlight : "open or " + inFlight, default: 0] += 1
            do {
                let (problems, recall, modelRecall) = try Self.check(db, workload: workload, lastAck: lastAck, g: &g)
                failures += problems.map { "kill \(kill) (last ack \(lastAck)): \($0)" }
                if let recall {
                    worstRecall = min(worstRecall, recall)
                    checkedIndexes += 1
                }
                if let modelRecall {
                    worstModelRecall = min(worstModelRecall, modelRecall)
                    checkedModels += 1
                }
            } catch {
                failures.append("kill \(kill): reopening failed: \(error)")
            }
            if failures.count > 20 { break }
        }
        let seconds = Date().timeIntervalSince(started)
        let summary: Payload = .object([
            "kills": .integer(Int64(kills)), "seed": .unsigned(seed), "acknowledged_operations": .integer(lastAck + 1),
            "acknowledged_by_kind": .object(ackedKinds.mapValues { .integer(Int64($0)) }),
            "killed_during": .object(killedDuring.mapValues { .integer(Int64($0)) }),
            "failures": .integer(Int64(failures.count)), "index_checks": .integer(Int64(checkedIndexes)),
            "worst_index_recall": .number(worstRecall), "model_checks": .integer(Int64(checkedModels)),
            "worst_model_index_recall": .number(worstModelRecall), "seconds": .number((seconds * 10).rounded() / 10),
        ])
        if json {
            print(summary.jsonText)
        } else {
            print("torture: \(kills) kills, \(lastAck + 1) operations acknowledged in \(String(format: "%.1f", seconds)) s")
            print("  acknowledged: " + ackedKinds.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            print("  killed during: " + killedDuring.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            print("  index checks: \(checkedIndexes), worst recall@10 against exact search \(String(format: "%.3f", worstRecall))")
            print(
                "  model checks: \(checkedModels), worst recall@10 of the embedding index \(String(format: "%.3f", worstModelRecall))")
            print(failures.isEmpty ? "  no acknowledged write lost, no operation half applied" : "  \(failures.count) FAILURES")
        }
        for f in failures.prefix(20) { printError(f) }
        if !failures.isEmpty { throw ExitCode.failure }
    }

    /// Opens the database as a restarting writer would and compares it with the model.
    static func check(
        _ path: String, workload: TortureWorkload, lastAck: Int64, g: inout SeededGenerator
    ) throws -> (problems: [String], recall: Double?, modelRecall: Double?) {
        var options = DatabaseOptions()
        options.lockWaitMilliseconds = 2000
        let database = try Database.open(at: path, options: options)
        defer { database.close() }
        let (modelProblems, modelRecall) = try checkRecommender(database, workload: workload, lastAck: lastAck, g: &g)
        guard database.collectionNames().contains(TortureWorkload.collection) else {
            return ((lastAck >= 0 ? ["operations were acknowledged but the collection is missing"] : []) + modelProblems, nil, modelRecall)
        }
        if let damage = database.damagedCollections[TortureWorkload.collection] {
            return (["damaged: \(damage.message)"] + modelProblems, nil, modelRecall)
        }
        let c = try database.collection(TortureWorkload.collection)
        let before = workload.expected(through: lastAck)
        let after = workload.expected(through: lastAck + 1)
        var mismatchBefore: String?
        var mismatchAfter: String?
        func compare(_ model: [Key: Record]) throws -> String? {
            guard c.count == model.count else { return "holds \(c.count) records, expected \(model.count)" }
            for (k, r) in model {
                guard let stored = try c.get(k) else { return "key \(k) is missing" }
                guard stored == r else { return "key \(k) differs: \(stored) instead of \(r)" }
            }
            return nil
        }
        mismatchBefore = try compare(before)
        if mismatchBefore != nil { mismatchAfter = try compare(after) }
        var problems = modelProblems
        if let a = mismatchBefore, let b = mismatchAfter {
            problems.append("matches neither the acknowledged state (\(a)) nor that plus the operation in flight (\(b))")
        }
        guard c.index != nil, c.count >= 10 else { return (problems, nil, modelRecall) }
        let live = Array(try c.snapshot().records())
        var hits = 0
        var total = 0
        for _ in 0..<5 {
            let q = live[Int(g.next() % UInt64(live.count))].vector
            let exact = Set(try c.search(q, k: 10, options: SearchOptions(exact: true)).map(\.key))
            let approx = try c.search(q, k: 10)
            hits += approx.filter { exact.contains($0.key) }.count
            total += exact.count
        }
        let recall = Double(hits) / Double(max(1, total))
        if recall < 0.9 { problems.append("index recall@10 against exact search is \(recall)") }
        return (problems, recall, modelRecall)
    }
}

/// `vecdb torture-writer DB FIRST SEED`: the writer `vecdb torture` starts and kills.
struct TortureWriterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "torture-writer", abstract: "The writer process of `vecdb torture` (not for direct use).", shouldDisplay: false)

    @Argument var db: String
    @Argument var first: UInt64
    @Argument var seed: UInt64

    func run() throws {
        let workload = TortureWorkload(seed: seed)
        do {
            var options = DatabaseOptions(memtableRows: 150)
            options.lockWaitMilliseconds = 2000
            let database = try Database.open(at: db, options: options)
            let c =
                try database.collectionNames().contains(TortureWorkload.collection)
                ? database.collection(TortureWorkload.collection)
                : database.createCollection(TortureWorkload.collection, dimension: TortureWorkload.dimension, metric: .l2)
            let recommender = try Recommender.open(TortureWorkload.recommender, in: database)
            var b = first
            while true {
                try workload.run(b, on: c, recommender: recommender, redo: b == first)
                // Straight to the descriptor: the ack is out before the next operation starts.
                let line = Array("ack \(b)\n".utf8)
                _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
                b += 1
            }
        } catch {
            printError("torture-writer: \(error)")
            throw ExitCode.failure
        }
    }
}
