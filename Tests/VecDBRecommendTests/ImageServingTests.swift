import Testing
import VecDB
import VecDBKernels
import VecDBTestSupport
import VecDBVision

@testable import VecDBRecommend

@Suite("Images in serving", .serialized)
struct ImageServingTests {
    static func encoder() throws -> ImageEncoder {
        let train = SyntheticPictures.make(240, seed: 1)
        var c = ImageEncoderTrainer.Configuration()
        c.epochs = 3
        c.dimension = 16
        c.batchSize = 32
        return try ImageEncoderTrainer.train(
            images: try ImagePreprocessing.tensor(train.pixels, count: 240), labels: train.labels, classes: 3, configuration: c)
    }

    static func pictures(_ n: Int, seed: UInt64) throws -> [(image: GreyImage, label: Int32)] {
        let p = SyntheticPictures.make(n, seed: seed)
        return try (0..<n).map { i in
            (try GreyImage(width: 28, height: 28, pixels: Array(p.pixels[(i * 784)..<((i + 1) * 784)])), p.labels[i])
        }
    }

    @Test func imageOnlyItemsAreFoundByLookAndPlacedAtOnce() throws {
        let dir = TemporaryDirectory()
        let (_, rec) = try ServingTests.make("two-tower", dir: dir)
        let pictures = try Self.pictures(30, seed: 7)
        #expect(throws: VecDBError.self) { try rec.addImages([(key: .int(5000), image: pictures[0].image)]) }
        try rec.setImageEncoder(try Self.encoder())
        let keys = (0..<30).map { Key.int(UInt64(5000 + $0)) }
        try rec.addImages(zip(keys, pictures).map { (key: $0, image: $1.image) })
        let snap = try rec.snapshot()
        #expect(snap.spaceNames.contains("image"))
        // Placed in the two-tower's catalogue (zero features but a vector), with no retraining.
        #expect(keys.allSatisfy { snap.itemIndex[$0] != nil })
        // A new picture of kind 1 finds mostly kind-1 items.
        let query = try Self.pictures(4, seed: 99)[1]
        #expect(query.label == 1)
        let found = try rec.similarItems(toImage: query.image, k: 10)
        let label = Dictionary(uniqueKeysWithValues: zip(keys, pictures.map(\.label)))
        let same = found.keys.filter { label[$0] == 1 }.count
        #expect(found.items.count == 10 && same >= 9, "\(same) of 10 share the query's kind")
        // Similar items by key in the image space; the model's own space is still the default.
        #expect(try rec.similarItems(to: keys[0], k: 5, space: "image").keys.allSatisfy { label[$0] == 0 })
        #expect(try rec.similarItems(to: .int(2), k: 3).items.count == 3)

        // The next training reads the image embedding as item features; the image space survives.
        let v2 = try rec.train(model: "two-tower")
        let tower = try #require(v2.model as? TwoTowerModel)
        #expect(tower.itemFeatureWidth == (tower.itemFeatureEncoder?.width ?? 0) + 16)
        #expect(v2.spaceNames.contains("image"))
        let again = try rec.similarItems(toImage: query.image, k: 3)
        #expect(again.items.count == 3)
        #expect(throws: VecDBError.self) { try rec.similarItems(toImage: query.image, k: 0) }
    }
}
