import ArgumentParser
import Foundation
import VecDB
import VecDBRecommend
import VecDBText

extension RecommendCommand {
    /// `vecdb recommend ingest DB NAME --interactions F [--items F] [--users F]`.
    struct Ingest: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record interactions (one atomic, fsynced batch per file) and item features.")

        @OptionGroup var target: RecommenderArguments

        @Option(help: "An interaction file: RecBole .inter, or CSV with a header row.")
        var interactions: String?

        @Option(help: "An item file: RecBole .item, or CSV (movieId,title,genres).")
        var items: String?

        @Option(help: "A user file: RecBole .user, or CSV with a header row (keyed by --user-column).")
        var users: String?

        @Option(help: "The CSV's user column.")
        var userColumn = "userId"

        @Option(help: "The CSV's item column.")
        var itemColumn = "movieId"

        @Flag(help: "Embed item titles with all-MiniLM-L6-v2 (NAME.titles); two-tower models then read them as features.")
        var titleEmbeddings = false

        func validate() throws {
            if interactions == nil && items == nil && users == nil && !titleEmbeddings {
                throw ValidationError("give --interactions, --items, --users, --title-embeddings or several")
            }
        }

        func run() throws {
            do throws(VecDBError) {
                let data = try interactions.map { (p: String) throws(VecDBError) in
                    try InteractionFileReader.read(p, columns: InteractionColumns(user: userColumn, item: itemColumn))
                }
                let records = try items.map { (p: String) throws(VecDBError) in try ItemFileReader.read(p, keyColumn: itemColumn) }
                let people = try users.map { (p: String) throws(VecDBError) in try ItemFileReader.read(p, keyColumn: userColumn) }
                let (db, rec) = try target.open()
                defer { db.close() }
                if let data { try rec.record(data) }
                if let records { try rec.ingestItems(records) }
                if let people { try rec.ingestUsers(people) }
                if titleEmbeddings {
                    try rec.enableTitleEmbeddings(try TextEncoder.miniLM(threads: ProcessInfo.processInfo.activeProcessorCount))
                }
                if target.json {
                    let obj: Payload = [
                        "interactions": .number(Double(data?.count ?? 0)), "items": .number(Double(records?.count ?? 0)),
                        "users": .number(Double(people?.count ?? 0)), "total_interactions": .number(Double(rec.log.count)),
                    ]
                    print(obj.jsonText)
                } else {
                    print(
                        "recorded \(data?.count ?? 0) interactions (\(rec.log.count) in all), \(records?.count ?? 0) items, "
                            + "\(people?.count ?? 0) users")
                }
            } catch {
                throw error.exit
            }
        }
    }
}
