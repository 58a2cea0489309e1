import VecDBKernels
import VecDBNN

/// How an image becomes the encoder's input: grey, resized to 28 × 28 by area averaging
/// (``GreyImage/resized(width:height:)``, aspect ratio not kept), inverted when its border is
/// brighter than mid-grey (Fashion-MNIST shows light products on a black background; product
/// photos are usually dark on white), scaled to 0…1 and standardised with Fashion-MNIST's
/// training mean 0.2860 and deviation 0.3530.
public enum ImagePreprocessing {
    /// The side of the encoder's square input.
    public static let side = 28
    /// Fashion-MNIST's training pixel mean (0…1 scale).
    public static let mean: Float = 0.2860
    /// Fashion-MNIST's training pixel standard deviation (0…1 scale).
    public static let deviation: Float = 0.3530

    /// The encoder input of one image: `side × side` standardised values.
    public static func input(_ image: GreyImage) -> [Float] {
        let invert = image.borderMean > 127.5
        return image.resized(width: side, height: side).map { p in
            let v = (invert ? 255 - p : p) / 255
            return (v - mean) / deviation
        }
    }

    /// Inputs for a batch of Fashion-MNIST-style images already 28 × 28 on a dark background,
    /// as a `[n, 1, 28, 28]` tensor (no inversion test: training data is taken as it is).
    public static func tensor(_ pixels: [UInt8], count: Int) throws(VecDBError) -> Tensor {
        try Tensor(shape: [count, 1, side, side], storage: pixels.map { (Float($0) / 255 - mean) / deviation })
    }
}

/// A CNN that maps a grey image to an L2-normalised embedding in which images of the same kind
/// lie close by cosine:
///
/// ```
/// conv 32 3×3 → ReLU → max-pool 2 → conv 64 3×3 → ReLU → max-pool 2 → fc 3136→128 → ReLU →
/// dropout 0.25 → fc 128→D → L2 = embedding        (training adds: cosine classifier, scale 16)
/// ```
///
/// Trained by ``ImageEncoderTrainer`` with the normalised softmax (a ``VecDBNN/CosineClassifier``
/// over the embedding): classification and metric learning in one loss. Checkpoints are
/// safetensors (``save(to:)``). Thread-safe: inference runs under a lock, as the layers keep
/// per-call state.
public final class ImageEncoder: Sendable {
    /// The embedding width D.
    public let dimension: Int
    /// The number of classes the classifier head was trained on.
    public let classes: Int
    let network: Lock<Network>

    /// The checkpoint's `model` metadata.
    public static let modelName = "vecdb-image-encoder"
    /// The checkpoint layout this code writes and reads.
    public static let formatVersion = "1"

    final class Network {
        let trunk: Sequential
        let classifier: CosineClassifier

        init(dimension: Int, classes: Int, seed: UInt64) {
            var g = SeededGenerator(seed: seed)
            let conv1 = Conv2D(inChannels: 1, outChannels: 32, kernel: 3, padding: 1, name: "conv1", generator: &g)
            conv1.needsInputGradient = false
            trunk = Sequential(
                name: "encoder",
                [
                    conv1, Activation(.relu), Pool2D(.max, kernel: 2),
                    Conv2D(inChannels: 32, outChannels: 64, kernel: 3, padding: 1, name: "conv2", generator: &g),
                    Activation(.relu), Pool2D(.max, kernel: 2), Flatten(),
                    Linear(64 * 7 * 7, 128, name: "fc1", generator: &g), Activation(.relu),
                    Dropout(rate: 0.25, seed: seed &+ 1), Linear(128, dimension, name: "embed", generator: &g),
                    L2Normalize(name: "embed.l2"),
                ])
            classifier = CosineClassifier(dimension, classes: classes, name: "proxies", generator: &g)
        }

        var state: [Parameter] { trunk.stateParameters + classifier.stateParameters }
    }

    init(dimension: Int, classes: Int, network: sending Network) {
        self.dimension = dimension
        self.classes = classes
        self.network = Lock(network)
    }

    /// Embeds encoder inputs (``ImagePreprocessing/input(_:)`` rows, `side²` values each).
    ///
    /// - Returns: one unit-length row of ``dimension`` values per input.
    /// - Throws: ``VecDBError/Code/dimensionMismatch`` for a row of the wrong length,
    ///   ``VecDBError/Code/nonFiniteValue`` for NaN or infinite inputs.
    public func embed(inputs: [[Float]]) throws(VecDBError) -> [[Float]] {
        let side = ImagePreprocessing.side
        for row in inputs {
            guard row.count == side * side else {
                throw VecDBError(.dimensionMismatch, "image encoder: an input has \(row.count) values, expected \(side * side)")
            }
            guard row.allSatisfy(\.isFinite) else { throw VecDBError(.nonFiniteValue, "image encoder: an input holds NaN or infinity") }
        }
        var out: [[Float]] = []
        out.reserveCapacity(inputs.count)
        var start = 0
        while start < inputs.count {
            let end = min(start + 256, inputs.count)
            let x = try Tensor(shape: [end - start, 1, side, side], storage: Array(inputs[start..<end].joined()))
            let y = try network.withLock { (n: inout Network) throws(VecDBError) -> Tensor in try n.trunk.forward(x, training: false) }
            for r in 0..<(end - start) { out.append(Array(y.storage[(r * dimension)..<((r + 1) * dimension)])) }
            start = end
        }
        return out
    }

    /// Embeds images (each preprocessed by ``ImagePreprocessing/input(_:)``).
    public func embed(_ images: [GreyImage]) throws(VecDBError) -> [[Float]] {
        try embed(inputs: images.map(ImagePreprocessing.input))
    }

    /// Embeds a `[n, 1, 28, 28]` tensor of standardised inputs in batches; rows flattened.
    public func embed(tensor x: Tensor) throws(VecDBError) -> [Float] {
        guard x.rank == 4, x.shape[1] == 1, x.shape[2] == ImagePreprocessing.side, x.shape[3] == ImagePreprocessing.side else {
            throw VecDBError(.dimensionMismatch, "image encoder: expected [n, 1, 28, 28], got \(Tensor.describe(x.shape))")
        }
        let n = x.shape[0]
        var out: [Float] = []
        out.reserveCapacity(n * dimension)
        for r in Batches.ranges(count: n, size: 256) {
            let batch = try Batches.gather(x, rows: Array(r))
            let y = try network.withLock { (net: inout Network) throws(VecDBError) -> Tensor in
                try net.trunk.forward(batch, training: false)
            }
            out.append(contentsOf: y.storage)
        }
        return out
    }

    /// Writes the weights as safetensors, atomically.
    ///
    /// - Throws: ``VecDBError/Code/io`` from the file layer.
    public func save(to path: String) throws(VecDBError) {
        let state = network.withLock { $0.state }
        try Checkpoint.save(
            state,
            metadata: [
                "model": Self.modelName, "model_format_version": Self.formatVersion, "dimension": "\(dimension)", "classes": "\(classes)",
                "input": "grey 28x28, area-averaged, inverted on a light border, (x/255 - 0.2860) / 0.3530",
            ], to: path)
    }

    /// Reads an encoder written by ``save(to:)``.
    ///
    /// - Throws: ``VecDBError/Code/malformedFile`` for another model, format version or missing
    ///   or misshapen tensors; file errors.
    public static func load(from path: String) throws(VecDBError) -> ImageEncoder {
        let contents = try Checkpoint.load(path)
        guard contents.metadata["model"] == modelName else {
            throw VecDBError(.malformedFile, "\(path): not an image encoder checkpoint", path: path)
        }
        try contents.requireFormatVersion(formatVersion, path: path)
        guard let d = contents.metadata["dimension"].flatMap({ Int($0) }), let c = contents.metadata["classes"].flatMap({ Int($0) }),
            d > 0, c > 0
        else {
            throw VecDBError(.malformedFile, "\(path): image encoder checkpoint lacks its dimension or class count", path: path)
        }
        let net = Network(dimension: d, classes: c, seed: 0)
        for p in net.state {
            guard let t = contents.tensors[p.name], t.shape == p.value.shape else {
                throw VecDBError(.malformedFile, "\(path): tensor '\(p.name)' is missing or has the wrong shape", path: path)
            }
            p.value = t
        }
        return ImageEncoder(dimension: d, classes: c, network: net)
    }
}
