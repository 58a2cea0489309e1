import Foundation
import Testing
import VecDBTestSupport

/// `vecdb index DB C --payload FIELD [--kind K]`, `--drop-payload FIELD`, and `stats` (issue 19):
/// filtered searches give the same answers before and after an index, and bad input is refused.
@Suite("vecdb index --payload")
struct PayloadIndexCLITests {
    let dir = TemporaryDirectory(prefix: "vecdb-pidx")

    @Test func createListSearchAndDrop() throws {
        let exe = try #require(builtExecutable(named: "vecdb"), "vecdb must be built next to the test binary")
        let db = dir.file("db")
        var lines: [String] = []
        for k in 0..<300 {
            let v = (0..<3).map { String(Double((k * 7 + $0 * 13) % 50) / 10) }.joined(separator: ",")
            lines.append(#"{"key": \#(k), "vector": [\#(v)], "payload": {"cat": \#(k % 10), "tag": "t\#(k % 4)"}}"#)
        }
        let file = dir.file("rows.jsonl")
        try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try runCommand(exe, ["create", db, "c", "--dim", "3"]).status == 0)
        #expect(try runCommand(exe, ["import", db, "c", file, "--batch-size", "100"]).status == 0)
        // Sealed into a segment, so the indexes have files.
        #expect(try runCommand(exe, ["compact", db, "c"]).status == 0)
        let filters = ["cat = 3", "cat < 2 and tag = 't1'", "tag in ['t0', 't2'] or cat >= 8", "not (cat != 4)"]
        func answers() throws -> [String] {
            try filters.map { f in
                let r = try runCommand(exe, ["search", db, "c", "--vector", "1,2,3", "-k", "5", "--filter", f, "--json"])
                #expect(r.status == 0, "\(r.stderr)")
                return r.stdout
            }
        }
        let before = try answers()
        let made = try runCommand(exe, ["index", db, "c", "--payload", "cat", "--kind", "integer"])
        #expect(made.status == 0 && made.stdout.contains("built payload index cat (integer)"), "\(made.stdout)\(made.stderr)")
        #expect(try runCommand(exe, ["index", db, "c", "--payload", "tag"]).status == 0)
        let stats = try runCommand(exe, ["stats", db, "c"])
        #expect(stats.stdout.contains("payload indexes: cat (integer), tag (keyword)"), "\(stats.stdout)")
        #expect(try answers() == before)
        // count and export go through the same bitmaps; an export imports back.
        let count = try runCommand(exe, ["count", db, "c", "--filter", "cat < 2 and tag = 't1'"])
        #expect(count.stdout == "15\n", "\(count.stdout)\(count.stderr)")
        #expect(try runCommand(exe, ["count", db, "c"]).stdout == "300\n")
        let exported = dir.file("out.jsonl")
        #expect(try runCommand(exe, ["export", db, "c", "--filter", "tag = 't3'", "--output", exported]).status == 0)
        #expect(try runCommand(exe, ["create", db, "copy", "--dim", "3"]).status == 0)
        #expect(try runCommand(exe, ["import", db, "copy", exported]).status == 0)
        #expect(try runCommand(exe, ["count", db, "copy", "--filter", "tag = 't3'"]).stdout == "75\n")
        #expect(try runCommand(exe, ["count", db, "copy"]).stdout == "75\n")
        let bad = try runCommand(exe, ["count", db, "c", "--filter", "cat <"])
        #expect(bad.status != 0 && bad.stderr.contains("filter"), "\(bad.stderr)")
        // Deleting by filter goes through the same bitmaps.
        let deleted = try runCommand(exe, ["delete", db, "c", "--filter", "cat = 3"])
        #expect(deleted.status == 0, "\(deleted.stderr)")
        let after = try runCommand(exe, ["search", db, "c", "--vector", "1,2,3", "-k", "5", "--filter", "cat = 3", "--json"])
        #expect(after.status == 0 && !after.stdout.contains("\"keys\":[3"), "\(after.stdout)")
        #expect(try runCommand(exe, ["index", db, "c", "--drop-payload", "cat"]).status == 0)
        let gone = try runCommand(exe, ["index", db, "c", "--drop-payload", "cat"])
        #expect(gone.status != 0 && gone.stderr.contains("has no payload index on 'cat'"), "\(gone.stderr)")
        let kind = try runCommand(exe, ["index", db, "c", "--payload", "cat", "--kind", "date"])
        #expect(kind.status != 0 && kind.stderr.contains("unknown payload index kind 'date'"), "\(kind.stderr)")
        let field = try runCommand(exe, ["index", db, "c", "--payload", "a..b"])
        #expect(field.status != 0 && field.stderr.contains("payload field 'a..b'"), "\(field.stderr)")
        // A damaged index file: `check` names it and fails, `repair` rebuilds it, searches never differ.
        let tagSearch = ["search", db, "c", "--vector", "1,2,3", "-k", "5", "--filter", "tag = 't2'", "--json"]
        let tagBefore = try runCommand(exe, tagSearch)
        let files = try FileManager.default.contentsOfDirectory(atPath: db + "/c").filter { $0.hasPrefix("pidx-") }.sorted()
        let victim = db + "/c/" + (try #require(files.first))
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: victim)))
        bytes[bytes.count / 3] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: victim))
        let check = try runCommand(exe, ["check", db])
        #expect(check.status != 0 && check.stdout.contains("payload index \(victim) is damaged: checksum mismatch"), "\(check.stdout)")
        let tagged = try runCommand(exe, tagSearch)
        #expect(tagged.status == 0 && tagged.stdout == tagBefore.stdout && !tagged.stdout.isEmpty, "\(tagged.stderr)")
        let repair = try runCommand(exe, ["repair", db])
        #expect(repair.status == 0 && repair.stdout.contains("rebuilt payload index"), "\(repair.stdout)\(repair.stderr)")
        #expect(try runCommand(exe, ["check", db]).status == 0)
    }
}
