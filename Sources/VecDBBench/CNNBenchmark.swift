import Foundation
import VecDBDatasets
import VecDBKernels
import VecDBNN

/// A small CNN trained on Fashion-MNIST (60,000 training images, 10,000 test images):
/// conv 32 3×3 → ReLU → max-pool 2 → conv 64 3×3 → ReLU → max-pool 2 → linear 128 → ReLU →
/// dropout 0.25 → linear 10, Adam (lr 1e-3 with cosine decay to 5 % over the run), shuffled mini-batches. One row per epoch with the
/// training time of the epoch and the test accuracy after it.
struct CNNBenchmark {
    let epochs: Int
    let batchSize: Int
    let threads: Int
    let seed: UInt64 = 42

    static func model(seed: UInt64) -> Sequential {
        var g = SeededGenerator(seed: seed)
        let conv1 = Conv2D(inChannels: 1, outChannels: 32, kernel: 3, padding: 1, name: "conv1", generator: &g)
        conv1.needsInputGradient = false  // nothing below it to train
        return Sequential(
            name: "cnn",
            [
                conv1,
                Activation(.relu),
                Pool2D(.max, kernel: 2),
                Conv2D(inChannels: 32, outChannels: 64, kernel: 3, padding: 1, name: "conv2", generator: &g),
                Activation(.relu),
                Pool2D(.max, kernel: 2),
                Flatten(),
                Linear(64 * 7 * 7, 128, name: "fc1", generator: &g),
                Activation(.relu),
                Dropout(rate: 0.25, seed: seed &+ 1),
                Linear(128, 10, name: "fc2", generator: &g),
            ])
    }

    static func load(_ dir: String, _ prefix: String) throws -> (Tensor, [Int32]) {
        let images = try IDXFormat.read(dir + "/\(prefix)-images-idx3-ubyte")
        let labels = try IDXFormat.read(dir + "/\(prefix)-labels-idx1-ubyte")
        let n = images.shape[0]
        // Pixels scaled to [0, 1], then standardised with Fashion-MNIST's mean and deviation.
        let x = images.bytes.map { (Float($0) / 255 - 0.2860) / 0.3530 }
        return (try Tensor(shape: [n, 1, images.shape[1], images.shape[2]], storage: x), labels.bytes.map { Int32($0) })
    }

    func run(_ out: BenchOutput, checkpoint: String?) throws {
        BLAS.setThreads(threads)
        let dir = try DatasetCatalog().fetch("fashion-mnist-784", log: { printError($0) })
        let (trainX, trainY) = try Self.load(dir, "train")
        let (testX, testY) = try Self.load(dir, "t10k")
        printError("cnn: \(trainY.count) training and \(testY.count) test images; BLAS \(BLAS.description), threads=\(threads)")
        let model = Self.model(seed: seed)
        let opt = Adam(learningRate: 1e-3)
        let batchesPerEpoch = (trainY.count + batchSize - 1) / batchSize
        let schedule = LearningRateSchedule.cosine(totalSteps: epochs * batchesPerEpoch, minimumFactor: 0.05)
        var rng = SeededGenerator(seed: seed)
        for epoch in 1...epochs {
            let order = Batches.shuffled(Array(0..<trainY.count), generator: &rng)
            var lossSum = 0.0
            var batches = 0
            let start = now()
            for r in Batches.ranges(count: order.count, size: batchSize) {
                let rows = Array(order[r])
                let x = try Batches.gather(trainX, rows: rows)
                opt.learningRate = schedule.rate(base: 1e-3, step: opt.stepCount)
                opt.zeroGradients(model.parameters)
                let logits = try model.forward(x, training: true)
                let (loss, grad) = try Loss.softmaxCrossEntropy(logits: logits, labels: rows.map { trainY[$0] })
                _ = try model.backward(grad)
                opt.step(model.parameters)
                lossSum += Double(loss)
                batches += 1
            }
            let seconds = now() - start
            let evalStart = now()
            var correct = 0
            for r in Batches.ranges(count: testY.count, size: 250) {
                let logits = try model.forward(try Batches.gather(testX, rows: Array(r)), training: false)
                correct += zip(logits.argmaxRows(), testY[r]).filter { $0 == Int($1) }.count
            }
            let accuracy = Double(correct) / Double(testY.count)
            let evalSeconds = now() - evalStart
            let params = CNNParams(
                epoch: epoch, epochs: epochs, batch: batchSize, optimizer: "adam", learningRate: 0.001,
                schedule: "cosine to 0.05x over all epochs", model: "conv32-pool-conv64-pool-fc128-dropout0.25-fc10",
                trainImages: trainY.count, testImages: testY.count, seed: Int(seed), blas: BLAS.description)
            try out.append(
                CNNEpochRow(
                    system: "vecdb", benchmark: "cnn-fashion-mnist", threads: threads, params: params,
                    epochSeconds: BenchOutput.round(seconds, 3),
                    imagesPerSecond: BenchOutput.round(Double(trainY.count) / seconds, 1),
                    testAccuracy: BenchOutput.round(accuracy, 4),
                    trainLoss: BenchOutput.round(lossSum / Double(max(batches, 1)), 4),
                    evalSeconds: BenchOutput.round(evalSeconds, 3)))
            print(
                String(
                    format: "vecdb    cnn epoch %d/%d  %.1f s (%.0f images/s)  train loss %.4f  test accuracy %.4f  (eval %.1f s)",
                    epoch, epochs, seconds, Double(trainY.count) / seconds, lossSum / Double(max(batches, 1)), accuracy, evalSeconds))
            fflush(nil)
        }
        if let checkpoint {
            try Checkpoint.save(model.stateParameters, metadata: ["model": "fashion-mnist-cnn"], to: checkpoint)
            printError("cnn: weights saved to \(checkpoint)")
        }
    }
}
