import VecDB
import VecDBCrashData

// The writer that the SIGKILL durability test (Tests/VecDBTests/CrashTests.swift) starts and
// kills at random moments.
//
//   vecdb-crash-writer DB FIRST_BATCH RUN   (RUN only labels the process in logs)
//
// Opens (or creates) collection "crash" (dimension 8, l2, memtable of 150 rows so seals happen
// often), then commits batches FIRST_BATCH, FIRST_BATCH+1, … forever. Batch b holds
// 1 + b % 23 records with keys b*1000+i, whose vectors and payloads are a pure function of the
// key (see `CrashData`), and every 7th batch also deletes the records of batch b-3; every 50th
// batch compacts. After each commit returns, it prints "ack B" and flushes stdout.
#if canImport(Glibc)
    import Glibc
#endif

/// Writes straight to a descriptor: no stdio buffer, so an ack is out before the next batch.
func emit(_ text: String, to fd: Int32) {
    var bytes = Array(text.utf8)
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress.unsafelyUnwrapped + done, $0.count - done) }
        if n <= 0 { return }
        done += n
    }
}

let args = CommandLine.arguments
guard args.count == 4, let first = UInt64(args[2]), let seed = UInt64(args[3]) else {
    emit("usage: vecdb-crash-writer DB FIRST_BATCH SEED\n", to: 2)
    exit(2)
}
do {
    let db = try Database.open(at: args[1], options: DatabaseOptions(memtableRows: 150))
    let c =
        try db.collectionNames().contains("crash")
        ? db.collection("crash") : db.createCollection("crash", dimension: CrashData.dimension, metric: .l2)
    var b = first
    while true {
        try c.upsert(CrashData.batch(b))
        if b % 7 == 0 && b >= 3 { _ = try c.delete(CrashData.batchKeys(b - 3)) }
        if b % 50 == 49 { try c.compact() }
        emit("ack \(b)\n", to: 1)
        b += 1
        _ = seed
    }
} catch {
    emit("crash-writer: \(error)\n", to: 2)
    exit(1)
}
