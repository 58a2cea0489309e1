import Foundation
import Testing
import VecDBTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `vecdb recommend ingest|train|user|similar|history|refresh`, run as a user would.
@Suite("vecdb recommend serving")
struct RecommendServingCLITests {
    let dir = TemporaryDirectory(prefix: "vecdb-serve-cli")

    func vecdb(_ args: String...) throws -> CommandResult {
        let exe = try #require(builtExecutable(named: "vecdb"), "vecdb must be built next to the test binary")
        return try runCommand(exe, args)
    }

    /// `n` users × 6 items each, CSV with a header.
    func interactionFile(_ name: String, users: Range<Int>) throws -> String {
        var text = "userId,movieId,rating,timestamp\n"
        for u in users { for j in 0..<6 { text += "\(u),\((u * 7 + j * 3) % 40 + 1),4,\(1000 + j)\n" } }
        let p = dir.file(name)
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    /// 40 movies, CSV with a header: even ones comedies, odd ones war dramas.
    func itemFile() throws -> String {
        var items = "movieId,title,genres\n"
        for i in 1...40 { items += "\(i),Movie \(i) (\(1980 + i)),\(i % 2 == 0 ? "Comedy" : "Drama|War")\n" }
        let path = dir.file("items.csv")
        try items.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func ingestTrainServeRefresh() throws {
        let db = dir.file("db")
        let inter = try interactionFile("i.csv", users: 0..<30)
        let itemPath = try itemFile()
        let ingest = try vecdb("recommend", "ingest", db, "movies", "--interactions", inter, "--items", itemPath)
        #expect(ingest.status == 0 && ingest.stdout.contains("recorded 180 interactions"), "\(ingest.stdout)\(ingest.stderr)")
        let train = try vecdb("recommend", "train", db, "movies", "--model", "itemknn", "--json")
        #expect(train.status == 0 && train.stdout.contains(#""version":1"#), "\(train.stdout)\(train.stderr)")
        let user = try vecdb("recommend", "user", db, "movies", "3", "-k", "5", "--filter", "exists genre.Comedy")
        #expect(user.status == 0 && user.stdout.contains("Movie "), "\(user.stdout)\(user.stderr)")
        let json = try vecdb("recommend", "user", db, "movies", "3", "-k", "5", "--json")
        #expect(json.status == 0 && json.stdout.contains(#""items":["#), "\(json.stdout)")
        let similar = try vecdb("recommend", "similar", db, "movies", "4", "-k", "3", "--json")
        #expect(similar.status == 0 && similar.stdout.contains(#""title":"Movie"#), "\(similar.stdout)\(similar.stderr)")
        let history = try vecdb("recommend", "history", db, "movies", "--items", "1,4,zzz", "-k", "3", "--json")
        #expect(history.status == 0 && history.stdout.contains(#""skipped":["zzz"]"#), "\(history.stdout)\(history.stderr)")
        let refresh = try vecdb("recommend", "refresh", db, "movies")
        #expect(refresh.status == 0 && refresh.stdout.contains("published version 2"), "\(refresh.stdout)\(refresh.stderr)")
        let unknown = try vecdb("recommend", "user", db, "movies", "nobody", "-k", "3")
        #expect(unknown.status != 0 && unknown.stderr.contains("nobody"))
        let badModel = try vecdb("recommend", "train", db, "movies", "--model", "nope")
        #expect(badModel.status != 0 && badModel.stderr.contains("ease"))
    }

    @Test func addItemWithTitleIsRecommendableAtOnce() throws {
        let db = dir.file("db-add")
        let inter = try interactionFile("i.csv", users: 0..<30)
        let itemPath = try itemFile()
        #expect(try vecdb("recommend", "ingest", db, "movies", "--interactions", inter, "--items", itemPath).status == 0)
        let train = try vecdb("recommend", "train", db, "movies", "--model", "two-tower")
        #expect(train.status == 0, "\(train.stderr)")
        let add = try vecdb("recommend", "add-item", db, "movies", "777", "--title", "A New Comedy (2001)", "--genres", "Comedy", "--json")
        #expect(add.status == 0 && add.stdout.contains(#""recommendable":true"#), "\(add.stdout)\(add.stderr)")
        let similar = try vecdb("recommend", "similar", db, "movies", "777", "-k", "3")
        #expect(similar.status == 0 && similar.stdout.contains("Movie "), "\(similar.stdout)\(similar.stderr)")
        // Without an image encoder, or with a broken image, a one-line error naming the cause.
        let png = dir.file("broken.png")
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0]).write(to: URL(fileURLWithPath: png))
        let broken = try vecdb("recommend", "add-item", db, "movies", "778", "--image", png)
        #expect(broken.status != 0 && broken.stderr.contains("broken.png"), "\(broken.stderr)")
        let notImage = try vecdb("recommend", "similar", db, "movies", "--image", itemPath, "-k", "3")
        #expect(notImage.status != 0 && notImage.stderr.contains("items.csv"), "\(notImage.stderr)")
        let both = try vecdb("recommend", "similar", db, "movies", "777", "--image", png)
        #expect(both.status != 0)
    }

    /// SIGKILL during ingest: each ingest is one atomic batch, so the log holds a whole number
    /// of files, at least every acknowledged one (exit status 0) and at most every one started.
    @Test func killDuringIngestLosesNoAcknowledgedInteraction() throws {
        let exe = try #require(builtExecutable(named: "vecdb"))
        let db = dir.file("crash-db")
        let file = try interactionFile("batch.csv", users: 0..<400)
        let perFile = 2400
        var acked = 0
        var started = 0
        var g = SystemRandomNumberGenerator()
        for _ in 0..<6 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: exe)
            p.arguments = ["recommend", "ingest", db, "movies", "--interactions", file]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            started += 1
            usleep(UInt32.random(in: 20_000...250_000, using: &g))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            if p.terminationReason == .exit && p.terminationStatus == 0 { acked += 1 }
        }
        let one = try interactionFile("one.csv", users: 0..<1)
        let check = try vecdb("recommend", "ingest", db, "movies", "--interactions", one, "--json")
        #expect(check.status == 0, "\(check.stderr)")
        let total = try #require(
            check.stdout.split(separator: ",").first { $0.contains("total_interactions") }
                .flatMap { Int($0.split(separator: ":").last?.filter(\.isNumber) ?? "") })
        let before = total - 6
        #expect(before % perFile == 0, "a torn batch: \(before) interactions")
        #expect(before >= acked * perFile && before <= started * perFile, "acked \(acked), found \(before / perFile)")
    }

    /// SIGKILL during refresh: the database reopens on the old or the new version, serves it,
    /// and keeps only the current version's files; no interaction is lost.
    @Test func killDuringRefreshLeavesAServableVersion() throws {
        let exe = try #require(builtExecutable(named: "vecdb"))
        let db = dir.file("refresh-db")
        let file = try interactionFile("r.csv", users: 0..<300)
        #expect(try vecdb("recommend", "ingest", db, "movies", "--interactions", file).status == 0)
        #expect(try vecdb("recommend", "train", db, "movies", "--model", "randproj").status == 0)
        var g = SystemRandomNumberGenerator()
        var lastVersion = 1
        for _ in 0..<5 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: exe)
            p.arguments = ["recommend", "refresh", db, "movies"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(UInt32.random(in: 5_000...200_000, using: &g))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let served = try vecdb("recommend", "user", db, "movies", "7", "-k", "3", "--json")
            #expect(served.status == 0, "\(served.stderr)")
            let version = served.stdout.split(separator: ",").first { $0.contains("\"version\"") }
                .flatMap { Int($0.split(separator: ":").last?.filter(\.isNumber) ?? "") }
            let v = try #require(version, "\(served.stdout)")
            #expect(v == lastVersion || v == lastVersion + 1)
            lastVersion = v
            let files = try FileManager.default.contentsOfDirectory(atPath: db + "/.recommenders/movies")
            #expect(files.filter { $0.hasPrefix("model-") }.count == 1, "\(files)")
        }
        let one = try interactionFile("one.csv", users: 0..<1)
        let check = try vecdb("recommend", "ingest", db, "movies", "--interactions", one, "--json")
        #expect(check.stdout.contains("\"total_interactions\":1806"), "\(check.stdout)")
    }
}
