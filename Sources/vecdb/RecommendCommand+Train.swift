import ArgumentParser
import Foundation
import VecDB
import VecDBRecommend

extension RecommendCommand {
    /// `vecdb recommend train DB NAME --model M`.
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train a model on every recorded interaction and publish it as a new version.")

        @OptionGroup var target: RecommenderArguments

        @Option(help: "The model: \(ModelRegistry.names.joined(separator: ", ")), randproj (a demonstration embedding model).")
        var model: String

        @Option(help: "Threads for training.")
        var threads = 1

        func validate() throws {
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        }

        func run() throws {
            do throws(VecDBError) {
                let (db, rec) = try target.open()
                defer { db.close() }
                let start = Date()
                let display = ProgressDisplay()
                let snap = try rec.train(model: model, threads: threads, progress: display.callback)
                display.finish()
                Self.report(snap, seconds: Date().timeIntervalSince(start), json: target.json)
            } catch {
                throw error.exit
            }
        }

        static func report(_ snap: RecommenderSnapshot, seconds: Double, json: Bool) {
            if json {
                let obj: Payload = .object([
                    "version": .number(Double(snap.version)), "model": .string(snap.kind),
                    "params": .object(snap.params.mapValues { .number($0) }), "items": .number(Double(snap.itemCount)),
                    "seconds": .number(seconds),
                ])
                print(obj.jsonText)
            } else {
                let params = snap.params.sorted { $0.key < $1.key }.map { "\($0.key)=\(String(format: "%g", $0.value))" }
                print(
                    "published version \(snap.version): \(snap.kind) \(params.joined(separator: " ")) over \(snap.itemCount) items "
                        + String(format: "in %.2f s", seconds))
            }
        }
    }
}
