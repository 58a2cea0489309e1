import ArgumentParser
import Foundation
import VecDB
import VecDBDatasets
import VecDBKernels
import VecDBNN
import VecDBVision

/// `vecdb recommend eval --protocol visual`: the image encoder's visual similarity.
struct VisualEvalOptions: ParsableArguments {
    @Option(help: "visual: training images (IDX or .npy; default: the fashion-mnist-784 data set).")
    var trainImages: String?

    @Option(help: "visual: training labels (IDX or 1-D .npy of integers).")
    var trainLabels: String?

    @Option(help: "visual: query images, one per query.")
    var testImages: String?

    @Option(help: "visual: query labels.")
    var testLabels: String?

    @Option(help: "visual: epochs of encoder training.")
    var epochs = 8

    @Option(help: "visual: load this encoder checkpoint instead of training one.")
    var encoder: String?

    @Option(help: "visual: save the trained encoder (safetensors) here.")
    var checkpoint: String?

    var customFiles: [String?] { [trainImages, trainLabels, testImages, testLabels] }
}

/// One row of the visual protocol: one model (`cnn` or `raw-pixels`) on one data set.
struct VisualEvalRow: Codable, Equatable {
    var system = "vecdb"
    var benchmark = "recommend-eval"
    var evaluationProtocol = "visual"
    var dataset: String
    var model: String
    var params: [String: Double]
    var images: Int
    var queries: Int
    var precision10: Double
    var precision10SE: Double
    var imagesPerSecond: Double
    var trainSeconds: Double
    var threads: Int

    enum CodingKeys: String, CodingKey {
        case system, benchmark, dataset, model, params, images, queries, threads
        case evaluationProtocol = "protocol"
        case precision10 = "precision_10"
        case precision10SE = "precision_10_se"
        case imagesPerSecond = "images_per_second"
        case trainSeconds = "train_seconds"
    }
}

extension RecommendCommand.Eval {
    /// Labelled images: the data set's or the given files.
    func visualData() throws(VecDBError) -> (name: String, train: [GreyImage], trainLabels: [Int32], test: [GreyImage], testLabels: [Int32])
    {
        let o = visual
        let paths: [String]
        let name: String
        if o.customFiles.allSatisfy({ $0 == nil }) {
            let set = dataset ?? "fashion-mnist-784"
            let dir = try DatasetCatalog().fetch(set, log: { printError($0) })
            paths = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"].map {
                dir + "/" + $0
            }
            name = set
        } else {
            paths = o.customFiles.compactMap { $0 }
            name = ((paths[0] as NSString).lastPathComponent as NSString).deletingPathExtension
        }
        let train = try ImageReader.read(paths[0])
        let trainLabels = try Self.labels(paths[1])
        let test = try ImageReader.read(paths[2])
        let testLabels = try Self.labels(paths[3])
        guard train.count == trainLabels.count, test.count == testLabels.count, !train.isEmpty, !test.isEmpty else {
            throw VecDBError(
                .invalidArgument,
                "visual: \(train.count) training images with \(trainLabels.count) labels, \(test.count) queries with \(testLabels.count)")
        }
        return (name, train, trainLabels, test, testLabels)
    }

    /// Integer labels from an IDX file of rank 1 or a 1-D `.npy` array.
    static func labels(_ path: String) throws(VecDBError) -> [Int32] {
        let head = (try? FileHandle(forReadingFrom: URL(fileURLWithPath: path)).read(upToCount: 4)) ?? Data()
        if head.starts(with: [0x93, 0x4E, 0x55, 0x4D]) {
            let m = try NumpyFormat.readMatrix(path)
            guard m.dimension == 1 else { throw VecDBError(.malformedFile, "\(path): labels must be a 1-D array", path: path) }
            var out: [Int32] = []
            for i in 0..<m.count {
                let v = m.row(i)[0]
                guard v >= 0, v == v.rounded(), v < 1e6 else {
                    throw VecDBError(.malformedFile, "\(path): label \(v) at row \(i) is not a small non-negative integer", path: path)
                }
                out.append(Int32(v))
            }
            return out
        }
        let a = try IDXFormat.read(path)
        guard a.shape.count == 1 else { throw VecDBError(.malformedFile, "\(path): labels must be an IDX file of rank 1", path: path) }
        return a.bytes.map { Int32($0) }
    }

    func evaluateVisual() throws(VecDBError) {
        let clock = ContinuousClock()
        let data = try visualData()
        let classes = Int((data.trainLabels.max() ?? 0) + 1)
        printError("visual: \(data.train.count) training images, \(data.test.count) queries, \(classes) classes (\(data.name))")
        let t0 = clock.now
        let trainInputs = data.train.map(ImagePreprocessing.input)
        let testInputs = data.test.map(ImagePreprocessing.input)
        let preprocessSeconds = seconds(clock.now - t0)
        BLAS.setThreads(threads)
        let encoder: ImageEncoder
        var trainSeconds = 0.0
        var c = ImageEncoderTrainer.Configuration()
        c.epochs = visual.epochs
        c.seed = seed
        if let path = visual.encoder {
            encoder = try ImageEncoder.load(from: path)
            printError("visual: encoder loaded from \(path)")
        } else {
            let x = try Tensor(shape: [trainInputs.count, 1, 28, 28], storage: Array(trainInputs.joined()))
            let start = clock.now
            encoder = try ImageEncoderTrainer.train(images: x, labels: data.trainLabels, classes: classes, configuration: c) {
                epoch, loss in
                printError(
                    String(
                        format: "visual: encoder epoch %d/%d  loss %.4f  elapsed %.0f s", epoch, c.epochs, loss, seconds(clock.now - start))
                )
            }
            trainSeconds = seconds(clock.now - start)
            if let path = visual.checkpoint {
                try encoder.save(to: path)
                printError("visual: encoder saved to \(path)")
            }
        }
        let base = try encoder.embed(inputs: trainInputs).flatMap { $0 }
        // Encoding throughput: one thread, the query images from decoded pixels to embeddings.
        BLAS.setThreads(1)
        let e0 = clock.now
        let queries = try encoder.embed(data.test).flatMap { $0 }
        let encodeSeconds = seconds(clock.now - e0)
        BLAS.setThreads(threads)
        let cnn = VisualSimilarity.precision(
            queries: queries, queryLabels: data.testLabels, base: base, baseLabels: data.trainLabels, dimension: encoder.dimension,
            metric: .innerProduct)
        let raw = VisualSimilarity.precision(
            queries: Array(testInputs.joined()), queryLabels: data.testLabels, base: Array(trainInputs.joined()),
            baseLabels: data.trainLabels, dimension: 28 * 28, metric: .euclidean)
        let total = Double(data.train.count + data.test.count)
        let rows = [
            VisualEvalRow(
                dataset: data.name, model: "cnn",
                params: [
                    "dimension": Double(encoder.dimension), "epochs": Double(visual.encoder == nil ? c.epochs : 0),
                    "batch": Double(c.batchSize),
                    "scale": 16,
                ], images: data.train.count, queries: data.test.count, precision10: cnn.mean, precision10SE: cnn.standardError,
                imagesPerSecond: Double(data.test.count) / max(encodeSeconds, 1e-9), trainSeconds: trainSeconds, threads: threads),
            VisualEvalRow(
                dataset: data.name, model: "raw-pixels", params: ["dimension": 784], images: data.train.count, queries: data.test.count,
                precision10: raw.mean, precision10SE: raw.standardError, imagesPerSecond: total / max(preprocessSeconds, 1e-9),
                trainSeconds: 0, threads: threads),
        ]
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var lines: [String] = []
        for r in rows {
            do {
                lines.append(String(decoding: try e.encode(r), as: UTF8.self))
            } catch {
                throw VecDBError(.io, "cannot encode a result row: \(error)")
            }
            print(
                String(
                    format: "%-11@ precision@10 %.4f ± %.4f   %9.0f images/s (1 thread)   train %.1f s", r.model, r.precision10,
                    r.precision10SE, r.imagesPerSecond, r.trainSeconds))
        }
        try write(lines)
    }

    func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
