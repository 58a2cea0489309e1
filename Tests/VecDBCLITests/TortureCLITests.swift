import Foundation
import Testing
import VecDBTestSupport

/// The short form of the crash soak (issue 14): `vecdb torture` SIGKILLs writers running
/// inserts, upserts, deletes, compactions, index builds, recorded interactions and recommender
/// refreshes, and checks every acknowledged operation after each kill. The long run is `vecdb torture DB --kills 500` (docs/reliability.md).
@Suite("vecdb torture")
struct TortureCLITests {
    let dir = TemporaryDirectory(prefix: "vecdb-torture")

    @Test func killedWritersLoseNoAcknowledgedOperation() throws {
        let exe = try #require(builtExecutable(named: "vecdb"), "vecdb must be built next to the test binary")
        let r = try runCommand(exe, ["torture", dir.file("db"), "--kills", "15", "--seed", "11", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(summary["kills"] as? Int == 15)
        #expect(summary["failures"] as? Int == 0)
        #expect((summary["acknowledged_operations"] as? Int ?? 0) > 0, "\(r.stdout)")
        // The first refresh is operation 70: later checks compare the published model's
        // catalogue and embedding collection with the workload.
        if (summary["acknowledged_operations"] as? Int ?? 0) > 71 {
            #expect((summary["model_checks"] as? Int ?? 0) > 0, "\(r.stdout)")
        }
        // A writer that exits by itself fails the run: here it cannot open a database at a path
        // that is a file.
        let file = dir.file("a-file")
        try Data("not a database".utf8).write(to: URL(fileURLWithPath: file))
        let bad = try runCommand(exe, ["torture", file, "--kills", "2", "--min-ms", "1000", "--max-ms", "1000"])
        #expect(bad.status != 0 && bad.stderr.contains("the writer exited by itself"), "\(bad.stderr)")
        // A directory that already holds a database is refused: the checks replay the workload
        // from its first operation.
        let again = try runCommand(exe, ["torture", dir.file("db"), "--kills", "2"])
        #expect(again.status != 0 && again.stderr.contains("is not empty; the soak needs a new database directory"), "\(again.stderr)")
    }
}
