import ArgumentParser
import Foundation
import VecDB
import VecDBText

/// The embedders `vecdb create --embed NAME` knows, and the one a collection was created with.
enum Embedders {
    /// Names `--embed` takes.
    static let names = ["minilm"]

    /// The embedder `--embed NAME` names.
    static func make(_ name: String, threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws -> TextEncoder {
        guard name == "minilm" else {
            throw ValidationError("unknown embedder '\(name)'; known: \(names.joined(separator: ", "))")
        }
        return try TextEncoder.miniLM(threads: threads)
    }

    /// Opens `collection` with its embedder attached when it was created with one.
    static func attach(to collection: Collection) throws {
        guard let id = collection.embedderIdentity else { return }
        guard id.modelName == TextEncoder.miniLMName else {
            throw VecDBError(.unsupported, "collection '\(collection.name)' embeds with \(id), which this shell cannot load")
        }
        try collection.attach(try make("minilm"))
    }
}
