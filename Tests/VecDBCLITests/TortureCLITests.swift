import Foundation
import Testing
import VecDBTestSupport

/// The short form of the crash soak (issue 14): `vecdb torture` SIGKILLs writers running
/// inserts, upserts, deletes, compactions and index builds, and checks every acknowledged
/// operation after each kill. The long run is `vecdb torture DB --kills 500` (docs/reliability.md).
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
        // A writer that exits by itself, or a database that disagrees with the model, fails it:
        // a database whose collection has another dimension cannot be written by the workload.
        let other = dir.file("other")
        #expect(try runCommand(exe, ["create", other, "torture", "--dim", "3"]).status == 0)
        let bad = try runCommand(exe, ["torture", other, "--kills", "2"])
        #expect(bad.status != 0 && bad.stderr.contains("the writer exited by itself"), "\(bad.stderr)")
    }
}
