import Foundation
import VecDBKernels
import VecDBNN

extension SequenceModel: ItemScorer {
    /// Scores every item as the next after `history`, read in the order given (most recent
    /// last). Indices outside the catalogue are skipped.
    public func score(history: ArraySlice<Int32>, into scores: inout [Float]) {
        let h = history.filter { $0 >= 0 && Int($0) < itemCount }
        let s = (try? self.scores([h])) ?? [Float](repeating: 0, count: itemCount)
        if scores.count != itemCount { scores = [Float](repeating: 0, count: itemCount) }
        for i in 0..<itemCount { scores[i] = s[i] }
    }

    static let checkpointFormatVersion = "1"

    /// The model as a safetensors checkpoint: every weight by name, the kind and the settings
    /// in the metadata.
    public func checkpointBytes() -> [UInt8] {
        var tensors: [String: Tensor] = [:]
        for p in network.parameters { tensors[p.name] = p.value }
        if let f = network.features { tensors["features"] = f }
        let c = config
        var metadata = [
            "model": "vecdb-sequence", "model_format_version": Self.checkpointFormatVersion, "kind": kind.rawValue,
            "items": String(itemCount), "dimension": String(c.dimension), "max_length": String(c.maxLength),
            "blocks": String(c.blocks), "heads": String(c.heads),
        ]
        if network.features != nil { metadata["content_width"] = String(c.contentWidth) }
        return Checkpoint.encode(tensors, metadata: metadata)
    }

    /// A model back from ``checkpointBytes()``.
    /// - Throws: `malformedFile` for another model, format version or a tensor missing or of
    ///   another shape.
    public static func load(checkpoint bytes: [UInt8]) throws(VecDBError) -> SequenceModel {
        let path = "<sequence checkpoint>"
        let contents = try Checkpoint.decode(bytes, path: path)
        guard contents.metadata["model"] == "vecdb-sequence" else {
            throw VecDBError(.malformedFile, "\(path): not a sequence model (model '\(contents.metadata["model"] ?? "none")')", path: path)
        }
        try contents.requireFormatVersion(checkpointFormatVersion, path: path)
        func number(_ key: String) throws(VecDBError) -> Int {
            guard let v = contents.metadata[key].flatMap({ Int($0) }), v > 0, v <= 1 << 24 else {
                throw VecDBError(.malformedFile, "\(path): metadata '\(key)' is missing or out of range", path: path)
            }
            return v
        }
        guard let kind = contents.metadata["kind"].flatMap(SequenceModelKind.init(rawValue:)) else {
            throw VecDBError(.malformedFile, "\(path): unknown sequence model kind '\(contents.metadata["kind"] ?? "none")'", path: path)
        }
        var config = SequenceModelConfig(kind: kind)
        config.dimension = try number("dimension")
        config.maxLength = try number("max_length")
        config.blocks = try number("blocks")
        config.heads = try number("heads")
        guard config.dimension % config.heads == 0 else {
            throw VecDBError(
                .malformedFile, "\(path): dimension \(config.dimension) is not a multiple of \(config.heads) heads", path: path)
        }
        let itemCount = try number("items")
        let features = contents.tensors["features"]
        if let features {
            config.contentWidth = try number("content_width")
            guard features.shape.count == 2, features.shape[0] == itemCount, features.shape[1] > 0,
                config.contentWidth < config.dimension
            else {
                throw VecDBError(.malformedFile, "\(path): the features or content width do not fit \(itemCount) items", path: path)
            }
        }
        let network = SequenceNetwork(kind: kind, itemCount: itemCount, config: config, features: features)
        for p in network.parameters {
            guard let t = contents.tensors[p.name], t.shape == p.value.shape else {
                throw VecDBError(.malformedFile, "\(path): tensor '\(p.name)' is missing or has another shape", path: path)
            }
            p.value = t
        }
        return SequenceModel(network: network)
    }
}

/// GRU4Rec and SASRec as servable kinds. A version is trained on the time-ordered sequences of
/// every recorded interaction: each user's last item validates the epoch, the second last is
/// held back too (the next-item protocol's split, so the epoch is chosen as in evaluation).
enum SequenceModelCodec {
    static var kinds: [ModelKind] { SequenceModelKind.allCases.map(kind) }

    static func kind(_ kind: SequenceModelKind) -> ModelKind {
        ModelKind(
            name: kind.rawValue,
            train: { (input: TrainingInput) throws(VecDBError) -> (model: any ItemScorer, params: [String: Double]) in
                guard input.sequences.count == input.data.userCount else {
                    throw VecDBError(.invalidArgument, "\(kind.rawValue) trains on time-ordered sequences; this input carries none")
                }
                let split = NextItemSplit(userKeys: input.data.userKeys, itemKeys: input.data.itemKeys, sequences: input.sequences)
                BLAS.setThreads(input.threads)
                let config = SequenceModelConfig(kind: kind)
                let start = Date()
                let trained = try SequenceTrainer.train(kind, split: split, config: config) { epoch, loss, ndcg in
                    let elapsed = Date().timeIntervalSince(start)
                    input.progress(
                        TrainingProgress(
                            model: kind.rawValue, phase: .final, setting: "", epoch: epoch, epochs: config.maxEpochs, loss: loss,
                            validationNDCG10: ndcg, elapsedSeconds: elapsed,
                            etaSeconds: elapsed / Double(epoch) * Double(config.maxEpochs - epoch)))
                }
                return (trained.model, trained.params)
            },
            encode: { (model: any ItemScorer) throws(VecDBError) -> [UInt8] in
                guard let m = model as? SequenceModel, m.kind == kind else {
                    throw VecDBError(.invalidArgument, "a \(type(of: model)) is not a \(kind.rawValue) model")
                }
                return m.checkpointBytes()
            },
            decode: { (bytes: [UInt8]) throws(VecDBError) -> any ItemScorer in try SequenceModel.load(checkpoint: bytes) })
    }
}
