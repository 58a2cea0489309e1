import ArgumentParser
import VecDB
import VecDBRecommend

extension RecommendCommand {
    /// `vecdb recommend similar DB NAME ITEM -k K`.
    struct Similar: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Items similar to an item.")

        @OptionGroup var target: RecommenderArguments

        @Argument(help: "The item's key.")
        var item: String

        @Option(name: .short, help: "How many items.")
        var k = 10

        @Option(help: "A filter on item payloads.")
        var filter: String?

        @Option(help: "The embedding space (default: the model's own, or its item-item scores).")
        var space: String?

        func run() throws {
            do throws(VecDBError) {
                let f = try filter.map { (t: String) throws(VecDBError) in try Filter(parsing: t) }
                let (db, rec) = try target.open()
                defer { db.close() }
                target.print(try rec.similarItems(to: Key(parsing: item), k: k, filter: f, space: space))
            } catch {
                throw error.exit
            }
        }
    }
}
