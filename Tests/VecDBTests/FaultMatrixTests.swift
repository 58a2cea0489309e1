import Testing
import VecDBKernels
import VecDBTestSupport

@testable import VecDB
@testable import VecDBStorage

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 14, fault injection: every write and every fsync of an upsert, a seal, a compaction and
/// an index build, in turn, meets ENOSPC, EIO, a short write, or a torn page (a partial write,
/// then a crash: every later call fails). After each:
///
/// - the operation that met the fault throws a typed error (`diskFull` or `io`) naming a file;
/// - everything committed before it is still readable, in the same process and after reopening;
/// - the operation is all or nothing after reopening;
/// - once the fault is gone the database works: writes, reads and searches agree with a model.
@Suite struct FaultMatrixTests {
    enum Fault: CaseIterable {
        case writeENOSPC, writeEIO, syncENOSPC, syncEIO, shortWrite, tornPage

        var operation: FileOperation { self == .syncENOSPC || self == .syncEIO ? .sync : .write }

        func plan(_ faults: FaultPlan, skip: Int) {
            switch self {
            case .writeENOSPC, .syncENOSPC: faults.failNext(operation, skip: skip, with: .fail(errno: ENOSPC))
            case .writeEIO, .syncEIO: faults.failNext(operation, skip: skip, with: .fail(errno: EIO))
            case .shortWrite: faults.failNext(.write, skip: skip, with: .shortWrite(bytes: 13))
            case .tornPage: faults.tearNext(.write, skip: skip, bytes: 13)
            }
        }
    }

    static let operations = ["upsert", "seal", "compact", "index"]

    struct Fixture {
        let dir = TemporaryDirectory()
        let faults = FaultPlan()
        var db: Database
        var model = Model(metric: .l2)
        let batch: [Record]

        init() throws {
            var o = DatabaseOptions(memtableRows: 1000)
            o.fileSystem = faults.fileSystem
            db = try Database.open(at: dir.path, options: o)
            let c = try db.createCollection("f", dimension: 4, metric: .l2)
            var g = SeededGenerator(seed: 31)
            for b in 0..<3 {
                let rs = makeRecords(&g, keys: (b * 40)..<(b * 40 + 40), dimension: 4)
                try c.upsert(rs)
                model.upsert(rs)
                if b < 2 { try c.flush() }
            }
            _ = try c.delete([.int(5), .string("s44")])
            _ = model.delete([.int(5), .string("s44")])
            batch = makeRecords(&g, keys: 200..<230, dimension: 4)
        }

        func run(_ operation: String) throws {
            let c = try db.collection("f")
            switch operation {
            case "upsert": try c.upsert(batch)
            case "seal": try c.flush()
            case "compact": try c.compact()
            default: try c.createIndex(.hnsw(HNSWIndexOptions(m: 8, efConstruction: 40)))
            }
        }
    }

    @Test(arguments: operations)
    func everyFaultAtEveryCallIsTypedAndRecoverable(_ operation: String) throws {
        var cases = 0
        for fault in Fault.allCases {
            var skip = 0
            while true {
                var f = try Fixture()
                fault.plan(f.faults, skip: skip)
                var thrown: VecDBError?
                do { try f.run(operation) } catch let e as VecDBError { thrown = e }
                if f.faults.unfiredRules > 0 {
                    // The operation made fewer than skip + 1 such calls: every one has been tried.
                    #expect(thrown == nil, "\(operation) failed with no fault injected: \(String(describing: thrown))")
                    f.db.close()
                    break
                }
                let label = "\(operation), \(fault) at call \(skip)"
                cases += 1
                if let e = thrown {
                    #expect(e.code == .diskFull || e.code == .io, "\(label): \(e)")
                    #expect(e.path != nil || e.message.contains("/"), "\(label): the error names no file: \(e.message)")
                }
                // Committed rows are readable in the same process (a failed WAL refuses writes,
                // not reads), unless the fault was a crash.
                if fault != .tornPage, let c = try? f.db.collection("f") {
                    for (k, r) in f.model.records.prefix(20) { #expect(try c.get(k) == r, "\(label): key \(k)") }
                }
                f.db.close()
                try verifyAfterReopen(&f, operation: operation, label: label)
                skip += 1
            }
        }
        // At least one write and one fsync per operation, under each of the six faults.
        #expect(cases >= Fault.allCases.count, "only \(cases) fault points in \(operation)")
        print("fault matrix: \(operation): \(cases) fault points, each typed and recovered")
    }

    func verifyAfterReopen(_ f: inout Fixture, operation: String, label: String) throws {
        let db = try Database.open(at: f.dir.path)
        defer { db.close() }
        #expect(db.damagedCollections.isEmpty, "\(label): \(db.damagedCollections)")
        let c = try db.collection("f")
        // All or nothing: the upserted batch is wholly there or wholly absent.
        if operation == "upsert" {
            let present = try f.batch.filter { try c.get($0.key) == $0 }.count
            #expect(present == 0 || present == f.batch.count, "\(label): \(present) of \(f.batch.count) rows of the batch")
            if present > 0 { f.model.upsert(f.batch) }
        }
        #expect(c.count == f.model.records.count, "\(label)")
        for (k, r) in f.model.records { #expect(try c.get(k) == r, "\(label): key \(k)") }
        // The database works with the fault gone.
        var g = SeededGenerator(seed: 77)
        let more = makeRecords(&g, keys: 900..<910, dimension: 4)
        try c.upsert(more)
        f.model.upsert(more)
        try c.flush()
        let q = g.vector(4)
        expectAgrees(try c.search(q, k: 5, options: SearchOptions(exact: true)), f.model.nearest(q, k: 5, filter: nil))
        #expect(c.checkIndex().problems.isEmpty, "\(label): \(c.checkIndex().problems)")
    }
}
