import Foundation
import Testing
import VecDBTestSupport

/// `vecdb import` checks every row before it writes one (issue 14, class 8): a bad row imports
/// nothing and is named by its file line.
@Suite("vecdb import, all or nothing on bad rows")
struct ImportCLITests {
    let dir = TemporaryDirectory(prefix: "vecdb-import-cli")

    func vecdb(_ args: String...) throws -> CommandResult {
        let exe = try #require(builtExecutable(named: "vecdb"), "vecdb must be built next to the test binary")
        return try runCommand(exe, args)
    }

    @Test func aBadRowLateInTheFileImportsNothingAndIsNamedByLine() throws {
        let db = dir.file("db")
        #expect(try vecdb("create", db, "c", "--dim", "2", "--element-type", "float16").status == 0)
        // 30 good rows, a blank line, then a row Float16 cannot hold: with batches of 10, the
        // first three batches would have been committed before.
        var lines = (1...30).map { #"{"key": \#($0), "vector": [\#($0), 1]}"# }
        lines.append("")
        lines.append(#"{"key": 31, "vector": [1e6, 1]}"#)
        let file = dir.file("rows.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let r = try vecdb("import", db, "c", file, "--batch-size", "10")
        #expect(r.status != 0)
        #expect(r.stderr.contains("rows.jsonl, line 32: collection 'c', key 31: component 0 is 1000000.0"), "\(r.stderr)")
        #expect(r.stderr.contains("nothing was imported"))
        let stats = try vecdb("stats", db, "c", "--json")
        #expect(stats.stdout.contains(#""count":0"#), "\(stats.stdout)")
        // The same file without the bad row imports all 30.
        try (lines.prefix(30).joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let ok = try vecdb("import", db, "c", file, "--batch-size", "10")
        #expect(ok.status == 0 && ok.stdout.contains("imported 30 vectors"), "\(ok.stderr)")
    }
}
