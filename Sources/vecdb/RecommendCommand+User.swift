import ArgumentParser
import VecDB
import VecDBRecommend

extension RecommendCommand {
    /// `vecdb recommend user DB NAME USER -k K [--filter E]`.
    struct User: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recommend items for a recorded user (seen items excluded).")

        @OptionGroup var target: RecommenderArguments

        @Argument(help: "The user's key.")
        var user: String

        @Option(name: .short, help: "How many items.")
        var k = 10

        @Option(help: "A filter on item payloads, such as 'year >= 1990 and exists genre.Comedy'.")
        var filter: String?

        @Option(help: "Item keys never recommended, comma-separated.")
        var exclude: String?

        func run() throws {
            do throws(VecDBError) {
                let f = try filter.map { (t: String) throws(VecDBError) in try Filter(parsing: t) }
                let (db, rec) = try target.open()
                defer { db.close() }
                let list = try rec.recommend(
                    user: Key(parsing: user), k: k, filter: f, exclude: exclude.map(RecommenderArguments.keys) ?? [])
                target.print(list)
            } catch {
                throw error.exit
            }
        }
    }
}
