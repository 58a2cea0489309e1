import Foundation
import Testing
import VecDBTestSupport

/// `vecdb stats` on a database with one damaged collection, and on a directory that is not a
/// database (issue 14, class 5).
@Suite("vecdb and damaged databases")
struct DamageCLITests {
    let dir = TemporaryDirectory(prefix: "vecdb-damage-cli")

    func vecdb(_ args: String...) throws -> CommandResult {
        let exe = try #require(builtExecutable(named: "vecdb"), "vecdb must be built next to the test binary")
        return try runCommand(exe, args)
    }

    @Test func statsListsTheHealthyCollectionsAndNamesTheDamagedOne() throws {
        let db = dir.file("db")
        for name in ["good", "bad"] { #expect(try vecdb("create", db, name, "--dim", "2").status == 0) }
        try Data([0, 1, 2]).write(to: URL(fileURLWithPath: db + "/bad/MANIFEST"))
        let stats = try vecdb("stats", db)
        #expect(stats.status == 1)
        #expect(stats.stdout.contains("good: 0 vectors, 2-d l2"), "\(stats.stdout)")
        #expect(stats.stdout.contains("bad: damaged: manifest '\(db)/bad/MANIFEST' is truncated"), "\(stats.stdout)")
        let search = try vecdb("search", db, "good", "--vector", "0,0")
        #expect(search.status == 0, "\(search.stderr)")

        let foreign = dir.file("photos")
        try FileManager.default.createDirectory(atPath: foreign + "/2024", withIntermediateDirectories: true)
        let refused = try vecdb("stats", foreign)
        #expect(refused.status != 0 && refused.stderr.contains("is not a VecDB database"), "\(refused.stderr)")
    }

    @Test func checkFindsDamagedVectorsThatOpeningDoesNotRead() throws {
        let db = dir.file("checked")
        #expect(try vecdb("create", db, "a", "--dim", "2").status == 0)
        #expect(try vecdb("create", db, "b", "--dim", "2").status == 0)
        let rows = dir.file("rows.jsonl")
        try #"{"key": 1, "vector": [1, 2]}"#.write(toFile: rows, atomically: true, encoding: .utf8)
        for c in ["a", "b"] {
            #expect(try vecdb("insert", db, c, "--file", rows).status == 0)
            #expect(try vecdb("compact", db, c).status == 0)
        }
        let sound = try vecdb("check", db)
        #expect(
            sound.status == 0 && sound.stdout.contains("a: ok (1 rows, 1 segments") && sound.stdout.contains("sound"), "\(sound.stdout)")
        // Flip one bit of a stored component (1.0 then 2.0, little-endian) in a's segment.
        let segment = try #require(try FileManager.default.contentsOfDirectory(atPath: db + "/a").first { $0.hasSuffix(".vec") })
        var bytes = try Data(contentsOf: URL(fileURLWithPath: db + "/a/" + segment))
        var pattern = Data()
        for x: Float in [1, 2] { withUnsafeBytes(of: x.bitPattern.littleEndian) { pattern.append(contentsOf: $0) } }
        let at = try #require(bytes.range(of: pattern)).lowerBound
        bytes[at + 1] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: db + "/a/" + segment))
        let damaged = try vecdb("check", db)
        #expect(damaged.status == 1)
        #expect(
            damaged.stdout.contains("a: DAMAGED: segment file '\(db)/a/\(segment)' has damaged vectors (checksum mismatch)"),
            "\(damaged.stdout)")
        #expect(damaged.stdout.contains("b: ok") && damaged.stdout.contains("1 of 2 collections damaged"))
        let one = try vecdb("check", db, "b", "--json")
        #expect(one.status == 0 && one.stdout.contains(#""ok":true"#), "\(one.stdout)")
    }
}
