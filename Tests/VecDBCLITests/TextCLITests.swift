import Foundation
import Testing
import VecDBTestSupport

/// `vecdb embed` and collections created with `--embed minilm`, run as a user would.
@Suite("vecdb embed and text collections", .serialized)
struct TextCLITests {
    let dir = TemporaryDirectory(prefix: "vecdb-text-cli")

    func vecdb(_ args: String...) throws -> CommandResult {
        let exe = try #require(builtExecutable(named: "vecdb"), "vecdb must be built next to the test binary")
        return try runCommand(exe, args)
    }

    static func vectors(_ jsonLines: String) throws -> [(text: String, vector: [Double])] {
        try jsonLines.split(separator: "\n").map { line in
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return (try #require(o["text"] as? String), try #require(o["vector"] as? [Double]))
        }
    }

    @Test func embedPrintsOneJSONObjectPerTextInOrder() throws {
        let r = try vecdb("embed", "--text", "The weather is lovely today.", "--text", "It's so sunny outside!", "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try Self.vectors(r.stdout)
        #expect(rows.map(\.text) == ["The weather is lovely today.", "It's so sunny outside!"])
        #expect(rows.allSatisfy { $0.vector.count == 384 && abs($0.vector.reduce(0) { $0 + $1 * $1 } - 1) < 1e-5 })
        let cosine = zip(rows[0].vector, rows[1].vector).reduce(0) { $0 + $1.0 * $1.1 }
        #expect(abs(cosine - 0.6660) <= 1e-4, "\(cosine)")

        let file = dir.file("texts.txt")
        try "first line\n\nthird line, after an empty one\n".write(toFile: file, atomically: true, encoding: .utf8)
        let out = dir.file("v.npy")
        let w = try vecdb("embed", "--file", file, "--output", out)
        #expect(w.status == 0 && w.stderr.contains("wrote 3 vectors of 384 dimensions"), "\(w.stderr)")
        let size = try #require(FileManager.default.attributesOfItem(atPath: out)[.size] as? Int)
        #expect(size == 128 + 3 * 384 * 4)
        // Windows line ends: two texts, not one.
        let crlf = dir.file("crlf.txt")
        try "first line\r\nsecond line\r\n".write(toFile: crlf, atomically: true, encoding: .utf8)
        let two = try vecdb("embed", "--file", crlf, "--json")
        #expect(try Self.vectors(two.stdout).map(\.text) == ["first line", "second line"])
        let fvecs = dir.file("v.fvecs")
        #expect(try vecdb("embed", "--file", file, "--output", fvecs).status == 0)
        #expect(try FileManager.default.attributesOfItem(atPath: fvecs)[.size] as? Int == 3 * (4 + 384 * 4))

        for (args, message) in [
            (["embed"], "give --text"), (["embed", "--file", dir.file("absent.txt")], "cannot read"),
            (["embed", "--text", "a", "--output", dir.file("v.csv")], ".fvecs or .npy"),
        ] {
            let bad = try runCommand(try #require(builtExecutable(named: "vecdb")), args)
            #expect(bad.status != 0 && bad.stderr.contains(message), "\(args): \(bad.stderr)")
        }
    }

    @Test func collectionsCreatedWithAnEmbedderTakeText() throws {
        let db = dir.file("db")
        let created = try vecdb("create", db, "films", "--embed", "minilm")
        #expect(created.status == 0 && created.stdout.contains("384 dimensions, cosine") && created.stdout.contains("all-MiniLM-L6-v2"))
        let file = dir.file("films.jsonl")
        try """
        {"key": 1, "text": "Star Wars", "payload": {"year": 1977}}
        {"key": 2, "text": "Return of the Jedi"}
        {"key": 3, "text": "Toy Story"}
        {"key": 4, "text": "Sense and Sensibility"}
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let ins = try vecdb("insert", db, "films", "--file", file)
        #expect(ins.status == 0 && ins.stdout.contains("inserted 4 records"), "\(ins.stderr)")
        #expect(try vecdb("insert", db, "films", "--key", "5", "--text", "Empire Strikes Back, The").status == 0)
        // The query's own text comes first at distance 0; the Star Wars sequels are next.
        let s = try vecdb("search", db, "films", "--text", "Star Wars", "-k", "3", "--json")
        #expect(s.status == 0 && s.stdout.contains(#""keys":[1,"#), "\(s.stdout) \(s.stderr)")
        let keys = try #require(try JSONSerialization.jsonObject(with: Data(s.stdout.utf8)) as? [String: Any])["keys"] as? [Int]
        #expect(Set(keys?.dropFirst() ?? []) == [2, 5], "\(s.stdout)")
        let got = try vecdb("get", db, "films", "1", "--json")
        #expect(got.stdout.contains(#""text":"Star Wars""#) && got.stdout.contains(#""year":1977"#), "\(got.stdout)")

        let stats = try vecdb("stats", db, "films")
        #expect(stats.stdout.contains("embeds text with all-MiniLM-L6-v2 (checksum "), "\(stats.stdout)")
        #expect(try vecdb("create", db, "plain", "--dim", "3").status == 0)
        let refused = try vecdb("insert", db, "plain", "--key", "1", "--text", "hello")
        #expect(refused.status != 0 && refused.stderr.contains("created without an embedder"), "\(refused.stderr)")
        let noText = try vecdb("search", db, "plain", "--text", "hello")
        #expect(noText.status != 0 && noText.stderr.contains("without an embedder"), "\(noText.stderr)")
        let unknown = try vecdb("create", db, "x", "--embed", "word2vec")
        #expect(unknown.status != 0 && unknown.stderr.contains("unknown embedder 'word2vec'"))
    }
}
