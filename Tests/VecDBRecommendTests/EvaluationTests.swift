import Testing
import VecDBKernels
import VecDBStorage
import VecDBTestSupport

@testable import VecDBRecommend

@Suite("Split and ranking evaluation")
struct EvaluationTests {
    static func close(_ a: Double, _ b: Double, _ tol: Double = 1e-9) -> Bool { abs(a - b) <= tol }

    /// 4 users, 25 items; items ranked by −index (item 0 best).
    static func handSplit() throws -> RankingEvaluator {
        let train = InteractionMatrix(userCount: 4, itemCount: 25, pairs: [(0, 0), (3, 1), (3, 2), (2, 7)])
        var testPairs: [(user: Int, item: Int)] = [(0, 1), (0, 5), (1, 22), (1, 23)]
        testPairs += (3...14).map { (3, $0) }
        let test = InteractionMatrix(userCount: 4, itemCount: 25, pairs: testPairs)
        return try RankingEvaluator(train: train, test: test)
    }

    @Test func metricsMatchHandComputedValues() throws {
        let m = try Self.handSplit().evaluate { _, _, scores in
            for i in scores.indices { scores[i] = -Float(i) }
        }
        // User 0: hits at ranks 1 and 5 of 2 test items. User 1: no hit in the top 20 (item 22
        // ranks 23rd). User 2: no test items, skipped. User 3: train 1, 2 excluded; test 3…14
        // rank 2nd…13th: 9 hits in the top 10, all 12 in the top 20.
        #expect(m.users == 3)
        #expect(m.items == 25)
        #expect(Self.close(m.ndcg10.mean, 0.5434177130788914))
        #expect(Self.close(m.ndcg10.standardError, 0.27246861553253))
        #expect(Self.close(m.ndcg20.mean, 0.5685200967580039))
        #expect(Self.close(m.ndcg20.standardError, 0.2842635254508382))
        #expect(Self.close(m.recall10.mean, 0.5833333333333334))
        #expect(Self.close(m.recall10.standardError, 0.3004626062886658))
        #expect(Self.close(m.recall20.mean, 2.0 / 3))
        #expect(Self.close(m.recall20.standardError, 1.0 / 3))
        // Top-20 lists cover items 0…21.
        #expect(Self.close(m.coverage20.mean, 22.0 / 25))
        #expect(m.coverage20.standardError == 0)
    }

    @Test func recallDividesByAllTestItems() {
        // 30 test items, all in the top 20 would be impossible: 20 hits of 30 → 2/3, not 1.
        let top = (0..<20).map { Int32($0) }
        let m = RankingEvaluator.userMetrics(top: top, relevant: (0..<30).map { Int32($0) }[...])
        #expect(Self.close(m.recall20, 20.0 / 30))
        #expect(Self.close(m.recall10, 10.0 / 30))
        #expect(Self.close(m.ndcg20, 1))
    }

    @Test func topKBreaksTiesByIndexAndExcludes() {
        var top: [Int32] = []
        RankingEvaluator.topK([1, 3, 3, .nan, 2, 3, 0], excluding: [2], k: 4, into: &top)
        #expect(top == [1, 5, 4, 0])
    }

    @Test func threadsGiveTheSameMetrics() throws {
        let data = SyntheticInteractions.make(users: 60, items: 40, perUser: 12, seed: 3)
        let split = try HoldoutSplit.random(data, seed: 1)
        let model = PopularityModel.fit(split.train)
        let one = RankingEvaluator(split).evaluate(model, threads: 1)
        #expect(RankingEvaluator(split).evaluate(model, threads: 3) == one)
    }

    @Test(arguments: [(1, 1), (2, 1), (3, 2), (4, 3), (5, 4), (9, 7), (10, 8), (11, 8), (35, 28), (57, 45)])
    func splitIsPerUserEightyTwentyWithTestRoundedUp(n: Int, expectedTrain: Int) throws {
        let data = InteractionMatrix(userCount: 1, itemCount: 60, pairs: (0..<n).map { (0, $0) } + [(0, 0)])
        let split = try HoldoutSplit.random(data, seed: 42)
        let train = Set(split.train.items(ofUser: 0))
        let test = Set(split.test.items(ofUser: 0))
        #expect(train.count == expectedTrain)
        #expect(train.isDisjoint(with: test))
        #expect(train.union(test) == Set((0..<n).map { Int32($0) }))
    }

    @Test func splitDependsOnlyOnDataAndSeed() throws {
        let rows =
            [Interaction(user: "b", item: 2), Interaction(user: "a", item: 1), Interaction(user: "a", item: 1)]
            + (0..<30).map { Interaction(user: "a", item: .int(UInt64($0 + 10))) }
        let a = try HoldoutSplit.random(InteractionMatrix(rows), seed: 7)
        let b = try HoldoutSplit.random(InteractionMatrix(rows.reversed()), seed: 7)
        #expect(a.train == b.train && a.test == b.test)
        #expect(InteractionMatrix(rows).pairCount == 32)
        let c = try HoldoutSplit.random(InteractionMatrix(rows), seed: 8)
        #expect(c.train != a.train)
        expectVecDBError(.invalidArgument) { try HoldoutSplit.random(InteractionMatrix(rows), testFraction: 1, seed: 1) }
    }

    @Test func splitFilesListEveryPair() throws {
        let dir = TemporaryDirectory()
        let rows = [Interaction(user: "u1", item: 5), Interaction(user: "u1", item: 6), Interaction(user: 2, item: 5)]
        let split = try HoldoutSplit.random(InteractionMatrix(rows), seed: 1)
        try split.writeTSV(directory: dir.file("s"))
        let train = String(decoding: try FileSystem.system.readAll(dir.file("s/train.tsv")), as: UTF8.self)
        let test = String(decoding: try FileSystem.system.readAll(dir.file("s/test.tsv")), as: UTF8.self)
        let lines = (train + test).split(separator: "\n").filter { $0 != "user_id\titem_id" }.sorted()
        #expect(lines == ["2\t5", "u1\t5", "u1\t6"])
    }
}

/// Seeded synthetic implicit data with a popularity skew and two taste clusters.
enum SyntheticInteractions {
    static func make(users: Int, items: Int, perUser: Int, seed: UInt64) -> InteractionMatrix {
        var rng = SeededGenerator(seed: seed)
        var pairs: [(user: Int, item: Int)] = []
        for u in 0..<users {
            let half = u % 2
            for _ in 0..<perUser {
                let r = rng.nextUnitFloat()
                let base = Int(r * r * Float(items / 2))
                pairs.append((u, min(items - 1, base * 2 + half)))
            }
        }
        return InteractionMatrix(userCount: users, itemCount: items, pairs: pairs)
    }
}
