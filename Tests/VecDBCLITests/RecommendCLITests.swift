import Foundation
import Testing
import VecDBTestSupport

/// `vecdb recommend eval` on small generated MovieLens-style files.
@Suite("vecdb recommend")
struct RecommendCLITests {
    let dir = TemporaryDirectory(prefix: "vecdb-rec-cli")

    func vecdb(_ args: [String]) throws -> CommandResult {
        let exe = try #require(builtExecutable(named: "vecdb"), "vecdb must be built next to the test binary")
        return try runCommand(exe, args)
    }

    /// 40 users in two taste groups over 30 movies, three ratings each of a few.
    func ratings() throws -> String {
        var lines = ["userId,movieId,rating,timestamp"]
        for u in 1...40 {
            for j in 0..<10 { lines.append("\(u),\(100 + (u % 2) + 2 * ((u * 7 + j * 3) % 15)),\(1 + j % 5),\(1_000_000 + u * 10 + j)") }
        }
        let path = dir.file("ratings.csv")
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func evalWritesOneRowPerModelAndTheSplit() throws {
        let output = dir.file("out/eval.jsonl")
        let r = try vecdb([
            "recommend", "eval", "--interactions", try ratings(), "--models", "popularity,itemknn,ease",
            "--seed", "42", "--output", output,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("ndcg@10") && r.stdout.contains("ease"))
        let rows = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
        #expect(rows.count == 3)
        let fields: Set<String> = [
            "system", "benchmark", "dataset", "model", "params", "users", "items", "ndcg_10", "ndcg_10_se",
            "ndcg_20", "ndcg_20_se", "recall_10", "recall_10_se", "recall_20", "recall_20_se",
            "coverage_20", "coverage_20_se", "train_seconds", "threads",
        ]
        for (row, model) in zip(rows, ["popularity", "itemknn", "ease"]) {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(row.utf8)) as? [String: Any])
            #expect(Set(object.keys) == fields)
            #expect(object["model"] as? String == model)
            #expect(object["system"] as? String == "vecdb" && object["benchmark"] as? String == "recommend-eval")
            #expect(object["dataset"] as? String == "ratings" && object["users"] as? Int == 40)
        }
        let train = try String(contentsOfFile: output + ".split/train.tsv", encoding: .utf8).split(separator: "\n")
        let test = try String(contentsOfFile: output + ".split/test.tsv", encoding: .utf8).split(separator: "\n")
        #expect(train.first == "user_id\titem_id" && test.first == "user_id\titem_id")
        #expect(train.count > test.count && test.count > 1)
    }

    @Test func nextItemProtocolRanksEachUsersLastItem() throws {
        // 50 users each walk 10 steps of a 40-movie cycle, written out of time order: the next
        // movie is the last one plus one, which SASRec learns and popularity cannot see.
        var lines = ["userId,movieId,rating,timestamp"]
        for u in 1...50 {
            for t in (0..<10).reversed() { lines.append("\(u),\(200 + (u * 7 + t) % 40),4,\(1_000_000 + t * 60)") }
        }
        let path = dir.file("cycle.csv")
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let output = dir.file("next.jsonl")
        let r = try vecdb([
            "recommend", "eval", "--interactions", path, "--models", "popularity,last-item-knn,sasrec", "--protocol", "next-item",
            "--seed", "42", "--output", output,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("hit@10") && r.stdout.contains("sasrec"))
        let rows = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").map { row in
            try #require(try JSONSerialization.jsonObject(with: Data(row.utf8)) as? [String: Any])
        }
        #expect(rows.map { $0["model"] as? String } == ["popularity", "last-item-knn", "sasrec"])
        let fields: Set<String> = [
            "system", "benchmark", "protocol", "dataset", "model", "params", "users", "items", "hit_10", "hit_10_se", "ndcg_10",
            "ndcg_10_se", "mrr_10", "mrr_10_se", "sampled_negatives", "sampled_hit_10", "sampled_hit_10_se", "sampled_ndcg_10",
            "sampled_ndcg_10_se", "sampled_mrr_10", "sampled_mrr_10_se", "train_seconds", "threads",
            // Some targets occur at most 10 times in training here.
            "rare_target_max_count", "rare_users", "rare_hit_10", "rare_ndcg_10", "rare_ndcg_10_se",
        ]
        for row in rows {
            #expect(Set(row.keys) == fields)
            #expect(row["protocol"] as? String == "next-item" && row["users"] as? Int == 50 && row["items"] as? Int == 40)
        }
        // The split file the peers read: every interaction once, roles in time order.
        let split = try String(contentsOfFile: output + ".split/sequences.tsv", encoding: .utf8).split(separator: "\n")
        #expect(split.first == "user_id\titem_id\trole" && split.count == 501)
        #expect(split.filter { $0.hasSuffix("\ttest") }.count == 50)
        let hits = rows.compactMap { $0["hit_10"] as? Double }
        #expect(hits.count == 3 && hits[2] > 0.9 && hits[2] > hits[0] + 0.3, "hit@10 by model: \(hits)")
        let bad = try vecdb([
            "recommend", "eval", "--interactions", path, "--models", "sasrec,gru5rec", "--protocol", "next-item", "--output", output,
        ])
        #expect(bad.status != 0 && bad.stderr.contains("unknown model 'gru5rec'") && bad.stderr.contains("gru4rec"))
    }

    @Test func strongProtocolScoresOnlyHeldOutUsers() throws {
        let output = dir.file("strong.jsonl")
        let r = try vecdb([
            "recommend", "eval", "--interactions", try ratings(), "--models", "popularity,ease", "--protocol", "strong",
            "--seed", "42", "--output", output,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
        #expect(rows.count == 2)
        for row in rows {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(row.utf8)) as? [String: Any])
            #expect(object["protocol"] as? String == "strong")
            // 10 % of 40 users are held out, and only they are scored.
            #expect(object["users"] as? Int == 4)
        }
        let bad = try vecdb(["recommend", "eval", "--interactions", try ratings(), "--protocol", "strong", "--peers", "--output", output])
        #expect(bad.status != 0 && bad.stderr.contains("weak protocol only"), "\(bad.stderr)")
    }

    @Test func twoTowerReadsItemAndUserFeatures() throws {
        var items = ["movieId,title,genres,year"]
        for m in 100..<131 { items.append("\(m),Movie \(m),\(m % 2 == 0 ? "Drama" : "Comedy|Action"),\(1990 + m % 5)") }
        var users = ["userId,age,gender,zip"]
        for u in 1...40 { users.append("\(u),\(20 + u % 30),\(u % 2 == 0 ? "F" : "M"),\(10_000 + u)") }
        let itemPath = dir.file("movies.csv")
        let userPath = dir.file("users.csv")
        try (items.joined(separator: "\n") + "\n").write(toFile: itemPath, atomically: true, encoding: .utf8)
        try (users.joined(separator: "\n") + "\n").write(toFile: userPath, atomically: true, encoding: .utf8)
        let output = dir.file("tower.jsonl")
        let r = try vecdb([
            "recommend", "eval", "--interactions", try ratings(), "--items", itemPath, "--users", userPath, "--models", "two-tower",
            "--seed", "42", "--output", output,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        // Genres Action, Comedy, Drama; year; 64 title buckets. Users: age, gender (2 + other); zip is an id.
        #expect(r.stderr.contains("68 feature columns") && r.stderr.contains("4 feature columns"), "\(r.stderr)")
        let row = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")[0]
        let object = try #require(try JSONSerialization.jsonObject(with: Data(row.utf8)) as? [String: Any])
        let params = try #require(object["params"] as? [String: Double])
        #expect(params["features"] == 68 && params["user_features"] == 4)
        let bad = try vecdb(["recommend", "eval", "--dataset", "ml-100k", "--users", userPath, "--output", output])
        #expect(bad.status != 0 && bad.stderr.contains("--users goes with --interactions"), "\(bad.stderr)")
    }

    @Test func unknownModelListsTheKnownOnes() throws {
        let r = try vecdb(["recommend", "eval", "--interactions", try ratings(), "--models", "ease,als", "--output", dir.file("x.jsonl")])
        #expect(r.status != 0)
        #expect(r.stderr.contains("unknown model 'als'; known models: popularity, itemknn, ease"), "\(r.stderr)")
    }

    @Test func malformedFileNamesLineAndColumn() throws {
        let path = dir.file("bad.csv")
        try "userId,movieId,rating\n1,2,4\n1,3,lots\n".write(toFile: path, atomically: true, encoding: .utf8)
        let r = try vecdb(["recommend", "eval", "--interactions", path, "--output", dir.file("y.jsonl")])
        #expect(r.status != 0)
        #expect(r.stderr.contains("line 3, column 3 ('rating'): 'lots' is not a finite number"), "\(r.stderr)")
    }
}
