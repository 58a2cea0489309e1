import Foundation
import Testing
import VecDBKernels
import VecDBNN
import VecDBTestSupport

@testable import VecDBVision

@Suite("Image encoder and visual similarity", .serialized)
struct EncoderTests {
    @Test func cosineClassifierGradientsMatchFiniteDifferences() throws {
        var g = SeededGenerator(seed: 3)
        let layer = CosineClassifier(4, classes: 3, scale: 5, generator: &g)
        var x = Tensor.normal([5, 4], std: 1, generator: &g)
        let labels: [Int32] = [0, 2, 1, 1, 0]
        func loss() throws -> Float {
            layer.zeroGradients()
            let (l, grad) = try Loss.softmaxCrossEntropy(logits: try layer.forward(x, training: true), labels: labels)
            _ = try layer.backward(grad)
            return l
        }
        _ = try loss()
        let analytic = layer.weight.gradient.storage
        let (_, grad) = try Loss.softmaxCrossEntropy(logits: try layer.forward(x, training: true), labels: labels)
        let dx = try layer.backward(grad)
        let h: Float = 1e-3
        for k in 0..<layer.weight.value.count {
            let saved = layer.weight.value.storage[k]
            layer.weight.value.storage[k] = saved + h
            let up = try loss()
            layer.weight.value.storage[k] = saved - h
            let down = try loss()
            layer.weight.value.storage[k] = saved
            let numeric = (up - down) / (2 * h)
            #expect(abs(numeric - analytic[k]) <= 2e-3 + 2e-2 * abs(numeric), "w[\(k)] \(numeric) vs \(analytic[k])")
        }
        for k in 0..<x.count {
            let saved = x.storage[k]
            x.storage[k] = saved + h
            let up = try loss()
            x.storage[k] = saved - h
            let down = try loss()
            x.storage[k] = saved
            let numeric = (up - down) / (2 * h)
            #expect(abs(numeric - dx.storage[k]) <= 2e-3 + 2e-2 * abs(numeric), "x[\(k)] \(numeric) vs \(dx.storage[k])")
        }
    }

    @Test func precisionMatchesBruteForce() {
        var g = SeededGenerator(seed: 9)
        let d = 5
        let base = (0..<(200 * d)).map { _ in g.nextGaussian() }
        let queries = (0..<(30 * d)).map { _ in g.nextGaussian() }
        let baseLabels = (0..<200).map { _ in Int32(g.next() % 3) }
        let queryLabels = (0..<30).map { _ in Int32(g.next() % 3) }
        for metric in [VisualSimilarity.Metric.innerProduct, .euclidean] {
            var expected: [Double] = []
            for q in 0..<30 {
                let order = (0..<200).sorted { a, b in
                    func s(_ i: Int) -> Float {
                        var dot: Float = 0
                        var dist: Float = 0
                        for j in 0..<d {
                            dot += queries[q * d + j] * base[i * d + j]
                            dist += (queries[q * d + j] - base[i * d + j]) * (queries[q * d + j] - base[i * d + j])
                        }
                        return metric == .innerProduct ? dot : -dist
                    }
                    return s(a) > s(b)
                }
                expected.append(Double(order.prefix(7).filter { baseLabels[$0] == queryLabels[q] }.count) / 7)
            }
            let got = VisualSimilarity.precision(
                queries: queries, queryLabels: queryLabels, base: base, baseLabels: baseLabels, dimension: d, metric: metric, k: 7)
            #expect(abs(got.mean - expected.reduce(0, +) / 30) < 1e-9)
        }
    }

    static func synthetic(_ n: Int, seed: UInt64) -> (pixels: [UInt8], labels: [Int32]) { SyntheticPictures.make(n, seed: seed) }

    @Test func encoderLearnsClassesAndRoundTrips() throws {
        let train = Self.synthetic(240, seed: 1)
        let test = Self.synthetic(60, seed: 2)
        var c = ImageEncoderTrainer.Configuration()
        c.epochs = 3
        c.dimension = 16
        c.batchSize = 32
        var losses: [Double] = []
        let encoder = try ImageEncoderTrainer.train(
            images: try ImagePreprocessing.tensor(train.pixels, count: 240), labels: train.labels, classes: 3, configuration: c
        ) { _, loss in losses.append(loss) }
        #expect(losses.count == 3 && losses.last! < losses.first!)
        let base = try encoder.embed(tensor: try ImagePreprocessing.tensor(train.pixels, count: 240))
        let queries = try encoder.embed(tensor: try ImagePreprocessing.tensor(test.pixels, count: 60))
        for r in 0..<60 {
            let norm = (0..<16).reduce(Float(0)) { $0 + queries[r * 16 + $1] * queries[r * 16 + $1] }
            #expect(abs(norm - 1) < 1e-4)
        }
        let p = VisualSimilarity.precision(
            queries: queries, queryLabels: test.labels, base: base, baseLabels: train.labels, dimension: 16, metric: .innerProduct)
        #expect(p.mean > 0.9, "precision@10 \(p.mean)")
        // The per-image path (GreyImage → preprocessing) agrees with the tensor path.
        let first = try GreyImage(width: 28, height: 28, pixels: Array(test.pixels[0..<784]))
        let one = try encoder.embed([first])[0]
        #expect(zip(one, queries[0..<16]).allSatisfy { abs($0 - $1) < 1e-4 })

        let dir = TemporaryDirectory()
        try encoder.save(to: dir.file("encoder.safetensors"))
        let loaded = try ImageEncoder.load(from: dir.file("encoder.safetensors"))
        #expect(try loaded.embed([first]) == encoder.embed([first]))
        #expect(throws: VecDBError.self) { try encoder.embed(inputs: [[Float](repeating: 0, count: 10)]) }
        #expect(throws: VecDBError.self) { try encoder.embed(inputs: [[Float](repeating: .nan, count: 784)]) }
    }
}
