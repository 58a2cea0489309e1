import ArgumentParser
import Foundation
import VecDB
import VecDBRecommend

/// The `DB NAME [--json]` arguments of the `vecdb recommend` serving commands.
struct RecommenderArguments: ParsableArguments {
    @Argument(help: "The database directory.")
    var database: String

    @Argument(help: "The recommender's name.")
    var name: String

    @Flag(help: "Print JSON.")
    var json = false

    /// Opens the database for writing and the recommender in it.
    func open() throws(VecDBError) -> (Database, Recommender) {
        RandomProjectionModel.register()
        let db = try Database.open(at: database)
        do throws(VecDBError) {
            return (db, try Recommender.open(name, in: db))
        } catch {
            db.close()
            throw error
        }
    }

    /// Prints a query's answer: a table of keys, scores and titles, or one JSON object.
    func print(_ list: RecommendationList) {
        if json {
            let items: [Payload] = list.items.map { r in
                var o: [String: Payload] = ["key": r.key.json, "score": .number(Double(r.score))]
                if let t = r.title { o["title"] = .string(t) }
                if let p = r.payload { o["payload"] = p }
                return .object(o)
            }
            let obj: Payload = .object([
                "version": .number(Double(list.version)), "items": .array(items), "skipped": .array(list.skipped.map(\.json)),
            ])
            Swift.print(obj.jsonText)
            return
        }
        for (n, r) in list.items.enumerated() {
            let key = r.key.description
            let padded = key + String(repeating: " ", count: max(0, 10 - key.count))
            Swift.print(String(format: "%3d  ", n + 1) + padded + String(format: " %9.4f  ", r.score) + (r.title ?? ""))
        }
        if !list.skipped.isEmpty {
            Swift.print("skipped (unknown): " + list.skipped.map(\.description).joined(separator: ", "))
        }
    }

    /// Parses a comma-separated list of keys.
    static func keys(_ text: String) -> [Key] {
        text.split(separator: ",").map { Key(parsing: $0.trimmingCharacters(in: .whitespaces)) }
    }
}
