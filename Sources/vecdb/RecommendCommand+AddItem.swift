import ArgumentParser
import Foundation
import VecDB
import VecDBRecommend
import VecDBVision

extension RecommendCommand {
    /// `vecdb recommend add-item DB NAME KEY (--image F | --title T [--genres a,b])`.
    struct AddItem: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-item",
            abstract: "Add an item with only an image, or only a title and genres, with no retraining.",
            discussion: """
                The item is at once searchable by visual similarity (with --image) and, when the served model \
                is a two-tower (which places an item from its content), in users' recommendations. A refresh \
                later trains on its interactions.
                """)

        @OptionGroup var target: RecommenderArguments

        @Argument(help: "The item's key.")
        var key: String

        @Option(help: "The item's image (PNG, JPEG, .npy or IDX with one image).")
        var image: String?

        @Option(help: "The item's title.")
        var title: String?

        @Option(help: "The item's genres, comma-separated.")
        var genres: String?

        @Option(help: "An image encoder checkpoint (safetensors) to store as this recommender's first.")
        var encoder: String?

        func validate() throws {
            guard image != nil || title != nil || genres != nil else { throw ValidationError("give --image, --title or --genres") }
        }

        /// The one image in the file at `path`.
        static func oneImage(_ path: String) throws(VecDBError) -> GreyImage {
            let images = try ImageReader.read(path)
            guard images.count == 1, let first = images.first else {
                throw VecDBError(.invalidArgument, "\(path): holds \(images.count) images; give a file with one")
            }
            return first
        }

        func run() throws {
            do throws(VecDBError) {
                let picture = try image.map { (p: String) throws(VecDBError) in try Self.oneImage(p) }
                let checkpoint = try encoder.map { (p: String) throws(VecDBError) in try ImageEncoder.load(from: p) }
                let (db, rec) = try target.open()
                defer { db.close() }
                if let checkpoint { try rec.setImageEncoder(checkpoint) }
                let itemKey = Key(parsing: key)
                if title != nil || genres != nil {
                    let g = genres.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? []
                    try rec.ingestItems([EntityRecord(key: itemKey, title: title, genres: g)])
                }
                if let picture { try rec.addImages([(key: itemKey, image: picture)]) }
                let snap = try rec.snapshot()
                let placed = snap.itemKeys.contains(itemKey)
                let visual = picture != nil
                if target.json {
                    let obj: Payload = [
                        "key": .string(key), "version": .number(Double(snap.version)), "recommendable": .bool(placed),
                        "visual": .bool(visual),
                    ]
                    print(obj.jsonText)
                } else {
                    print(
                        "added \(key): "
                            + (placed
                                ? "placed in recommendations by the \(snap.kind) model's content tower"
                                : "stored; the \(snap.kind) model places it after the next training")
                            + (visual ? "; searchable by image" : ""))
                }
            } catch {
                throw error.exit
            }
        }
    }
}
