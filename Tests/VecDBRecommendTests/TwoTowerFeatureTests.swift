import Testing
import VecDBKernels
import VecDBNN
import VecDBStorage
import VecDBTestSupport

@testable import VecDBRecommend

@Suite("Two-tower: feature encoding, user ids, checkpoints, warm start, cold start", .serialized)
struct TwoTowerFeatureTests {
    static let records: [EntityRecord] = [
        EntityRecord(key: .int(1), title: "Ab", genres: ["x"], attributes: ["color": "dark red", "size": "1", "code": "a1", "kind": "f"]),
        EntityRecord(
            key: .int(2), title: "b", genres: ["y", "x"], attributes: ["color": "dark red", "size": "3", "code": "a2", "kind": "f"]),
        EntityRecord(key: .int(3), attributes: ["color": "blue", "size": "", "code": "a3", "kind": "f"]),
        EntityRecord(key: .int(4), attributes: ["color": "blue", "size": "1", "code": "a4", "kind": "f"]),
        EntityRecord(key: .int(5), attributes: ["color": "green", "size": "3", "code": "a5", "kind": "f"]),
        EntityRecord(key: .int(6), attributes: ["color": "dark red", "code": "a6", "kind": "f"]),
    ]

    static var encoder: FeatureEncoder {
        var o = FeatureEncoder.Options()
        o.titleBuckets = 4
        return FeatureEncoder(fitting: records, options: o)
    }

    @Test func encoderRowsMatchHandComputedValues() {
        let e = Self.encoder
        // Columns: genres x, y | color blue, dark red, other | size (mean 2, std 1) | 4 title buckets.
        // `code` (every value distinct) and `kind` (one value) are skipped.
        #expect(e.genres == ["x", "y"])
        #expect(e.categorical == [.init(name: "color", values: ["blue", "dark red"])])
        #expect(e.numeric == [.init(name: "size", mean: 2, std: 1)])
        #expect(e.width == 10)
        let h = Float(0.5).squareRoot()
        let rows = e.rows(Self.records, keys: [.int(1), .int(2), .int(3), .int(5), .int(9)])
        #expect(rows[0] == [1, 0, 0, 1, 0, -1, h, 0, h, 0])  // " ab " → " ab", "ab " → buckets 0, 2
        #expect(rows[1] == [1, 1, 0, 1, 0, 1, 0, 1, 0, 0])  // " b " → one gram, bucket 1
        #expect(rows[2] == [0, 0, 1, 0, 0, 0, 0, 0, 0, 0])  // missing size → 0
        #expect(rows[3] == [0, 0, 0, 0, 1, 1, 0, 0, 0, 0])  // green was seen once → other
        #expect(rows[4] == [Float](repeating: 0, count: 10))  // no record
        let unseen = EntityRecord(key: .int(7), genres: ["z", "y"], attributes: ["color": "purple", "size": "5", "new": "q"])
        #expect(e.encode(unseen) == [0, 1, 0, 0, 1, 3, 0, 0, 0, 0])
        #expect(e.encode(EntityRecord(key: .int(8), attributes: ["size": "nan"])).allSatisfy { $0.isFinite })
    }

    @Test func titleHashingIsFNV1a() {
        #expect(FeatureEncoder.fnv1a(Array("a".utf8)[...]) == 0xe40c_292c)
        #expect(FeatureEncoder.fnv1a(Array("foobar".utf8)[...]) == 0xbf9c_f968)
        #expect(FeatureEncoder.titleGrams("AB", n: 3, buckets: 4) == FeatureEncoder.titleGrams("ab", n: 3, buckets: 4))
    }

    @Test func encoderRoundTripsThroughItsText() throws {
        let e = Self.encoder
        let text = e.serialized()
        let back = try FeatureEncoder(serialized: text)
        #expect(back == e)
        #expect(back.encode(Self.records[0]) == e.encode(Self.records[0]))
        #expect(throws: VecDBError.self) { try FeatureEncoder(serialized: String(text.dropLast(3))) }
        #expect(throws: VecDBError.self) { try FeatureEncoder(serialized: "vecdb-features 2") }
    }

    /// The planted tests' configuration with every part switched on.
    static var configuration: TwoTowerConfiguration {
        var c = DeepModelTests.towerConfiguration
        c.userID = true
        c.batchNorm = true
        return c
    }

    /// Planted users and items with features: items carry their block, users a noisy block hint.
    static var itemFeatures: [[Float]] { (0..<48).map { i in (0..<4).map { Float($0 == i / 12 ? 1 : 0) } + [Float(i % 3)] } }
    static var userFeatures: [[Float]] { (0..<160).map { u in [Float(u % 4) - 1.5, Float(u % 7) / 7] } }

    static func model(_ train: InteractionMatrix = DeepModelTests.planted, epochs: Int = 3) throws -> TwoTowerModel {
        try TwoTowerTrainer.fit(
            train: train, itemFeatures: Array(itemFeatures.prefix(train.itemCount)),
            userFeatures: Array(userFeatures.prefix(train.userCount)), epochs: epochs,
            configuration: Self.configuration)
    }

    @Test func checkpointKeepsBothTowersAndEncoders() throws {
        let dir = TemporaryDirectory()
        // Item rows from the encoder (planted item keys 1…6 have records), user rows given.
        var m = try TwoTowerTrainer.fit(
            train: DeepModelTests.planted, itemFeatures: Self.encoder.rows(Self.records, keys: DeepModelTests.planted.itemKeys),
            userFeatures: Self.userFeatures, epochs: 3, configuration: Self.configuration)
        m.itemFeatureEncoder = Self.encoder
        #expect(m.usesUserID && m.userFeatureWidth == 2 && m.itemFeatureWidth == 10)
        try m.save(to: dir.file("tower"))
        let loaded = try TwoTowerModel.load(from: dir.file("tower"))
        #expect(loaded.params == m.params)
        #expect(loaded.itemFeatureEncoder == m.itemFeatureEncoder && loaded.userFeatureEncoder == nil)
        #expect(loaded.itemEmbeddings() == m.itemEmbeddings())
        var a = [Float](repeating: 0, count: m.itemCount)
        var b = a
        for u in 0..<10 {
            let h = DeepModelTests.planted.items(ofUser: u)
            #expect(loaded.scores(history: Array(h)) == m.scores(history: Array(h)))
            loaded.score(user: u, history: h, into: &a)
            m.score(user: u, history: h, into: &b)
            #expect(a == b)
        }
        let row = Self.encoder.encode(Self.records[0])
        #expect(try loaded.itemVector(features: row) == m.itemVector(features: row))
        #expect(try loaded.itemVector(record: Self.records[0]) == m.itemVector(features: row))
        #expect(try TwoTowerModel.load(checkpoint: m.checkpointBytes()).itemEmbeddings() == m.itemEmbeddings())
    }

    @Test func unknownUsersAreScoredFromTheirHistory() throws {
        let m = try Self.model()
        let h = DeepModelTests.planted.items(ofUser: 5)
        var known = [Float](repeating: 0, count: m.itemCount)
        var unknown = known
        m.score(user: 5, history: h, into: &known)
        m.score(user: m.userCount + 3, history: h, into: &unknown)
        #expect(unknown == m.scores(history: Array(h)))
        #expect(known != unknown)
    }

    @Test func coldStartItemVectorIsTheItemTowerOnAZeroID() throws {
        let m = try Self.model()
        let net = try TwoTowerTrainer.Network(
            items: 48, users: 160, itemFeatures: Self.itemFeatures, userFeatures: Self.userFeatures,
            configuration: Self.configuration)
        try net.load(m, oldItemIndex: (0..<48).map { Int?($0) }, oldUserIndex: (0..<160).map { Int?($0) })
        // The training layers in evaluation mode are the oracle for the frozen weights.
        let v = try net.item.forward(net.itemInput([7]), training: false).storage
        for (x, y) in zip(v, m.itemEmbeddings()[7]) { #expect(abs(x - y) <= 1e-5) }
        for j in 0..<net.configuration.embeddingWidth { net.itemTable.value.storage[7 * net.configuration.embeddingWidth + j] = 0 }
        let cold = try net.item.forward(net.itemInput([7]), training: false).storage
        let fromFeatures = try m.itemVector(features: Self.itemFeatures[7])
        for (x, y) in zip(cold, fromFeatures) { #expect(abs(x - y) <= 1e-5) }
        #expect(throws: VecDBError.self) { try m.itemVector(features: [1]) }
    }

    @Test func fineTuningWithNoEpochsKeepsTheScores() throws {
        let previous = try Self.model()
        // New layout: two new items first (old item i moves to i + 2), three new users last.
        let data = DeepModelTests.planted
        var pairs: [(user: Int, item: Int)] = []
        for u in 0..<160 { for i in data.items(ofUser: u) { pairs.append((u, Int(i) + 2)) } }
        for u in 160..<163 { pairs += [(u, 0), (u, 1), (u, 5)] }
        let grown = InteractionMatrix(userCount: 163, itemCount: 50, pairs: pairs)
        let items = [[Float]](repeating: [0, 1, 0, 0, 1], count: 2) + Self.itemFeatures
        let users = Self.userFeatures + [[Float]](repeating: [0.5, 0.5], count: 3)
        let fine = try TwoTowerTrainer.fineTune(
            previous: previous, train: grown, itemFeatures: items, userFeatures: users,
            oldItemIndex: [nil, nil] + (0..<48).map { Int?($0) }, oldUserIndex: (0..<160).map { Int?($0) } + [nil, nil, nil], epochs: 0,
            configuration: Self.configuration)
        #expect(fine.itemCount == 50 && fine.userCount == 163)
        var old = [Float](repeating: 0, count: 48)
        var new = [Float](repeating: 0, count: 50)
        for u in stride(from: 0, to: 160, by: 9) {
            let h = data.items(ofUser: u)
            previous.score(user: u, history: h, into: &old)
            fine.score(user: u, history: grown.items(ofUser: u), into: &new)
            for i in 0..<48 { #expect(abs(old[i] - new[i + 2]) <= 1e-5, "user \(u) item \(i)") }
        }
        let embeddings = fine.itemEmbeddings()
        #expect(embeddings[0].allSatisfy { $0.isFinite } && embeddings[0] != embeddings[2])
        #expect(throws: VecDBError.self) {
            try TwoTowerTrainer.fineTune(
                previous: previous, train: grown, itemFeatures: items, userFeatures: users, oldItemIndex: [],
                oldUserIndex: [], epochs: 0, configuration: Self.configuration)
        }
    }

    @Test func fineTuningRecoversPlantedBlocks() throws {
        var fine: TwoTowerModel?
        let r = try DeepModelTests.recall { train in
            // The previous model saw only the first 120 users; the rest are new to the fine-tune.
            let early = InteractionMatrix(
                userCount: 120, itemCount: 48,
                pairs: (0..<120).flatMap { u in train.items(ofUser: u).map { (u, Int($0)) } })
            let previous = try Self.model(early, epochs: 5)
            let m = try TwoTowerTrainer.fineTune(
                previous: previous, train: train, itemFeatures: Self.itemFeatures, userFeatures: Self.userFeatures,
                oldItemIndex: (0..<48).map { Int?($0) }, oldUserIndex: (0..<160).map { $0 < 120 ? $0 : nil }, epochs: 6,
                configuration: Self.configuration)
            fine = m
            return m
        }
        #expect(r.model > 0.8, "recall@10 \(r.model), popularity \(r.popularity)")
        #expect(fine?.userCount == 160)
    }
}
