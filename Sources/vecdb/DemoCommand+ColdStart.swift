import Foundation
import VecDB
import VecDBDatasets
import VecDBKernels
import VecDBNN
import VecDBRecommend
import VecDBVision

/// The cold-start part of `vecdb demo`: a Fashion-MNIST shop with simulated shoppers, then
/// unseen test images added as new products with no retraining: their visually similar products
/// and the shoppers who now get them.
extension DemoCommand {
    /// The image encoder: trained once on the 60,000 training images and cached next to the data.
    func demoImageEncoder(_ dir: String, cache: String) throws(VecDBError) -> ImageEncoder {
        let path = cache + "/models/image-encoder.safetensors"
        if FileManager.default.fileExists(atPath: path), let encoder = try? ImageEncoder.load(from: path) {
            print("image encoder: cached \(path)")
            return encoder
        }
        try? FileManager.default.createDirectory(atPath: cache + "/models", withIntermediateDirectories: true)
        let images = try ImageReader.read(dir + "/train-images-idx3-ubyte")
        let labels = try IDXFormat.read(dir + "/train-labels-idx1-ubyte").bytes.map { Int32($0) }
        var c = ImageEncoderTrainer.Configuration()
        c.epochs = 8
        BLAS.setThreads(ProcessInfo.processInfo.activeProcessorCount)
        print("image encoder: training on \(images.count) images, \(c.epochs) epochs (once; cached afterwards)")
        let x = try Tensor(shape: [images.count, 1, 28, 28], storage: Array(images.map(ImagePreprocessing.input).joined()))
        let start = Date()
        let encoder = try ImageEncoderTrainer.train(images: x, labels: labels, classes: 10, configuration: c) { epoch, loss in
            printError(String(format: "  epoch %d/%d  loss %.4f  %.0f s", epoch, c.epochs, loss, Date().timeIntervalSince(start)))
        }
        try encoder.save(to: path)
        return encoder
    }

    func runColdStart(in database: Database, dir: String, cache: String) throws(VecDBError) {
        print("\n== Cold start: new products with only a photo ==")
        let encoder = try demoImageEncoder(dir, cache: cache)
        let trainImages = try ImageReader.read(dir + "/train-images-idx3-ubyte")
        let trainLabels = try IDXFormat.read(dir + "/train-labels-idx1-ubyte").bytes.map { Int32($0) }
        let testImages = try ImageReader.read(dir + "/t10k-images-idx3-ubyte")
        let testLabels = try IDXFormat.read(dir + "/t10k-labels-idx1-ubyte").bytes.map { Int32($0) }
        // The shop: 3,000 training images as products, shoppers who each like two classes.
        let products = 3000
        var shoppers = SimulatedShoppers()
        shoppers.users = 500
        let pairs = try shoppers.generate(labels: Array(trainLabels.prefix(products)))
        let shop = try Recommender.open("shop", in: database)
        defer { shop.close() }
        // Products carry only their photo: the class is kept here for display, not given to the model.
        func className(_ key: Key) -> String {
            guard case .int(let k) = key else { return "\(key)" }
            let i = Int(k)
            if i < products { return Self.classes[Int(trainLabels[i])] }
            return i >= 100_000 && i - 100_000 < testLabels.count ? Self.classes[Int(testLabels[i - 100_000])] : "\(key)"
        }
        try shop.record(pairs.map { Interaction(user: .int(UInt64($0.user)), item: .int(UInt64($0.item))) })
        try shop.setImageEncoder(encoder)
        try shop.addImages((0..<products).map { (key: .int(UInt64($0)), image: trainImages[$0]) })
        let t = Date()
        let display = ProgressDisplay()
        let snap = try shop.train(model: "two-tower", threads: 2, progress: display.callback)
        display.finish()
        print(
            String(
                format: "shop: %d products, %d simulated shoppers liking %d classes each (%d interactions); two-tower with "
                    + "image features trained in %.1f s", products, shoppers.users, shoppers.likedClasses, pairs.count,
                Date().timeIntervalSince(t)))
        _ = snap

        // Five unseen test images become products, with no retraining.
        let picks = [0, 1, 2, 3, 4].map { c in testLabels.firstIndex(of: Int32([9, 2, 1, 8, 5][c])) ?? c }
        let keys = picks.map { Key.int(UInt64(100_000 + $0)) }
        let started = Date()
        try shop.addImages(zip(keys, picks).map { (key: $0, image: testImages[$1]) })
        print(
            String(
                format: "added %d new products in %.0f ms (embedded, stored, placed)", keys.count, Date().timeIntervalSince(started) * 1000)
        )
        let now = try shop.snapshot()
        let ascii = isatty(STDOUT_FILENO) == 1
        for (key, i) in zip(keys, picks) {
            print("\nnew product \(key): a \(Self.classes[Int(testLabels[i])]) (test image \(i))")
            if ascii { print(Self.ascii(testImages[i])) }
            let similar = try shop.similarItems(toImage: testImages[i], k: 6).items.filter { $0.key != key }.prefix(5)
            print("  looks like: " + similar.map { className($0.key) }.joined(separator: ", "))
            // Each liked class holds about 600 products, so a new one competes with all of them.
            var reached: [Int] = []
            for u in 0..<shoppers.users {
                let top = try now.recommend(user: .int(UInt64(u)), k: 50)
                if top.keys.contains(key) { reached.append(u) }
            }
            var liked: [String: Int] = [:]
            for u in reached {
                for c in Set(pairs.filter { $0.user == u }.map { trainLabels[$0.item] }) { liked[Self.classes[Int(c)], default: 0] += 1 }
            }
            let top = liked.sorted { $0.value > $1.value }.prefix(3).map { "\($0.key) (\($0.value))" }
            print(
                "  in the top 50 of \(reached.count) of \(shoppers.users) shoppers; the classes they buy most: "
                    + (top.isEmpty ? "none" : top.joined(separator: ", ")))
        }
    }

    /// A 28 × 28 image as 14 lines of 28 characters (two rows per line), dark to light.
    static func ascii(_ image: GreyImage) -> String {
        let ramp = Array(" .:-=+*#%@")
        let p = image.resized(width: 28, height: 28)
        var lines: [String] = []
        for y in stride(from: 0, to: 28, by: 2) {
            lines.append(
                "    " + String((0..<28).map { x in ramp[min(ramp.count - 1, Int((p[y * 28 + x] + p[(y + 1) * 28 + x]) / 2 / 256 * 10))] }))
        }
        return lines.joined(separator: "\n")
    }
}
