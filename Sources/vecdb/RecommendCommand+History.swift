import ArgumentParser
import VecDB
import VecDBRecommend

extension RecommendCommand {
    /// `vecdb recommend history DB NAME --items a,b,c -k K`.
    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recommend for a new user from a list of items, without retraining (fold-in).")

        @OptionGroup var target: RecommenderArguments

        @Option(help: "The user's items, comma-separated.")
        var items: String

        @Option(name: .short, help: "How many items.")
        var k = 10

        @Option(help: "A filter on item payloads.")
        var filter: String?

        func run() throws {
            do throws(VecDBError) {
                let f = try filter.map { (t: String) throws(VecDBError) in try Filter(parsing: t) }
                let (db, rec) = try target.open()
                defer { db.close() }
                target.print(try rec.recommend(history: RecommenderArguments.keys(items), k: k, filter: f))
            } catch {
                throw error.exit
            }
        }
    }
}
