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

    /// Issue 14, class 1: keys and payload integers beyond 2⁵³ round-trip exactly through JSON
    /// Lines, the shell's arguments and `--json` output.
    @Test func integersBeyondTwoToTheFiftyThreeRoundTripExactly() throws {
        let db = dir.file("big")
        #expect(try vecdb("create", db, "c", "--dim", "2").status == 0)
        let lines = [
            #"{"key": 9007199254740992, "vector": [1, 0], "payload": {"n": 9007199254740992}}"#,
            #"{"key": 9007199254740993, "vector": [0, 1], "payload": {"n": 9007199254740993}}"#,
            #"{"key": 18446744073709551615, "vector": [1, 1], "payload": {"n": -9223372036854775808, "u": 18446744073709551615}}"#,
            #"{"key": 12345678901234567, "vector": [2, 2]}"#,
        ]
        let file = dir.file("big.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let imported = try vecdb("import", db, "c", file)
        #expect(imported.status == 0 && imported.stdout.contains("imported 4 vectors"), "\(imported.stderr)")
        // 2⁵³ and 2⁵³ + 1 are two records, not one overwriting the other.
        let stats = try vecdb("stats", db, "c", "--json")
        #expect(stats.stdout.contains(#""count":4"#), "\(stats.stdout)")
        let odd = try vecdb("get", db, "c", "9007199254740993", "--json")
        #expect(odd.stdout.contains(#""key":9007199254740993"#) && odd.stdout.contains(#""n":9007199254740993"#), "\(odd.stdout)")
        let top = try vecdb("get", db, "c", "18446744073709551615", "--json")
        #expect(top.stdout.contains(#""key":18446744073709551615"#), "\(top.stdout)")
        #expect(top.stdout.contains(#""n":-9223372036854775808"#) && top.stdout.contains(#""u":18446744073709551615"#), "\(top.stdout)")
        // Filters compare them exactly too.
        let hit = try vecdb("search", db, "c", "--vector", "0,0", "-k", "4", "--filter", "n = 9007199254740993", "--json")
        #expect(hit.stdout.contains("9007199254740993") && !hit.stdout.contains("9007199254740992"), "\(hit.stdout)")
        let above = try vecdb("search", db, "c", "--vector", "0,0", "-k", "4", "--filter", "n > 9007199254740992", "--json")
        #expect(above.stdout.contains("9007199254740993") && !above.stdout.contains("18446744073709551615"), "\(above.stdout)")
    }

    /// Issue 16: `vecdb export --format milvus` and `vecdb import --format milvus`, one command each.
    @Test func milvusExportImportsBackWithItsIndex() throws {
        let db = dir.file("db")
        #expect(try vecdb("create", db, "c", "--dim", "2", "--metric", "ip").status == 0)
        let lines = (1...40).map { #"{"key": \#($0), "vector": [\#($0), 1], "payload": {"shop": "s\#($0 % 3)", "n": \#($0)}}"# }
        let file = dir.file("rows.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try vecdb("import", db, "c", file).status == 0)
        #expect(try vecdb("index", db, "c", "--type", "hnsw", "--m", "8").status == 0)
        let out = try vecdb("export", db, "c", "--format", "milvus", "--to", dir.file("m"))
        #expect(out.status == 0, "\(out.stderr)")
        #expect(
            out.stdout.contains("exported 40 rows") && out.stdout.contains("IP") && out.stdout.contains("n:Int64, shop:VarChar"),
            "\(out.stdout)")
        let back = try vecdb("import", db, "d", "--format", "milvus", "--from", dir.file("m"))
        #expect(
            back.status == 0 && back.stdout.contains("imported 40 records into 'd' (dimension 2, ip, hnsw"), "\(back.stdout) \(back.stderr)"
        )
        let a = try vecdb("get", db, "c", "17", "--json")
        let b = try vecdb("get", db, "d", "17", "--json")
        #expect(a.status == 0 && a.stdout == b.stdout, "\(a.stdout) \(b.stdout)")
        let again = try vecdb("import", db, "d", "--format", "milvus", "--from", dir.file("m"))
        #expect(again.status != 0 && again.stderr.contains("'d'"), "\(again.stderr)")
        let filtered = try vecdb("export", db, "c", "--format", "milvus", "--to", dir.file("m2"), "--filter", "n > 3")
        #expect(filtered.status != 0 && filtered.stderr.contains("whole collection"))
    }
}
