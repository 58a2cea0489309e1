import Foundation
import Testing
import VecDBTestSupport

/// The `vecdb` shell, run as a user would: real processes, real files, exit statuses.
@Suite("vecdb shell")
struct CLITests {
    let dir = TemporaryDirectory(prefix: "vecdb-cli")

    func vecdb(_ args: String..., input: String? = nil) throws -> CommandResult {
        let exe = try #require(builtExecutable(named: "vecdb"), "vecdb must be built next to the test binary")
        return try runCommand(exe, args, input: input)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let p = dir.file(name)
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    @Test("create, insert, search (text and JSON), get, delete by filter, stats")
    func roundTrip() throws {
        let db = dir.file("db")
        #expect(try vecdb("create", db, "items", "--dim", "3", "--metric", "l2").status == 0)
        let file = try write(
            "r.jsonl",
            """
            {"key": 1, "vector": [0, 0, 0], "payload": {"genre": "comedy", "year": 1990}}
            {"key": "b", "vector": [1, 0, 0], "payload": {"genre": "drama", "year": 2001}}
            {"key": 3, "vector": [3, 0, 0]}
            """)
        let ins = try vecdb("insert", db, "items", "--file", file)
        #expect(ins.status == 0 && ins.stdout.contains("inserted 3 records"))
        // Squared L2 from (0.9, 0, 0): b 0.01, 1 0.81, 3 4.41.
        let json = try vecdb("search", db, "items", "--vector", "0.9,0,0", "-k", "3", "--json")
        #expect(json.status == 0)
        #expect(json.stdout.contains(#""keys":["b",1,3]"#), "\(json.stdout)")
        let filtered = try vecdb("search", db, "items", "--vector", "0.9,0,0", "-k", "3", "--json", "--filter", "year < 2000")
        #expect(filtered.stdout.contains(#""keys":[1]"#), "\(filtered.stdout)")
        let get = try vecdb("get", db, "items", "b", "--json")
        #expect(get.stdout.contains(#""genre":"drama""#) && get.stdout.contains(#""vector":[1,0,0]"#), "\(get.stdout)")
        let del = try vecdb("delete", db, "items", "--filter", "genre = 'comedy'")
        #expect(del.stdout.contains("deleted 1"))
        let after = try vecdb("search", db, "items", "--vector", "0,0,0", "-k", "5", "--json")
        #expect(after.stdout.contains(#""keys":["b",3]"#), "\(after.stdout)")
        let stats = try vecdb("stats", db, "items", "--json")
        #expect(stats.status == 0 && stats.stdout.contains(#""count":2"#), "\(stats.stdout)")
    }

    @Test("index --type ivf-flat|ivf-sq8|ivf-pq, search --nprobe, stats shows the index, --retrain")
    func ivfIndex() throws {
        let db = dir.file("db")
        #expect(try vecdb("create", db, "items", "--dim", "4", "--metric", "l2").status == 0)
        let lines = (0..<600).map { i in "{\"key\": \(i), \"vector\": [\(i), \(i % 7), \(i % 13), \(i % 3)]}" }
        let file = try write("ivf.jsonl", lines.joined(separator: "\n"))
        #expect(try vecdb("insert", db, "items", "--file", file).status == 0)
        let pq = try vecdb("index", db, "items", "--type", "ivf-pq", "--nlist", "8", "--m", "2", "--rerank", "20", "--threads", "1")
        #expect(pq.status == 0 && pq.stdout.contains("ivf-pq m=2 rerank=20 nlist=8"), "\(pq.stdout)\(pq.stderr)")
        let hit = try vecdb("search", db, "items", "--vector", "300,6,1,0", "-k", "1", "--nprobe", "8", "--json")
        #expect(hit.status == 0 && hit.stdout.contains(#""keys":[300]"#), "\(hit.stdout)\(hit.stderr)")
        let flat = try vecdb("index", db, "items", "--type", "ivf-flat", "--nlist", "8", "--nprobe", "2")
        #expect(flat.status == 0, "\(flat.stderr)")
        let stats = try vecdb("stats", db, "items")
        #expect(stats.stdout.contains("index: ivf-flat nlist=8 nprobe=2, 1/1 segments indexed, drift"), "\(stats.stdout)")
        let retrain = try vecdb("index", db, "items", "--retrain")
        #expect(retrain.status == 0 && retrain.stdout.contains("retrained ivf-flat nlist=8"), "\(retrain.stdout)\(retrain.stderr)")
        let exact = try vecdb("search", db, "items", "--vector", "599,4,1,2", "-k", "2", "--nprobe", "8", "--json")
        #expect(exact.stdout.contains(#""keys":[599,598]"#), "\(exact.stdout)")
        let badM = try vecdb("index", db, "items", "--type", "ivf-sq8", "--m", "4")
        #expect(badM.status != 0 && badM.stderr.contains("--m applies to hnsw and ivf-pq"), "\(badM.stderr)")
        let badType = try vecdb("index", db, "items", "--type", "ivf")
        #expect(badType.status != 0 && badType.stderr.contains("unknown index type 'ivf'"), "\(badType.stderr)")
        let badProbe = try vecdb("search", db, "items", "--vector", "1,2,3,4", "--nprobe", "0")
        #expect(badProbe.status != 0 && badProbe.stderr.contains("--nprobe must be at least 1"), "\(badProbe.stderr)")
        let tooMany = try vecdb("index", db, "items", "--type", "ivf-flat", "--nlist", "5000")
        #expect(tooMany.status != 0 && tooMany.stderr.contains("needs at least 5000 stored vectors"), "\(tooMany.stderr)")
    }

    @Test("index --type hnsw --traversal float16: stats names it, search finds the exact nearest; bad uses are refused")
    func float16Traversal() throws {
        let db = dir.file("db")
        #expect(try vecdb("create", db, "items", "--dim", "4", "--metric", "l2").status == 0)
        let lines = (0..<300).map { i in "{\"key\": \(i), \"vector\": [\(i), \(i % 7), \(i % 13), \(i % 3)]}" }
        let file = try write("t16.jsonl", lines.joined(separator: "\n"))
        #expect(try vecdb("insert", db, "items", "--file", file).status == 0)
        #expect(try vecdb("compact", db, "items").status == 0)
        let index = try vecdb("index", db, "items", "--type", "hnsw", "--traversal", "float16", "--threads", "1")
        #expect(index.status == 0, "\(index.stdout)\(index.stderr)")
        let stats = try vecdb("stats", db, "items")
        #expect(stats.stdout.contains("traversal=float16"), "\(stats.stdout)")
        let hit = try vecdb("search", db, "items", "--vector", "200.2,4,5,2", "-k", "2", "--json")
        #expect(hit.status == 0 && hit.stdout.contains(#""keys":[200,199]"#), "\(hit.stdout)\(hit.stderr)")
        let ivf = try vecdb("index", db, "items", "--type", "ivf-flat", "--traversal", "float16")
        #expect(ivf.status != 0 && ivf.stderr.contains("--traversal applies to hnsw, not ivf-flat"), "\(ivf.stderr)")
        let bad = try vecdb("index", db, "items", "--type", "hnsw", "--traversal", "sq4")
        #expect(bad.status != 0 && bad.stderr.contains("unknown traversal 'sq4'; use rows or float16"), "\(bad.stderr)")
    }

    @Test("a batch with one bad row is rejected whole, with a clear message and a non-zero status")
    func atomicRejection() throws {
        let db = dir.file("db")
        _ = try vecdb("create", db, "items", "--dim", "2")
        let bad = try write(
            "bad.jsonl",
            """
            {"key": 1, "vector": [0, 0]}
            {"key": 2, "vector": [1, 2, 3]}
            """)
        let r = try vecdb("insert", db, "items", "--file", bad)
        #expect(r.status != 0)
        #expect(r.stderr.contains("expects 2 dimensions, got 3"), "\(r.stderr)")
        let s = try vecdb("search", db, "items", "--vector", "0,0", "-k", "5", "--json")
        #expect(s.stdout.contains(#""keys":[]"#), "nothing of the rejected batch is stored: \(s.stdout)")
    }

    @Test("malformed commands and inputs give errors, never a crash")
    func badInput() throws {
        let db = dir.file("db")
        _ = try vecdb("create", db, "items", "--dim", "2")
        let cases: [([String], String)] = [
            (["search", db, "items", "--vector", "1,x", "-k", "1"], "not a number"),
            (["search", db, "items", "--vector", "1,2,3", "-k", "1"], "expects 2 dimensions, got 3"),
            (["search", db, "items", "--vector", "1,2", "-k", "1", "--filter", "year <"], "filter"),
            (["search", db, "nope", "--vector", "1,2"], "nope"),
            (["create", db, "items", "--dim", "2"], "items"),
            (["create", db, "other", "--dim", "0"], "--dim"),
            (["dataset", "fetch", "sift-1b"], "unknown data set"),
            (["insert", db, "items", "--file", dir.file("missing.jsonl")], "missing.jsonl"),
            (["frobnicate"], "Unexpected argument"),
        ]
        for (args, fragment) in cases {
            let r = try runCommand(try #require(builtExecutable(named: "vecdb")), args)
            #expect(r.status != 0 && r.status < 128, "\(args): status \(r.status)")
            #expect((r.stderr + r.stdout).lowercased().contains(fragment.lowercased()), "\(args): \(r.stderr)")
        }
        let notJSON = try write("x.jsonl", "{\"key\": 1, \"vector\": [1, NaN]}\n")
        let r = try vecdb("insert", db, "items", "--file", notJSON)
        #expect(r.status != 0 && r.stderr.contains("x.jsonl:1"), "\(r.stderr)")
    }

    @Test("the REPL runs commands line by line and survives errors")
    func repl() throws {
        let db = dir.file("db")
        _ = try vecdb("create", db, "items", "--dim", "2")
        let r = try vecdb("repl", input: "search \(db) items --vector 1 -k 1\nstats \(db) --json\nexit\n")
        #expect(r.status == 0)
        #expect(r.stdout.contains("expects 2 dimensions, got 1"), "\(r.stdout)")
        #expect(r.stdout.contains(#""name":"items""#), "\(r.stdout)")
    }
}
