import ArgumentParser
import VecDB
import VecDBRecommend
import VecDBVision

extension RecommendCommand {
    /// `vecdb recommend similar DB NAME ITEM -k K`, or `similar DB NAME --image F.png -k K`.
    struct Similar: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Items similar to an item, or to an image (visual similarity).")

        @OptionGroup var target: RecommenderArguments

        @Argument(help: "The item's key (omit with --image).")
        var item: String?

        @Option(help: "An image (PNG, JPEG, .npy, IDX): items that look like it, by the recommender's image encoder.")
        var image: String?

        @Option(name: .short, help: "How many items.")
        var k = 10

        @Option(help: "A filter on item payloads.")
        var filter: String?

        @Option(help: "The embedding space (default: the model's own, or its item-item scores).")
        var space: String?

        func validate() throws {
            guard (item == nil) != (image == nil) else { throw ValidationError("give an item key or --image F, not both") }
            guard image == nil || space == nil else { throw ValidationError("--image searches the image space; drop --space") }
        }

        func run() throws {
            do throws(VecDBError) {
                let f = try filter.map { (t: String) throws(VecDBError) in try Filter(parsing: t) }
                let picture = try image.map { (p: String) throws(VecDBError) in try RecommendCommand.AddItem.oneImage(p) }
                let (db, rec) = try target.open()
                defer { db.close() }
                if let picture {
                    target.print(try rec.similarItems(toImage: picture, k: k, filter: f))
                } else {
                    target.print(try rec.similarItems(to: Key(parsing: item ?? ""), k: k, filter: f, space: space))
                }
            } catch {
                throw error.exit
            }
        }
    }
}
