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
}
