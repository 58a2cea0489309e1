import Testing
import VecDB
import VecDBKernels
import VecDBStorage
import VecDBTestSupport

@testable import VecDBRecommend

@Suite("Cold items: split, content-kNN, DropoutNet")
struct ColdItemTests {
    static let planted = DeepModelTests.planted

    @Test func splitHoldsItemsOutEntirely() throws {
        let s = try ColdItemSplit.make(Self.planted, seed: 4)
        #expect(s.isCold.filter { $0 }.count == Int((0.2 * 48).rounded(.up)))
        for u in 0..<Self.planted.userCount {
            let all = Set(Self.planted.items(ofUser: u))
            let train = Set(s.train.items(ofUser: u))
            let warm = Set(s.warmTest.items(ofUser: u))
            let cold = Set(s.coldTest.items(ofUser: u))
            #expect(train.union(warm).union(cold) == all)
            #expect(train.isDisjoint(with: warm) && train.isDisjoint(with: cold) && warm.isDisjoint(with: cold))
            #expect(cold.allSatisfy { s.isCold[Int($0)] } && train.union(warm).allSatisfy { !s.isCold[Int($0)] })
        }
        // A split inside it never holds out an outer cold item.
        let inner = try ColdItemSplit.make(s.train, seed: 5, excluded: s.isCold)
        #expect(zip(inner.isCold, s.isCold).allSatisfy { !($0 && $1) })
        #expect(inner.coldTest.pairCount > 0)
        #expect(throws: VecDBError.self) { try ColdItemSplit.make(Self.planted, coldFraction: 1, seed: 1) }
    }

    @Test func coldEvaluationRanksOnlyTheSideAsked() throws {
        let s = try ColdItemSplit.make(Self.planted, coldFraction: 0.5, seed: 4)
        let cold = s.coldTest
        // An oracle that puts the user's cold test items first: perfect on the cold side.
        let oracle = try s.evaluate(cold: true) { user, _, scores in
            for i in scores.indices { scores[i] = 0 }
            for i in cold.items(ofUser: user) { scores[Int(i)] = 1 }
        }
        #expect(oracle.recall10.mean == 1 && oracle.ndcg10.mean > 0.999)
        // Warm items scored highest are still not candidates: the ranking is the cold items' tie
        // order, below the oracle, with no warm item taking a slot.
        let isCold = s.isCold
        let warmFirst = try s.evaluate(cold: true) { _, _, scores in
            for i in scores.indices { scores[i] = isCold[i] ? 0 : 10 }
        }
        #expect(warmFirst.users == oracle.users && warmFirst.recall10.mean < oracle.recall10.mean)
        #expect(warmFirst.recall10.mean > 0)
    }

    @Test func contentKNNIsTheMeanCosine() throws {
        var g = SeededGenerator(seed: 2)
        let features = (0..<12).map { _ in (0..<5).map { _ in g.nextGaussian() } }
        let model = try ContentKNNModel(features: features)
        let history: [Int32] = [1, 4, 7]
        let scores = model.scores(history: history)
        func cos(_ a: [Float], _ b: [Float]) -> Float {
            let dot = zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            return dot / (a.reduce(0) { $0 + $1 * $1 }.squareRoot() * b.reduce(0) { $0 + $1 * $1 }.squareRoot())
        }
        for i in 0..<12 {
            let expected = history.map { cos(features[i], features[Int($0)]) }.reduce(0, +) / 3
            #expect(abs(scores[i] - expected) < 1e-5)
        }
        #expect(throws: VecDBError.self) { try ContentKNNModel(features: [[1, 2], [3]]) }
        #expect(throws: VecDBError.self) { try ContentKNNModel(features: [[.nan]]) }
        let random = RandomModel(itemCount: 12, seed: 3)
        #expect(random.scores(history: history) == random.scores(history: history))
        #expect(random.scores(history: history) != random.scores(history: [2]))
    }

    /// Items carry a one-hot of their planted block: a two-tower trained with item-id dropout
    /// places held-out items by content, far above random.
    @Test func dropoutNetPlacesColdItemsByContent() throws {
        let features = (0..<48).map { i in (0..<4).map { Float($0 == i / 12 ? 1 : 0) } }
        let s = try ColdItemSplit.make(Self.planted, coldFraction: 0.5, seed: 6)
        var c = DeepModelTests.towerConfiguration
        c.itemIDDropout = 0.5
        let tower = try TwoTowerTrainer.fit(train: s.train, itemFeatures: features, epochs: 15, configuration: c)
        let cold = try s.evaluate(tower, cold: true).recall10.mean
        let random = try s.evaluate(RandomModel(itemCount: 48, seed: 1), cold: true).recall10.mean
        #expect(cold > 0.85, "cold recall@10 \(cold), random \(random)")
        #expect(cold > random + 0.3)
        // A cold item's vector is the item tower on its features with a zero id embedding.
        let i = try #require(s.isCold.firstIndex(of: true))
        let v = try tower.itemVector(features: features[i])
        #expect(zip(v, tower.itemEmbeddings()[i]).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    @Test func simulatedShoppersFollowTheirSettings() throws {
        let labels = (0..<1000).map { Int32($0 % 10) }
        var shoppers = SimulatedShoppers()
        shoppers.users = 300
        let pairs = try shoppers.generate(labels: labels)
        #expect(pairs.map(\.item) == (try shoppers.generate(labels: labels)).map(\.item))
        var byUser: [Int: [Int]] = [:]
        for p in pairs { byUser[p.user, default: []].append(p.item) }
        #expect(byUser.count == 300)
        #expect(byUser.values.allSatisfy { shoppers.interactions.contains($0.count) && Set($0).count == $0.count })
        // Share of each user's items in their two most frequent classes: 0.8 + 0.2 × 2/10 expected.
        var inTop = 0
        for items in byUser.values {
            var counts: [Int32: Int] = [:]
            for i in items { counts[labels[i], default: 0] += 1 }
            inTop += counts.values.sorted(by: >).prefix(2).reduce(0, +)
        }
        let share = Double(inTop) / Double(pairs.count)
        #expect(share > 0.8 && share < 0.9, "share \(share)")
        #expect(throws: VecDBError.self) { try SimulatedShoppers().generate(labels: [0]) }
    }
}

@Suite("Cold start in serving")
struct ServedColdStartTests {
    @Test func aNewItemIsPlacedByContentAtOnceAndKeptOnReopen() throws {
        let dir = TemporaryDirectory()
        let newKey = Key.int(424_242)
        let record = EntityRecord(key: newKey, title: "Brand New Comedy (1999)", genres: ["Comedy"])
        var expected: [Float] = []
        do {
            let (db, rec) = try ServingTests.make("two-tower", dir: dir)
            let v1 = try rec.snapshot()
            let tower = try #require(v1.model as? TwoTowerModel)
            #expect(v1.itemIndex[newKey] == nil)
            try rec.ingestItems([record])
            let now = try rec.snapshot()
            #expect(now.version == v1.version)
            let index = try #require(now.itemIndex[newKey])
            // Its vector is the item tower on its features as stored (the year read from the
            // title becomes a column, as for the trained items); the trained items' are unchanged.
            expected = try tower.itemVector(record: Recommender.record(key: newKey, payload: Recommender.payload(of: record)))
            let served = try #require(now.model as? TwoTowerModel)
            #expect(zip(served.itemEmbeddings()[Int(index)], expected).allSatisfy { abs($0 - $1) < 1e-5 })
            // Equal up to rounding: the tower runs again over one more row, and BLAS may split
            // a GEMM of another height differently (a CI run saw last-bit differences).
            #expect(
                served.itemEmbeddings().prefix(tower.itemCount).elementsEqual(tower.itemEmbeddings()) { a, b in
                    zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) }
                })
            // Findable as a similar item, and scored for every user without retraining.
            #expect(try rec.similarItems(to: newKey, k: 3).items.count == 3)
            let nearest = try rec.similarItems(to: .int(3), k: ServingFixtures.items + 1).keys
            #expect(nearest.contains(newKey))
            for user in rec.users().prefix(5) {
                let scores = now.model.scores(history: rec.history(of: user)?.compactMap { now.itemIndex[$0] } ?? [])
                #expect(scores.count == tower.itemCount + 1 && scores[Int(index)].isFinite)
            }
            rec.close()
            db.close()
        }
        let db = try Database.open(at: dir.path)
        let rec = try Recommender.open("movies", in: db)
        let again = try rec.snapshot()
        let index = try #require(again.itemIndex[newKey])
        let served = try #require(again.model as? TwoTowerModel)
        #expect(zip(served.itemEmbeddings()[Int(index)], expected).allSatisfy { abs($0 - $1) < 1e-5 })
    }
}
