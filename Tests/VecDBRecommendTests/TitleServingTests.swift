import Foundation
import Testing
import VecDB
import VecDBKernels
import VecDBTestSupport

@testable import VecDBRecommend

/// A stand-in text model: a pseudo-random vector seeded by the text's bytes.
struct SeededTextEmbedder: TextEmbedder {
    var modelName = "seeded-text"
    var modelChecksum = "0000beef"
    var dimension = 8

    func embed(_ texts: [String]) throws(VecDBError) -> [[Float]] {
        texts.map { t in
            var g = SeededGenerator(seed: t.utf8.reduce(UInt64(1_469_598_103_934_665_603)) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 })
            return (0..<dimension).map { _ in g.nextGaussian() }
        }
    }
}

@Suite("Title embeddings in serving")
struct TitleServingTests {
    @Test func twoTowerReadsTitleEmbeddingsAndPlacesTitleOnlyItems() throws {
        let dir = TemporaryDirectory()
        let (db, rec) = try ServingTests.make("ease", dir: dir)
        let embedder = SeededTextEmbedder()
        try rec.enableTitleEmbeddings(embedder)
        let titles = try db.collection(rec.titleCollectionName)
        #expect(titles.count == ServingFixtures.itemRecords().count && titles.embedderIdentity == EmbedderIdentity(embedder))
        var other = embedder
        other.modelChecksum = "ffffffff"
        #expect(throws: VecDBError.self) { try rec.enableTitleEmbeddings(other) }

        // Trained with them: the item tower reads [encoded features ‖ title embedding].
        let v2 = try rec.train(model: "two-tower")
        let tower = try #require(v2.model as? TwoTowerModel)
        let encoder = try #require(tower.itemFeatureEncoder)
        #expect(tower.itemFeatureWidth == encoder.width + 8)
        #expect(v2.params["title_width"] == 8)

        // An item added with a title only: its title is embedded as it is stored, and it is
        // placed by the tower from exactly those features.
        let record = EntityRecord(key: .int(9001), title: "A brand new film", genres: ["Comedy"])
        try rec.ingestItems([record])
        let stored = try #require(try titles.get(.int(9001)))
        let titleVector = ExactSearch.normalized(try embedder.embed(["A brand new film"])[0])
        #expect(zip(stored.vector, titleVector).allSatisfy { abs($0 - $1) < 1e-6 })
        let snap = try rec.snapshot()
        let index = try #require(snap.itemIndex[.int(9001)])
        let served = try #require(snap.model as? TwoTowerModel).itemEmbeddings()[Int(index)]
        let expected = try tower.itemVector(
            features: encoder.encode(Recommender.record(key: .int(9001), payload: Recommender.payload(of: record))) + stored.vector)
        #expect(served.count == expected.count && zip(served, expected).allSatisfy { abs($0 - $1) < 1e-5 })
        // Without its title embedding the placement differs: the block is read, not ignored.
        let blind = try tower.itemVector(features: encoder.encode(record) + [Float](repeating: 0, count: 8))
        #expect(zip(served, blind).contains { abs($0 - $1) > 1e-4 })
    }
}
