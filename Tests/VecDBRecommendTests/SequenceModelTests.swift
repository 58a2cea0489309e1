import Foundation
import Testing
import VecDB
import VecDBKernels
import VecDBNN
import VecDBStorage
import VecDBTestSupport

@testable import VecDBRecommend

/// The next-item protocol and the sequence models: the split against hand-made histories, the
/// metrics against ranks worked out by hand, and GRU4Rec and SASRec against a pattern only an
/// order-aware model can learn.
@Suite("Next-item protocol and sequence models")
struct SequenceModelTests {
    static func key(_ i: Int) -> Key { .int(UInt64(i)) }

    @Test("leave-one-out follows timestamps, keeps first occurrences, and skips short histories")
    func split() {
        let x: [Interaction] = [
            Interaction(user: Self.key(1), item: Self.key(30), timestamp: 300),
            Interaction(user: Self.key(1), item: Self.key(10), timestamp: 100),
            Interaction(user: Self.key(1), item: Self.key(20), timestamp: 200),
            Interaction(user: Self.key(1), item: Self.key(10), timestamp: 400),  // a repeat: dropped
            Interaction(user: Self.key(1), item: Self.key(40), timestamp: 500),
            Interaction(user: Self.key(1), item: Self.key(50), timestamp: 500),  // a tie: input order
            Interaction(user: Self.key(2), item: Self.key(10), timestamp: 1),
            Interaction(user: Self.key(2), item: Self.key(20), timestamp: 2),
        ]
        let s = NextItemSplit(x)
        #expect(s.itemKeys == [10, 20, 30, 40, 50].map(Self.key))
        #expect(s.train[0] == [0, 1, 2] && s.validation[0] == 3 && s.test[0] == 4)
        #expect(s.train[1] == [0, 1] && s.validation[1] == nil && s.test[1] == nil)
        let cases = s.cases(validation: false)
        #expect(cases.count == 1 && cases[0].history == [0, 1, 2, 3] && cases[0].target == 4)
        let val = s.cases(validation: true)
        #expect(val[0].history == [0, 1, 2] && val[0].target == 3)
    }

    @Test("the split file lists every user's items in time order with their roles")
    func splitFile() throws {
        let x: [Interaction] = [
            Interaction(user: "b", item: Self.key(7), timestamp: 3),
            Interaction(user: "b", item: Self.key(9), timestamp: 1),
            Interaction(user: "b", item: Self.key(8), timestamp: 2),
            Interaction(user: "b", item: Self.key(6), timestamp: 4),
            Interaction(user: Self.key(5), item: Self.key(7), timestamp: 1),
        ]
        let dir = TemporaryDirectory()
        try NextItemSplit(x).writeTSV(directory: dir.file("s"))
        let text = String(decoding: try FileSystem.system.readAll(dir.file("s/sequences.tsv")), as: UTF8.self)
        #expect(
            text.split(separator: "\n") == [
                "user_id\titem_id\trole", "5\t7\ttrain", "b\t9\ttrain", "b\t8\ttrain", "b\t7\tvalidation", "b\t6\ttest",
            ])
    }

    @Test("hit, NDCG and MRR at 10 equal the values of ranks worked out by hand, history excluded")
    func metrics() throws {
        // 30 items scored 29, 28, …, 0 by index. The target's rank is the number of items not
        // in the history that score above it.
        let cases = [
            NextItemCase(user: 0, history: [], target: 0),  // rank 0
            NextItemCase(user: 1, history: [0, 1, 2], target: 5),  // 2 ahead (3, 4): rank 2
            NextItemCase(user: 2, history: [], target: 12),  // rank 12: a miss
        ]
        let m = try NextItemEvaluator.evaluate(cases, itemCount: 30, negatives: 0) {
            (block: [NextItemCase]) throws(VecDBError) -> [Float] in
            block.flatMap { _ in (0..<30).map { Float(29 - $0) } }
        }
        #expect(m.users == 3)
        #expect(abs(m.hit10.mean - 2.0 / 3) < 1e-12)
        #expect(abs(m.ndcg10.mean - (1 + 1 / log2(4.0)) / 3) < 1e-12)
        #expect(abs(m.mrr10.mean - (1 + 1.0 / 3) / 3) < 1e-12)
        // Sampled: 10 negatives out of 29 candidates; a target scored above all is always first.
        let sampled = try NextItemEvaluator.evaluate([cases[0]], itemCount: 30, negatives: 10) {
            (block: [NextItemCase]) throws(VecDBError) -> [Float] in (0..<30).map { Float(29 - $0) }
        }
        #expect(sampled.sampledHit10.mean == 1 && sampled.sampledMRR10.mean == 1)
        // A scorer that returns the wrong count is an error, not a wrong figure.
        expectVecDBError(.invalidArgument, containing: "returned 5 scores") {
            _ = try NextItemEvaluator.evaluate(cases, itemCount: 30) { (_: [NextItemCase]) throws(VecDBError) -> [Float] in [0, 0, 0, 0, 0]
            }
        }
    }

    @Test("training windows cover every target exactly once")
    func windows() {
        let seq: [Int32] = Array(0..<12)
        let w = SequenceTrainer.windows([seq, [7], []], maxLength: 4)
        #expect(w.allSatisfy { $0.count <= 5 })
        #expect(w.flatMap { $0.dropFirst() }.sorted() == Array(1..<12))
    }

    /// Users walk a cycle of 60 items (each starting at a random place, for 8 to 17 steps): the
    /// next item is the current one plus one, which popularity cannot see and a sequence model
    /// must learn. At least 40 items remain to rank, so hit@10 is not given away.
    static func cyclicSplit() -> NextItemSplit {
        var g = SeededGenerator(seed: 5)
        var x: [Interaction] = []
        for u in 0..<80 {
            let start = Int(g.next() % 60)
            let length = 8 + Int(g.next() % 10)
            for t in 0..<length { x.append(Interaction(user: key(u), item: key((start + t) % 60), timestamp: Int64(t))) }
        }
        return NextItemSplit(x)
    }

    @Test("GRU4Rec and SASRec learn a cyclic order that popularity cannot", arguments: SequenceModelKind.allCases)
    func learnsOrder(kind: SequenceModelKind) throws {
        let split = Self.cyclicSplit()
        var config = SequenceModelConfig()
        config.dimension = 16
        config.maxLength = 10
        config.heads = 2
        config.dropout = 0.1
        config.learningRate = 5e-3
        config.batchSize = 32
        config.maxEpochs = 40
        config.evaluateEvery = 5
        let trained = try SequenceTrainer.train(kind, split: split, config: config)
        let model = trained.model
        let m = try NextItemEvaluator.evaluate(split.cases(validation: false), itemCount: split.itemCount, negatives: 0) {
            (block: [NextItemCase]) throws(VecDBError) -> [Float] in try model.scores(block.map(\.history))
        }
        let popularity = try NextItemEvaluator.evaluate(
            split.cases(validation: false), itemCount: split.itemCount, negatives: 0,
            NextItemEvaluator.scorer(PopularityModel.fit(split.trainMatrix)))
        #expect(m.hit10.mean > 0.9, "\(kind) hit@10 \(m.hit10.mean)")
        #expect(m.mrr10.mean > popularity.mrr10.mean + 0.3, "\(kind) mrr@10 \(m.mrr10.mean), popularity \(popularity.mrr10.mean)")
    }

    /// The loss of `network` on `windows` (next item at every position), and its gradients.
    static func loss(_ network: SequenceNetwork, _ windows: [[Int32]]) throws -> Float {
        let h = try network.forward(windows.map { Array($0.dropLast()) }, training: true)
        return try Loss.softmaxCrossEntropy(logits: try network.logits(h), labels: windows.flatMap { $0.dropFirst() }).loss
    }

    @Test(
        "with content features, the gradients of the id embeddings and of the projection match finite differences",
        arguments: SequenceModelKind.allCases)
    func featureGradients(kind: SequenceModelKind) throws {
        var config = SequenceModelConfig()
        config.dimension = 6
        config.contentWidth = 2
        config.maxLength = 4
        config.heads = 2
        config.dropout = 0
        var g = SeededGenerator(seed: 3)
        let features = try Tensor(shape: [7, 3], storage: (0..<21).map { _ in g.nextUnitFloat() * 2 - 1 })
        let network = SequenceNetwork(kind: kind, itemCount: 7, config: config, features: features)
        let windows: [[Int32]] = [[0, 3, 5, 6], [2, 1, 4], [6, 6, 0, 2, 1]]
        let h = try network.forward(windows.map { Array($0.dropLast()) }, training: true)
        let (_, dLogits) = try Loss.softmaxCrossEntropy(logits: try network.logits(h), labels: windows.flatMap { $0.dropFirst() })
        for p in network.parameters { p.zeroGradient() }
        try network.backward(try Tensor.matmul(dLogits, network.table), tableGradient: try Tensor.matmul(dLogits, h, transposeA: true))
        let content = try #require(network.content)
        #expect(network.items.value.shape == [7, 4] && content.value.shape == [3, 2])
        for p in [network.items, content] {
            for i in 0..<p.value.count {
                let v = p.value.storage[i]
                let eps: Float = 1e-2
                p.value.storage[i] = v + eps
                let up = try Self.loss(network, windows)
                p.value.storage[i] = v - eps
                let down = try Self.loss(network, windows)
                p.value.storage[i] = v
                let numeric = (up - down) / (2 * eps)
                let analytic = p.gradient.storage[i]
                #expect(abs(numeric - analytic) <= 2e-3 + 2e-2 * abs(numeric), "\(kind) \(p.name)[\(i)]: \(analytic) vs \(numeric)")
            }
        }
    }

    /// Items come in 4 classes of 10; a user's next item is always of the next class. Two items
    /// of each class never occur in training. Features: the class, one-hot.
    @Test("content features place items never seen in training: after one, the next class is ranked first")
    func featuresPlaceColdItems() throws {
        var g = SeededGenerator(seed: 9)
        var x: [Interaction] = []
        for u in 0..<120 {
            var c = Int(g.next() % 4)
            for t in 0..<10 {
                x.append(Interaction(user: Self.key(u), item: Self.key(c * 10 + Int(g.next() % 8)), timestamp: Int64(t)))
                c = (c + 1) % 4
            }
        }
        let warm = NextItemSplit(x)
        // The full catalogue: the cold items have no interactions, so add them as item keys.
        let itemKeys = (0..<40).map(Self.key)
        let index = Dictionary(uniqueKeysWithValues: itemKeys.enumerated().map { ($1, Int32($0)) })
        let sequences = warm.userKeys.indices.map { u in
            (warm.train[u] + [warm.validation[u], warm.test[u]].compactMap { $0 }).compactMap { index[warm.itemKeys[Int($0)]] }
        }
        #expect(sequences.joined().count == warm.train.joined().count + warm.test.compactMap { $0 }.count * 2)
        let split = NextItemSplit(userKeys: warm.userKeys, itemKeys: itemKeys, sequences: sequences)
        let features = (0..<40).map { i in (0..<4).map { Float($0 == i / 10 ? 1 : 0) } }
        var config = SequenceModelConfig()
        config.dimension = 16
        config.contentWidth = 8
        config.maxLength = 10
        config.dropout = 0.1
        config.learningRate = 5e-3
        config.batchSize = 32
        config.maxEpochs = 30
        config.evaluateEvery = 5
        for kind in SequenceModelKind.allCases {
            let with = try SequenceTrainer.train(kind, split: split, config: config, features: features).model
            let without = try SequenceTrainer.train(kind, split: split, config: config).model
            // A session of one cold item (8 or 9 of class c): the top 5 should be of class c + 1. (A
            // longer history would give the class away by its warm items and the period of 4.)
            var histories: [[Int32]] = []
            for c in 0..<4 { for cold in [8, 9] { histories.append([Int32(c * 10 + cold)]) } }
            func share(_ model: SequenceModel) throws -> Double {
                let scores = try model.scores(histories)
                var right = 0
                for (r, h) in histories.enumerated() {
                    let row = Array(scores[(r * 40)..<((r + 1) * 40)])
                    let top = (0..<40).filter { !h.contains(Int32($0)) }.sorted { row[$0] > row[$1] }.prefix(5)
                    let next = (Int(h[0]) / 10 + 1) % 4
                    right += top.filter { $0 / 10 == next }.count
                }
                return Double(right) / Double(histories.count * 5)
            }
            let a = try share(with)
            let b = try share(without)
            #expect(a >= 0.9, "\(kind): with features \(a) of the top 5 after a cold item are of the next class")
            #expect(a > b + 0.3, "\(kind): with features \(a), ids alone \(b)")
        }
    }

    @Test("scoring checks item indices and scores an empty history as zeros")
    func scoringInput() throws {
        let split = Self.cyclicSplit()
        var config = SequenceModelConfig()
        config.dimension = 8
        config.maxEpochs = 0
        let model = try SequenceTrainer.train(.sasrec, split: split, config: config).model
        expectVecDBError(.invalidArgument, containing: "item index 60 is outside 0..<60") { _ = try model.scores([[1, 60]]) }
        let s = try model.scores([[], [3, 4]])
        #expect(s.count == 120 && s[0..<60].allSatisfy { $0 == 0 } && s[60..<120].contains { $0 != 0 })
        var bad = SequenceModelConfig()
        bad.dimension = 10
        bad.heads = 3
        expectVecDBError(.invalidArgument, containing: "not a multiple of 3 heads") {
            _ = try SequenceTrainer.train(.sasrec, split: split, config: bad)
        }
    }
}

/// GRU4Rec and SASRec served from the database: trained from the log in time order, queried
/// by user and by anonymous session, and kept across a reopen.
@Suite("Sequence models in serving")
struct SequenceServingTests {
    @Test("a user's next item follows their latest in time order; a session is read in its order; a reopen keeps it")
    func servesTheNextItem() throws {
        let dir = TemporaryDirectory()
        // 80 users walk a 40-item cycle; each user's interactions are recorded newest first,
        // so only their timestamps give the order.
        var g = SeededGenerator(seed: 8)
        var x: [Interaction] = []
        var latest: [Key: Int] = [:]
        for u in 0..<80 {
            let start = Int(g.next() % 40)
            let length = 8 + Int(g.next() % 8)
            for t in (0..<length).reversed() {
                x.append(Interaction(user: .int(UInt64(u)), item: .int(UInt64((start + t) % 40)), timestamp: Int64(1_000 + t)))
            }
            latest[.int(UInt64(u))] = (start + length - 1) % 40
        }
        var expected: [Key: Key] = [:]
        var session: RecommendationList
        do {
            let db = try Database.open(at: dir.path)
            let rec = try Recommender.open("walks", in: db)
            try rec.record(x)
            #expect(rec.history(of: .int(0))?.count ?? 0 >= 8)
            let h0 = try #require(rec.history(of: .int(0))).compactMap { k -> Int? in if case .int(let v) = k { Int(v) } else { nil } }
            #expect(zip(h0, h0.dropFirst()).allSatisfy { ($0 + 1) % 40 == $1 }, "history not in time order: \(h0)")
            try rec.train(model: "sasrec")
            var right = 0
            for (user, last) in latest {
                let top = try rec.recommend(user: user, k: 3).keys
                expected[user] = top.first
                if top.contains(.int(UInt64((last + 1) % 40))) { right += 1 }
            }
            // Popularity would place it in the top 3 for about 3 users in 40.
            #expect(right >= 64, "\(right) of 80 users got their next item in the top 3")
            // An anonymous session, in its order: 10, 11, 12 → 13.
            session = try rec.recommend(sequence: [.int(10), .int(11), .int(12)], k: 3)
            #expect(session.keys.contains(.int(13)))
            #expect(!session.keys.contains(.int(10)) && !session.keys.contains(.int(12)))
            let unknown = try rec.recommend(sequence: [.int(10), .int(999), .int(11)], k: 3)
            #expect(unknown.skipped == [.int(999)] && unknown.keys.contains(.int(12)))
            db.close()
        }
        let db = try Database.open(at: dir.path)
        defer { db.close() }
        let rec = try Recommender.open("walks", in: db)
        for (user, top) in expected { #expect(try rec.recommend(user: user, k: 3).keys.first == top) }
        #expect(try rec.recommend(sequence: [.int(10), .int(11), .int(12)], k: 3).keys == session.keys)
    }

    @Test("a damaged or foreign checkpoint is a typed error")
    func badCheckpoint() throws {
        var config = SequenceModelConfig()
        config.dimension = 8
        config.maxEpochs = 0
        let model = try SequenceTrainer.train(.gru4rec, split: SequenceModelTests.cyclicSplit(), config: config).model
        let bytes = model.checkpointBytes()
        let back = try SequenceModel.load(checkpoint: bytes)
        #expect(try back.scores([[1, 2, 3]]) == model.scores([[1, 2, 3]]))
        var flipped = bytes
        flipped[flipped.count - 3] ^= 0x40
        #expect(throws: VecDBError.self) { _ = try SequenceModel.load(checkpoint: flipped) }
        expectVecDBError(.malformedFile, containing: "not a sequence model") {
            _ = try SequenceModel.load(checkpoint: Checkpoint.encode([:], metadata: ["model": "mult-vae"]))
        }
    }

    @Test("a model with content features round-trips through its checkpoint; bad features are refused")
    func featureCheckpoint() throws {
        var config = SequenceModelConfig()
        config.dimension = 8
        config.contentWidth = 3
        config.heads = 2
        config.maxEpochs = 1
        let split = SequenceModelTests.cyclicSplit()
        let features = (0..<split.itemCount).map { i in [Float(i % 3), Float(i % 5) / 5] }
        let model = try SequenceTrainer.train(.sasrec, split: split, config: config, features: features).model
        let back = try SequenceModel.load(checkpoint: model.checkpointBytes())
        #expect(try back.scores([[4, 5, 6]]) == model.scores([[4, 5, 6]]))
        #expect(back.network.features?.shape == [split.itemCount, 2])
        expectVecDBError(.invalidArgument, containing: "59 feature rows for 60 items") {
            _ = try SequenceTrainer.train(.sasrec, split: split, config: config, features: Array(features.dropLast()))
        }
        expectVecDBError(.invalidArgument, containing: "NaN or infinite") {
            var bad = features
            bad[7][1] = .nan
            _ = try SequenceTrainer.train(.gru4rec, split: split, config: config, features: bad)
        }
        config.contentWidth = 8
        expectVecDBError(.invalidArgument, containing: "contentWidth 8 must lie in 1..<8") {
            _ = try SequenceTrainer.train(.gru4rec, split: split, config: config, features: features)
        }
    }
}
