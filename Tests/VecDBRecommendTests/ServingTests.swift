import Foundation
import Testing
import VecDB
import VecDBKernels
import VecDBTestSupport

@testable import VecDBRecommend

@Suite("Serving")
struct ServingTests {
    typealias F = ServingFixtures

    /// A database with the fixture's interactions and items, trained with `model`.
    static func make(_ model: String, dir: TemporaryDirectory) throws -> (Database, Recommender) {
        PlantedEmbeddingModel.register()
        let db = try Database.open(at: dir.path)
        let rec = try Recommender.open("movies", in: db)
        try rec.record(F.interactions())
        try rec.ingestItems(F.itemRecords())
        try rec.train(model: model)
        return (db, rec)
    }

    @Test(arguments: ["popularity", "itemknn", "ease", PlantedEmbeddingModel.kindName, "mult-dae", "two-tower"])
    func recommendEqualsBruteForce(model: String) throws {
        let dir = TemporaryDirectory()
        let (_, rec) = try Self.make(model, dir: dir)
        let snap = try rec.snapshot()
        let filter = try Filter(parsing: "year >= 1985")
        for user in rec.users() {
            let history = try #require(rec.history(of: user))
            let h = history.compactMap { snap.itemIndex[$0] }
            let scores = snap.model.scores(history: h)
            for f in [nil, filter] {
                let expected = F.bruteForce(
                    scores, allowed: { i in !h.contains(Int32(i)) && (f?.matches(snap.payloads[i]) ?? true) }, k: 10)
                let got = try rec.recommend(user: user, k: 10, filter: f)
                #expect(got.keys == expected.map { snap.itemKeys[$0] }, "user \(user) model \(model)")
                #expect(got.items.allSatisfy { !history.contains($0.key) })
            }
        }
    }

    @Test func includeExcludeAndUnknownKeys() throws {
        let dir = TemporaryDirectory()
        let (_, rec) = try Self.make("ease", dir: dir)
        let user: Key = .int(1000)
        let all = try rec.recommend(user: user, k: 40)
        let dropped = Array(all.keys.prefix(3))
        let excluded = try rec.recommend(user: user, k: 5, exclude: dropped + [.string("nope")])
        #expect(excluded.keys == Array(all.keys.dropFirst(3).prefix(5)))
        #expect(excluded.skipped == [.string("nope")])
        let allowed = [all.keys[7], all.keys[2], .string("ghost")]
        let included = try rec.recommend(user: user, k: 5, include: allowed)
        #expect(included.keys == [all.keys[2], all.keys[7]])
        #expect(included.skipped == [.string("ghost")])
        let comedy = try rec.recommend(user: user, k: 5, filter: try Filter(parsing: "exists genre.Comedy"))
        #expect(!comedy.items.isEmpty)
        #expect(comedy.items.allSatisfy { $0.payload?["genres"] == ["Comedy"] })
        let titles = try rec.recommend(user: user, k: 3)
        #expect(titles.items.allSatisfy { $0.title?.hasPrefix("Movie ") ?? false })
    }

    @Test func foldInHistoryMatchesUser() throws {
        let dir = TemporaryDirectory()
        let (_, rec) = try Self.make("ease", dir: dir)
        let user: Key = .int(1003)
        let history = try #require(rec.history(of: user))
        let a = try rec.recommend(user: user, k: 10)
        let b = try rec.recommend(history: history + [.string("unknown-item")], k: 10)
        #expect(a.keys == b.keys)
        #expect(b.skipped == [.string("unknown-item")])
    }

    @Test func similarItemsScoreBased() throws {
        let dir = TemporaryDirectory()
        let (_, rec) = try Self.make("itemknn", dir: dir)
        let snap = try rec.snapshot()
        let knn = try #require(snap.model as? ItemKNNModel)
        let item: Key = .int(5)
        let i = try #require(snap.itemIndex[item])
        let got = try rec.similarItems(to: item, k: 5)
        let expected = knn.neighbours(of: Int(i)).prefix(5).map { snap.itemKeys[$0.item] }
        #expect(Array(got.keys.prefix(expected.count)) == expected)
        #expect(!got.keys.contains(item))
    }

    @Test func fromExamplesAgainstHandComputedVectors() throws {
        let dir = TemporaryDirectory()
        let (_, rec) = try Self.make(PlantedEmbeddingModel.kindName, dir: dir)
        let snap = try rec.snapshot()
        let e = PlantedEmbeddingModel.embedding
        let (a, b, c): (Key, Key, Key) = (.int(3), .int(8), .int(20))
        let avgP = zip(e(a), e(b)).map { ($0 + $1) / 2 }
        let q = zip(avgP, e(c)).map { p, n in p + (p - n) }
        let scores = snap.itemKeys.map { F.dot(e($0), q) }
        let examples: Set<Key> = [a, b, c]
        let expected = F.bruteForce(scores, allowed: { !examples.contains(snap.itemKeys[$0]) }, k: 5).map { snap.itemKeys[$0] }
        let got = try rec.recommend(positive: [.item(a), .item(b), .item(.string("missing"))], negative: [.item(c)], k: 5)
        #expect(got.keys == expected)
        #expect(got.skipped == [.string("missing")])
        // Raw vectors instead of keys give the same query vector.
        let raw = try rec.recommend(positive: [.vector(e(a)), .vector(e(b))], negative: [.vector(e(c))], k: 8)
        #expect(raw.keys.filter { !examples.contains($0) }.prefix(5).elementsEqual(expected.prefix(5)))
        // Best score: max over positives, −(best negative)² when the negative wins.
        let best = snap.itemKeys.map { k -> Float in
            let p = max(F.dot(e(k), e(a)), F.dot(e(k), e(b)))
            let n = F.dot(e(k), e(c))
            return p > n ? p : -(n * n)
        }
        let expectedBest = F.bruteForce(best, allowed: { !examples.contains(snap.itemKeys[$0]) }, k: 5).map { snap.itemKeys[$0] }
        let gotBest = try rec.recommend(positive: [.item(a), .item(b)], negative: [.item(c)], k: 5, strategy: .bestScore)
        #expect(gotBest.keys == expectedBest)
        // Only unknown examples: an empty answer, reported.
        let none = try rec.recommend(positive: [.item(.string("x"))], k: 5)
        #expect(none.items.isEmpty && none.skipped == [.string("x")])
    }

    @Test func similarItemsInEmbeddingSpaceAndBlend() throws {
        let dir = TemporaryDirectory()
        let (_, rec) = try Self.make(PlantedEmbeddingModel.kindName, dir: dir)
        let snap = try rec.snapshot()
        #expect(snap.spaceNames == ["collab"])
        let e = PlantedEmbeddingModel.embedding
        let item: Key = .int(11)
        let scores = snap.itemKeys.map { F.dot(e($0), e(item)) }
        let expected = F.bruteForce(scores, allowed: { snap.itemKeys[$0] != item }, k: 6).map { snap.itemKeys[$0] }
        #expect(try rec.similarItems(to: item, k: 6).keys == expected)
        #expect(try rec.similarItems(to: item, k: 6, space: "collab").keys == expected)
        #expect(try snap.similarItems(to: item, k: 6, weights: ["collab": 2]).keys == expected)
        let comedy = try Filter(parsing: "genre.Comedy = true")
        let filtered = try rec.similarItems(to: item, k: 3, filter: comedy)
        let expectedComedy = F.bruteForce(scores, allowed: { snap.itemKeys[$0] != item && comedy.matches(snap.payloads[$0]) }, k: 3)
        #expect(filtered.keys == expectedComedy.map { snap.itemKeys[$0] })
    }

    @Test(arguments: ["mult-dae", "two-tower"])
    func deepModelsServeSimilarItemsFromTheirEmbeddings(model: String) throws {
        let dir = TemporaryDirectory()
        let (_, rec) = try Self.make(model, dir: dir)
        let snap = try rec.snapshot()
        #expect(snap.spaceNames == ["collab"])
        let embedder = try #require(snap.model as? any EmbeddingScorer)
        let vectors = embedder.itemEmbeddings()
        let item: Key = .int(11)
        let i = try #require(snap.itemIndex[item])
        let scores = vectors.map { F.dot($0, vectors[Int(i)]) }
        let expected = F.bruteForce(scores, allowed: { snap.itemKeys[$0] != item }, k: 6).map { snap.itemKeys[$0] }
        #expect(try rec.similarItems(to: item, k: 6).keys == expected)
    }

    @Test func typedErrors() throws {
        let dir = TemporaryDirectory()
        let (db, rec) = try Self.make(PlantedEmbeddingModel.kindName, dir: dir)
        func code(_ body: () throws -> Void) -> VecDBError.Code? {
            do {
                try body()
                return nil
            } catch { return (error as? VecDBError)?.code }
        }
        #expect(code { _ = try rec.recommend(user: .string("nobody"), k: 3) } == .notFound)
        #expect(code { _ = try rec.recommend(user: .int(1000), k: 0) } == .invalidArgument)
        #expect(code { _ = try rec.similarItems(to: .string("nothing"), k: 3) } == .notFound)
        #expect(code { _ = try rec.similarItems(to: .int(1), k: 3, space: "image") } == .notFound)
        #expect(code { _ = try rec.recommend(positive: [.vector([1, 2])], k: 3) } == .dimensionMismatch)
        #expect(code { _ = try rec.recommend(positive: [.vector([1, .nan, 0, 0])], k: 3) } == .nonFiniteValue)
        #expect(code { _ = try rec.train(model: "no-such-model") } == .invalidArgument)
        let other = try Recommender.open("empty", in: db)
        #expect(code { _ = try other.recommend(user: .int(1000), k: 3) } == .notFound)
        #expect(code { _ = try other.refresh() } == .notFound)
        #expect(code { _ = try Recommender.open(".bad", in: db) } == .invalidArgument)
    }

    @Test func readerHoldingOldVersionKeepsIt() throws {
        let dir = TemporaryDirectory()
        let (db, rec) = try Self.make(PlantedEmbeddingModel.kindName, dir: dir)
        var v1: RecommenderSnapshot? = try rec.snapshot()
        #expect(v1?.version == 1)
        let before = try v1?.similarItems(to: .int(4), k: 5)
        let user: Key = .int(1001)
        let beforeUser = try #require(try v1?.recommend(user: user, k: 5))
        // New items 41...45 arrive; the refresh publishes version 2 with a larger catalogue.
        try rec.record((41...45).map { Interaction(user: .int(2000), item: .int(UInt64($0))) })
        let v2 = try rec.refresh()
        #expect(v2.version == 2 && rec.version == 2)
        #expect(v2.itemCount == (v1?.itemCount ?? 0) + 5)
        #expect(try v1?.similarItems(to: .int(4), k: 5) == before)
        #expect(try v1?.recommend(user: user, k: 5) == beforeUser)
        #expect(throws: VecDBError.self) { try v1?.similarItems(to: .int(42), k: 1) }
        #expect(try v2.similarItems(to: .int(42), k: 1).items.count == 1)
        #expect(db.collectionNames().contains("movies.items.collab.v1"))
        v1 = nil
        #expect(!db.collectionNames().contains("movies.items.collab.v1"))
        #expect(db.collectionNames().contains("movies.items.collab.v2"))
    }

    @Test(arguments: ["ease", PlantedEmbeddingModel.kindName, "mult-vae", "two-tower"])
    func reopenServesTheSame(model: String) throws {
        let dir = TemporaryDirectory()
        var answers: [RecommendationList] = []
        do {
            let (db, rec) = try Self.make(model, dir: dir)
            try rec.refresh()
            for u in rec.users() { answers.append(try rec.recommend(user: u, k: 10)) }
            answers.append(try rec.similarItems(to: .int(2), k: 7))
            rec.close()
            db.close()
        }
        let db = try Database.open(at: dir.path)
        let rec = try Recommender.open("movies", in: db)
        #expect(rec.version == 2)
        var again: [RecommendationList] = []
        for u in rec.users() { again.append(try rec.recommend(user: u, k: 10)) }
        again.append(try rec.similarItems(to: .int(2), k: 7))
        #expect(again == answers)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/.recommenders/movies").sorted()
        #expect(files == ["MODELS", "interactions.log", "model-00000002.bin"])
    }

    @Test func schedulerRefreshesEveryN() throws {
        let dir = TemporaryDirectory()
        let (_, rec) = try Self.make("popularity", dir: dir)
        let s = try RefreshScheduler(recommender: rec, everyInteractions: 3)
        #expect(try s.record([Interaction(user: .int(1), item: .int(1))]) == nil)
        #expect(try s.record([Interaction(user: .int(1), item: .int(2))]) == nil)
        let snap = try s.record([Interaction(user: .int(1), item: .int(3))])
        #expect(snap?.version == 2 && s.refreshes == 1)
        #expect(try rec.recommend(user: .int(1), k: 3).items.allSatisfy { ![Key.int(1), .int(2), .int(3)].contains($0.key) })
    }
}
