import ArgumentParser
import Foundation
import VecDBDatasets
import VecDBKernels
import VecDBText

/// `vecdb embed (--text T … | --file F) [--json] [--output F.fvecs|F.npy]`: sentence embeddings
/// from all-MiniLM-L6-v2 (or another BERT model directory), computed in Swift.
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed texts with all-MiniLM-L6-v2 (384-d, unit length, for cosine).",
        discussion: """
            Texts come from --text (repeatable) or --file (UTF-8, one text a line). Without --json or \
            --output, each vector prints as one line of comma-separated numbers, in input order. The \
            model is fetched into the data cache on first use (`vecdb dataset fetch minilm`).
            """)

    @Option(name: .customLong("text"), help: "A text to embed (repeatable).")
    var texts: [String] = []

    @Option(help: "A UTF-8 file of texts, one a line.")
    var file: String?

    @Flag(help: "Print one JSON object per text: {\"text\": …, \"vector\": […]}.")
    var json = false

    @Option(help: "Write the vectors to this .fvecs or .npy file instead of printing them.")
    var output: String?

    @Option(help: "A model directory (config.json, model.safetensors, vocab.txt); default: all-MiniLM-L6-v2.")
    var model: String?

    @Option(help: "Worker threads.")
    var threads = 1

    func validate() throws {
        guard texts.isEmpty != (file == nil) else { throw ValidationError("give --text (one or more) or --file, not both") }
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256, got \(threads)") }
        if let output, !(output.hasSuffix(".fvecs") || output.hasSuffix(".npy")) {
            throw ValidationError("--output must end in .fvecs or .npy: \(output)")
        }
    }

    func run() throws {
        do {
            let inputs = try file.map(readTextLines) ?? texts
            let encoder = try model.map { try TextEncoder(directory: $0, threads: threads) } ?? TextEncoder.miniLM(threads: threads)
            let vectors = try encoder.embed(inputs)
            if let output {
                let matrix = VectorMatrix(values: vectors.flatMap { $0 }, count: vectors.count, dimension: encoder.dimension)
                let data = output.hasSuffix(".npy") ? NumpyFormat.encode(matrix) : VecsFormat.encodeFvecs(matrix)
                try writeFileAtomically(data, to: output)
                printError("wrote \(vectors.count) vectors of \(encoder.dimension) dimensions to \(output)")
            } else if json {
                for (text, v) in zip(inputs, vectors) {
                    print(#"{"text":\#(JSONString.quoted(text)),"vector":[\#(v.map { "\($0)" }.joined(separator: ","))]}"#)
                }
            } else {
                for v in vectors { print(v.map { "\($0)" }.joined(separator: ",")) }
            }
        } catch let e as VecDBError {
            throw e.exit
        }
    }
}
