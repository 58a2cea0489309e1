import ArgumentParser
import Foundation
import VecDB
import VecDBRecommend

extension RecommendCommand {
    /// `vecdb recommend refresh DB NAME`.
    struct Refresh: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Retrain the current model on every recorded interaction and publish a new version.")

        @OptionGroup var target: RecommenderArguments

        @Option(help: "Threads for training.")
        var threads = 1

        func run() throws {
            do throws(VecDBError) {
                let (db, rec) = try target.open()
                defer { db.close() }
                let start = Date()
                let display = ProgressDisplay()
                let snap = try rec.refresh(threads: threads, progress: display.callback)
                display.finish()
                Train.report(snap, seconds: Date().timeIntervalSince(start), json: target.json)
            } catch {
                throw error.exit
            }
        }
    }
}
