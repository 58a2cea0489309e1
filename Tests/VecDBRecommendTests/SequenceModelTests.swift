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
}
