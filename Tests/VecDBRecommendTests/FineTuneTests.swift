import Testing
import VecDBKernels
import VecDBStorage
import VecDBTestSupport

@testable import VecDBRecommend

@Suite("Refresh: autoencoders fine-tuned from the previous version", .serialized)
struct FineTuneTests {
    /// The planted data restricted to the first three blocks (items 0..<36, users of clusters 0–2).
    static let firstBlocks: InteractionMatrix = {
        let full = DeepModelTests.planted
        let users = (0..<full.userCount).filter { $0 % 4 != 3 }
        return InteractionMatrix(
            userCount: users.count, itemCount: 36,
            pairs: users.enumerated().flatMap { r, u in full.items(ofUser: u).map { (r, Int($0)) } })
    }()

    @Test(arguments: MultVAEModel.Variant.allCases)
    func zeroEpochsKeepEveryOldScore(variant: MultVAEModel.Variant) throws {
        let old = try MultVAETrainer.fit(variant, train: Self.firstBlocks, epochs: 5, configuration: DeepModelTests.daeConfiguration)
        // The new catalogue lists the old items in reverse order after two new ones.
        let oldIndex: [Int?] = [nil, nil] + (0..<36).reversed().map { $0 }
        let data = InteractionMatrix(userCount: 1, itemCount: 38, pairs: [(0, 0), (0, 5)])
        let tuned = try MultVAETrainer.fineTune(
            old, train: data, oldItemIndex: oldIndex, epochs: 0, configuration: DeepModelTests.daeConfiguration)
        #expect(tuned.itemCount == 38 && tuned.variant == variant)
        for u in stride(from: 0, to: Self.firstBlocks.userCount, by: 9) {
            let history = Array(Self.firstBlocks.items(ofUser: u))
            let before = old.scores(history: history)
            let after = tuned.scores(history: history.map { 37 - $0 })
            for i in 0..<36 { #expect(abs(after[37 - i] - before[i]) <= 1e-4 * max(1, abs(before[i])), "item \(i)") }
            // A new item starts no higher than the least popular old item's bias would put it.
            #expect(after[0].isFinite && after[1].isFinite)
        }
        let biases = old.dec2.bias
        #expect(tuned.dec2.bias[0] == biases.min() && tuned.dec2.bias[1] == biases.min())
    }

    @Test func fineTuneLearnsANewBlockOfItems() throws {
        let old = try MultVAETrainer.fit(.dae, train: Self.firstBlocks, epochs: 40, configuration: DeepModelTests.daeConfiguration)
        let split = try HoldoutSplit.random(DeepModelTests.planted, testFraction: 0.3, seed: 3)
        let tuned = try MultVAETrainer.fineTune(
            old, train: split.train, oldItemIndex: (0..<48).map { $0 < 36 ? $0 : nil }, epochs: 20,
            configuration: DeepModelTests.daeConfiguration)
        let evaluator = RankingEvaluator(split)
        let recall = evaluator.evaluate(tuned).recall10.mean
        #expect(recall > 0.8, "recall@10 after fine-tune \(recall)")
        #expect(recall > 2 * evaluator.evaluate(PopularityModel.fit(split.train)).recall10.mean)
    }

    @Test func mismatchedItemMapIsRejected() throws {
        let old = try MultVAETrainer.fit(.dae, train: Self.firstBlocks, epochs: 1, configuration: DeepModelTests.daeConfiguration)
        #expect(throws: VecDBError.self) {
            try MultVAETrainer.fineTune(old, train: Self.firstBlocks, oldItemIndex: [0, 1], epochs: 1)
        }
        #expect(throws: VecDBError.self) {
            try MultVAETrainer.fineTune(old, train: Self.firstBlocks, oldItemIndex: (0..<36).map { _ in 99 }, epochs: 1)
        }
    }

    @Test func progressReportsEveryEpochWithAFallingEstimate() throws {
        let split = try HoldoutSplit.random(DeepModelTests.planted, testFraction: 0.2, seed: 1)
        var reports: [TrainingProgress] = []
        let grid = DeepModelGrid(weightDecays: [1e-5], temperatures: [0.1])
        let trained = try DeepModelTrainer.train(.multDAE, split: split, validationSeed: 2, grid: grid) { reports.append($0) }
        let finals = reports.filter { $0.phase == .final }
        #expect(finals.map(\.epoch) == Array(1...Int(trained.params["epochs"] ?? 0)))
        #expect(finals.last?.etaSeconds == 0)
        let selection = reports.filter { $0.phase == .selection }
        #expect(!selection.isEmpty && selection.allSatisfy { $0.loss.isFinite && $0.loss > 0 && $0.setting == "weight_decay=1e-05" })
        #expect(selection.contains { $0.validationNDCG10 != nil })
        #expect(reports.map(\.elapsedSeconds) == reports.map(\.elapsedSeconds).sorted())
        #expect(reports.first?.line.contains("epoch 1/") == true)
    }
}

@Suite("Refresh of a served deep model")
struct ServedFineTuneTests {
    @Test(arguments: ["mult-dae", "two-tower"])
    func refreshFineTunesAndGivesNewItemsRows(model: String) throws {
        let dir = TemporaryDirectory()
        let (_, rec) = try ServingTests.make(model, dir: dir)
        let v1 = try rec.snapshot()
        let newItem = Key.int(987_654)
        #expect(v1.itemIndex[newItem] == nil)
        let users = rec.users()
        try rec.record(users.prefix(5).map { Interaction(user: $0, item: newItem) } + [Interaction(user: .int(55_555), item: newItem)])
        let v2 = try rec.refresh()
        #expect(v2.version == v1.version + 1)
        #expect(v2.params["fine_tune_epochs"] == max(2, (v1.params["epochs"] ?? 4) / 2).rounded(.down))
        #expect(v2.params["epochs"] == v1.params["epochs"])
        #expect(v2.itemIndex[newItem] != nil)
        #expect(try rec.similarItems(to: newItem, k: 3).items.count == 3)
        #expect(try rec.recommend(user: .int(55_555), k: 5).items.count == 5)
        if let tower = v2.model as? TwoTowerModel {
            // The item features were encoded with the first version's encoder, kept in the checkpoint.
            let first = try #require(v1.model as? TwoTowerModel)
            #expect(tower.itemFeatureEncoder != nil && tower.itemFeatureEncoder == first.itemFeatureEncoder)
        }
    }
}

@Suite("Stored item and user features")
struct StoredFeatureTests {
    @Test func payloadsGiveBackTheRecords() throws {
        let item = EntityRecord(
            key: .int(7), title: "Heat (1995)", genres: ["Action", "Crime"], attributes: ["release_year": "1995", "studio": "WB"])
        let back = Recommender.record(key: .int(7), payload: Recommender.payload(of: item))
        #expect(back == item)
        // A year parsed from the title comes back as a `year` attribute.
        let titled = EntityRecord(key: .int(8), title: "Fargo (1996)", genres: [])
        #expect(Recommender.record(key: .int(8), payload: Recommender.payload(of: titled)).attributes == ["year": "1996"])
    }

    @Test func ingestedUsersAndItemsReachTheTrainer() throws {
        let dir = TemporaryDirectory()
        let (_, rec) = try ServingTests.make("popularity", dir: dir)
        let users = [
            EntityRecord(key: .int(2), attributes: ["age": "31", "gender": "F"]),
            EntityRecord(key: .int(1), attributes: ["age": "24", "gender": "M"]),
        ]
        try rec.ingestUsers(users)
        let stored = try rec.featureRecords()
        #expect(stored.users == users.sorted { $0.key < $1.key })
        #expect(stored.items.map(\.key) == ServingFixtures.itemRecords().map(\.key).sorted())
        #expect(stored.items.allSatisfy { !$0.genres.isEmpty || $0.title != nil })
    }
}
