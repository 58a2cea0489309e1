import Testing
import VecDBKernels
import VecDBNN
import VecDBStorage
import VecDBTestSupport

@testable import VecDBRecommend

@Suite("Deep recommenders: gradients, planted structure, fold-in, checkpoints", .serialized)
struct DeepModelTests {
    /// Users in four clusters; each cluster's users hold random items of one block of 12.
    static let planted: InteractionMatrix = {
        var rng = SeededGenerator(seed: 5)
        var pairs: [(user: Int, item: Int)] = []
        for u in 0..<160 {
            let block = u % 4
            for _ in 0..<7 { pairs.append((u, block * 12 + Int(rng.next() % 12))) }
        }
        return InteractionMatrix(userCount: 160, itemCount: 48, pairs: pairs)
    }()

    static var daeConfiguration: MultVAEConfiguration {
        var c = MultVAEConfiguration()
        c.hidden = 32
        c.latent = 8
        c.batchSize = 16
        c.annealEpochs = 5
        c.learningRate = 5e-3
        return c
    }

    static var towerConfiguration: TwoTowerConfiguration {
        var c = TwoTowerConfiguration()
        c.embeddingWidth = 16
        c.hidden = 32
        c.output = 16
        c.batchSize = 32
        c.temperature = 0.1
        c.learningRate = 5e-3
        return c
    }

    @Test(arguments: TwoTowerConfiguration.Softmax.allCases)
    func twoTowerGradientsMatchFiniteDifferences(softmax: TwoTowerConfiguration.Softmax) throws {
        var c = TwoTowerConfiguration()
        c.embeddingWidth = 3
        c.hidden = 5
        c.output = 3
        c.temperature = 0.5
        c.softmax = softmax
        // Every part: user ids and features, training-mode batch norm; no dropout, which
        // would make the loss stochastic.
        c.userID = true
        c.batchNorm = true
        c.dropout = 0
        let features: [[Float]] = (0..<6).map { i in [Float(i % 2), Float(i % 3) * 0.5] }
        let userFeatures: [[Float]] = (0..<4).map { u in [Float(u) * 0.4 - 0.6, Float(u % 2)] }
        let net = try TwoTowerTrainer.Network(items: 6, users: 4, itemFeatures: features, userFeatures: userFeatures, configuration: c)
        // Away from the L2 normalisation's singularity at zero, where differences are ill-conditioned.
        for t in [net.historyTable, net.itemTable, net.userTable] { t?.value.scale(by: 10) }
        for p in [net.user.norm, net.item.norm].compactMap({ $0 }) {
            p.gamma.value = Tensor(repeating: 1.3, shape: [c.hidden])
            p.beta.value = Tensor(repeating: 0.4, shape: [c.hidden])
        }
        let users: [Int32?] = [0, nil, 2, 3, 1]
        let histories: [[Int32]] = [[1, 2], [0], [3, 4, 5], [2], [4, 1]]
        let positives: [Int32] = [0, 3, 1, 5, 2]
        let logQ: [Float] = [-1, -2, -0.5, -1.5, -1]
        func loss() throws -> Float {
            net.zeroGradients()
            return try net.lossAndGradients(users: users, histories: histories, positives: positives, logQ: logQ)
        }
        _ = try loss()
        let names = Set(net.parameters.map(\.name))
        for n in ["user.id", "user1.weight", "user.bn.weight", "user.bn.bias", "item.bn.weight", "item.bn.bias", "item1.weight"] {
            #expect(names.contains(n), "\(n) is not checked")
        }
        let analytic = net.parameters.map { $0.gradient.storage }
        for (p, grad) in zip(net.parameters, analytic) {
            // Every value of the first layers (the user-feature and item-feature columns among them).
            let every = p.name.hasSuffix("1.weight") || p.name.contains(".bn.")
            for k in stride(from: 0, to: p.value.count, by: every ? 1 : max(1, p.value.count / 7)) {
                let saved = p.value.storage[k]
                let h: Float = 3e-3
                p.value.storage[k] = saved + h
                let up = try loss()
                p.value.storage[k] = saved - h
                let down = try loss()
                p.value.storage[k] = saved
                let numeric = (up - down) / (2 * h)
                #expect(abs(numeric - grad[k]) <= 2e-3 + 2e-2 * abs(numeric), "\(p.name)[\(k)]: \(numeric) vs \(grad[k])")
            }
        }
    }

    @Test func frequencyEstimateFollowsTheStream() {
        var f = StreamingFrequencyEstimator(itemCount: 3, initialGap: 10, alpha: 0.1)
        for step in 0..<400 {
            var batch: [Int32] = [0]
            if step % 4 == 0 { batch.append(1) }
            f.observe(batch + [0], step: step)
        }
        #expect(abs(f.probability(0) - 1) < 0.01)
        #expect(abs(f.probability(1) - 0.25) < 0.01)
        #expect(abs(f.probability(2) - 0.1) < 1e-6)
    }

    /// Recall@10 of a model and of popularity on a held-out split of the planted data.
    static func recall(_ fit: (InteractionMatrix) throws -> any ItemScorer) throws -> (model: Double, popularity: Double) {
        let split = try HoldoutSplit.random(planted, testFraction: 0.3, seed: 3)
        let evaluator = RankingEvaluator(split)
        let model = try fit(split.train)
        return (
            evaluator.evaluate(model).recall10.mean,
            evaluator.evaluate(PopularityModel.fit(split.train)).recall10.mean
        )
    }

    @Test(arguments: MultVAEModel.Variant.allCases)
    func autoencoderRecoversPlantedBlocks(variant: MultVAEModel.Variant) throws {
        let r = try Self.recall { train in
            try MultVAETrainer.fit(variant, train: train, epochs: 40, configuration: Self.daeConfiguration)
        }
        #expect(r.model > 0.8, "recall@10 \(r.model), popularity \(r.popularity)")
        #expect(r.model > 2 * r.popularity)
    }

    @Test(arguments: TwoTowerConfiguration.Softmax.allCases)
    func twoTowerRecoversPlantedBlocks(softmax: TwoTowerConfiguration.Softmax) throws {
        var c = Self.towerConfiguration
        c.softmax = softmax
        let r = try Self.recall { train in try TwoTowerTrainer.fit(train: train, epochs: 15, configuration: c) }
        #expect(r.model > 0.8, "recall@10 \(r.model), popularity \(r.popularity)")
        #expect(r.model > 2 * r.popularity)
    }

    /// Every user's scores equal the inner products of their embedding with the item embeddings.
    static func expectEmbeddingsScore(_ model: some EmbeddingModel, _ data: InteractionMatrix) throws {
        let items = model.itemEmbeddings()
        #expect(items.count == model.itemCount && items.allSatisfy { $0.count == model.dimension })
        for u in stride(from: 0, to: data.userCount, by: 17) {
            let history = Array(data.items(ofUser: u))
            let user = try model.userEmbedding(history: history)
            #expect(user == (try model.userEmbedding(history: history)))
            let scores = model.scores(history: history)
            for i in 0..<model.itemCount {
                let dot = zip(user, items[i]).reduce(Float(0)) { $0 + $1.0 * $1.1 }
                #expect(abs(dot - scores[i]) <= 1e-3 * max(1, abs(dot)))
            }
        }
        #expect(throws: VecDBError.self) { try model.userEmbedding(history: [Int32(model.itemCount)]) }
    }

    @Test func foldInAndEmbeddingsAgreeWithScores() throws {
        let dae = try MultVAETrainer.fit(.vae, train: Self.planted, epochs: 3, configuration: Self.daeConfiguration)
        try Self.expectEmbeddingsScore(dae, Self.planted)
        let tower = try TwoTowerTrainer.fit(train: Self.planted, epochs: 2, configuration: Self.towerConfiguration)
        try Self.expectEmbeddingsScore(tower, Self.planted)
        // Order and duplicates of a history do not change the autoencoder's input.
        let h = Array(Self.planted.items(ofUser: 4))
        #expect(dae.scores(history: h) == dae.scores(history: h.reversed() + h))
    }

    @Test func checkpointsRoundTrip() throws {
        let dir = TemporaryDirectory()
        for variant in MultVAEModel.Variant.allCases {
            let m = try MultVAETrainer.fit(variant, train: Self.planted, epochs: 2, configuration: Self.daeConfiguration)
            try m.save(to: dir.file(variant.rawValue))
            let loaded = try MultVAEModel.load(from: dir.file(variant.rawValue))
            #expect(loaded.variant == variant)
            for u in 0..<10 {
                let h = Array(Self.planted.items(ofUser: u))
                #expect(loaded.scores(history: h) == m.scores(history: h))
            }
        }
        let t = try TwoTowerTrainer.fit(train: Self.planted, epochs: 2, configuration: Self.towerConfiguration)
        try t.save(to: dir.file("tower"))
        let loaded = try TwoTowerModel.load(from: dir.file("tower"))
        #expect(loaded.params == t.params)
        for u in 0..<10 {
            let h = Array(Self.planted.items(ofUser: u))
            #expect(loaded.scores(history: h) == t.scores(history: h))
        }
        #expect(throws: VecDBError.self) { try TwoTowerModel.load(from: dir.file(MultVAEModel.Variant.dae.rawValue)) }
        #expect(throws: VecDBError.self) { try MultVAEModel.load(from: dir.file("tower")) }
    }

    @Test func genreFeaturesAreMultiHot() {
        let records = [EntityRecord(key: .int(2), genres: ["b", "a"]), EntityRecord(key: .int(1), genres: ["c"])]
        let f = ItemFeatures.genres(records, itemKeys: [.int(1), .int(2), .int(3)])
        #expect(f == [[0, 0, 1], [1, 1, 0], [0, 0, 0]])
        #expect(ItemFeatures.genres([], itemKeys: [.int(1)]) == nil)
    }
}
