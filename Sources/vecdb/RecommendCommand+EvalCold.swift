import Foundation
import VecDB
import VecDBKernels
import VecDBNN
import VecDBRecommend
import VecDBText
import VecDBVision

/// `vecdb recommend eval --protocol cold-items`: 20 % of the items held out entirely.
extension RecommendCommand.Eval {
    /// The models of the cold-item protocol.
    static let coldModels = ["popularity", "random", "content-knn", "title-embedding", "two-tower", "two-tower-title"]

    /// The item-id dropout rates tried for the two-tower on the cold validation split.
    static let itemIDDropouts: [Float] = [0.25, 0.5, 0.75]

    func coldKinds() throws(VecDBError) -> [String] {
        // The weak protocol's default list means "not given": the cold protocol's own models then.
        if models == BaselineKind.allCases.map(\.rawValue).joined(separator: ",") { return Self.coldModels }
        var out: [String] = []
        for name in models.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) {
            guard Self.coldModels.contains(name) else {
                throw VecDBError(
                    .invalidArgument, "unknown model '\(name)' for --protocol cold-items; known: \(Self.coldModels.joined(separator: ", "))"
                )
            }
            if !out.contains(name) { out.append(name) }
        }
        return out
    }

    func evaluateCold() throws(VecDBError) {
        let kinds = try coldKinds()
        let (name, matrix, itemFeatures, userFeatures) = try coldData()
        // all-MiniLM-L6-v2 embeddings of the titles, for the models that read them.
        var titles: [[Float]]?
        if kinds.contains(where: { $0.hasSuffix("title") || $0 == "title-embedding" }) {
            titles = try titleEmbeddings(matrix)
            if titles == nil { printError("no item titles: title-embedding and two-tower-title are skipped") }
        }
        let split = try ColdItemSplit.make(matrix, seed: seed)
        let coldItems = split.isCold.filter { $0 }.count
        printError(
            "\(name): \(matrix.itemCount) items, \(coldItems) held out cold (seed \(seed)); \(split.train.pairCount) warm training pairs, "
                + "\(split.warmTest.pairCount) warm and \(split.coldTest.pairCount) cold test pairs")
        let display = ProgressDisplay()
        var rows: [RecommendEvalRow] = []
        for kind in kinds where titles != nil || !(kind == "title-embedding" || kind == "two-tower-title") {
            let clock = ContinuousClock()
            let start = clock.now
            let model: any ItemScorer
            var params: [String: Double] = [:]
            var trainSeconds: Double
            switch kind {
            case "popularity": model = PopularityModel.fit(split.train)
            case "random":
                model = RandomModel(itemCount: matrix.itemCount, seed: seed)
                params["seed"] = Double(seed)
            case "content-knn":
                model = try ContentKNNModel(features: itemFeatures)
                params["features"] = Double(itemFeatures.first?.count ?? 0)
            case "title-embedding":
                model = try ContentKNNModel(features: titles ?? [])
                params["features"] = Double(titles?.first?.count ?? 0)
            default:
                // two-tower: the feature encoder's columns; two-tower-title: those and the title embedding.
                let features = kind == "two-tower" ? itemFeatures : zip(itemFeatures, titles ?? []).map { $0 + $1 }
                let (tower, rate, validation) = try coldTwoTower(split, features, userFeatures, display)
                model = tower.model
                params = tower.params
                params["item_id_dropout"] = Double(rate)
                params["validation_cold_ndcg_20"] = (validation * 10_000).rounded() / 10_000
            }
            trainSeconds = seconds(clock.now - start)
            var row = RecommendEvalRow(
                dataset: name, model: kind, params: params, metrics: try split.evaluate(model, cold: true, threads: threads),
                trainSeconds: trainSeconds, threads: threads, evaluationProtocol: "cold-items")
            row.setWarm(try split.evaluate(model, cold: false, threads: threads))
            rows.append(row)
        }
        try write(try rows.map { (r: RecommendEvalRow) throws(VecDBError) in try Self.line(r) })
        print("cold items (each user ranks the \(coldItems) held-out items):")
        print(Self.table(rows))
        print("warm items, same models:")
        for r in rows {
            print(
                String(
                    format: "%-12@ ndcg@20 %.4f ± %.4f   recall@20 %.4f ± %.4f", r.model, r.warmNDCG20 ?? 0, r.warmNDCG20SE ?? 0,
                    r.warmRecall20 ?? 0, r.warmRecall20SE ?? 0))
        }
    }

    /// all-MiniLM-L6-v2 embeddings of the items' titles in the matrix's item order (an empty
    /// title for an item without one), or nil when the item file has no titles.
    func titleEmbeddings(_ matrix: InteractionMatrix) throws(VecDBError) -> [[Float]]? {
        if dataset == "fashion-mnist-784" { return nil }
        let (_, _, itemPath) = try sources()
        guard let itemPath else { return nil }
        let records = try ItemFileReader.read(itemPath, keyColumn: itemColumn)
        var byKey: [Key: String] = [:]
        for r in records { if let t = r.title { byKey[r.key] = t } }
        guard !byKey.isEmpty else { return nil }
        let encoder = try TextEncoder.miniLM(threads: threads)
        let start = ContinuousClock().now
        let vectors = try encoder.embed(matrix.itemKeys.map { byKey[$0] ?? "" })
        printError(
            String(
                format: "embedded %d titles with %@ in %.1f s", vectors.count, encoder.modelName,
                seconds(ContinuousClock().now - start)))
        return vectors
    }

    /// The interactions and features: a MovieLens-style data set with its item (and user) file,
    /// or Fashion-MNIST's test images as a catalogue with simulated users (``SimulatedShoppers``)
    /// and the image encoder's embeddings as item features.
    func coldData() throws(VecDBError) -> (name: String, matrix: InteractionMatrix, items: [[Float]], users: [[Float]]?) {
        if dataset == "fashion-mnist-784" {
            let data = try visualData()
            let classes = Int((data.trainLabels.max() ?? 0) + 1)
            let encoder: ImageEncoder
            if let path = visual.encoder {
                encoder = try ImageEncoder.load(from: path)
            } else {
                var c = ImageEncoderTrainer.Configuration()
                c.epochs = visual.epochs
                c.seed = seed
                BLAS.setThreads(threads)
                let x = try Tensor(shape: [data.train.count, 1, 28, 28], storage: Array(data.train.map(ImagePreprocessing.input).joined()))
                encoder = try ImageEncoderTrainer.train(images: x, labels: data.trainLabels, classes: classes, configuration: c) {
                    epoch, loss in printError(String(format: "image encoder epoch %d/%d  loss %.4f", epoch, c.epochs, loss))
                }
                if let path = visual.checkpoint { try encoder.save(to: path) }
            }
            var shoppers = SimulatedShoppers()
            shoppers.seed = seed
            let pairs = try shoppers.generate(labels: data.testLabels)
            printError(
                "fashion-mnist-784: \(data.test.count) test images as products, \(shoppers.users) simulated users liking "
                    + "\(shoppers.likedClasses) classes each, \(shoppers.interactions) interactions, noise \(shoppers.noise), "
                    + "seed \(shoppers.seed): \(pairs.count) interactions")
            let matrix = InteractionMatrix(userCount: shoppers.users, itemCount: data.test.count, pairs: pairs)
            return (dataset ?? "", matrix, try encoder.embed(data.test), nil)
        }
        let (name, interactionPath, _) = try sources()
        let data = try InteractionFileReader.read(interactionPath, columns: InteractionColumns(user: userColumn, item: itemColumn))
        let matrix = InteractionMatrix(data)
        let (itemFeatures, userFeatures) = try sideFeatures(matrix)
        guard let itemFeatures else {
            throw VecDBError(.invalidArgument, "--protocol cold-items needs item features: give --items FILE (or a data set with them)")
        }
        return (name, matrix, itemFeatures, userFeatures)
    }

    /// The two-tower with its item-id dropout chosen on a cold validation split carved from the
    /// warm training items (20 % of them held out), by NDCG@20 on those items; then refitted on
    /// all of train with that rate.
    func coldTwoTower(_ split: ColdItemSplit, _ itemFeatures: [[Float]], _ userFeatures: [[Float]]?, _ display: ProgressDisplay)
        throws(VecDBError) -> (model: TrainedDeepModel, rate: Float, validation: Double)
    {
        let inner = try ColdItemSplit.make(split.train, seed: seed &+ 2, excluded: split.isCold)
        var best: (rate: Float, ndcg: Double) = (Self.itemIDDropouts[0], -1)
        for rate in Self.itemIDDropouts {
            let trained = try DeepModelTrainer.train(
                .twoTower, split: inner.warmSplit, validationSeed: seed &+ 3,
                itemFeatures: itemFeatures, userFeatures: userFeatures, grid: DeepModelGrid(itemIDDropout: rate), threads: threads,
                progress: display.callback)
            display.finish()
            let ndcg = try inner.evaluate(trained.model, cold: true, threads: threads).ndcg20.mean
            printError(String(format: "two-tower item-id dropout %.2f: validation cold ndcg@20 %.4f", rate, ndcg))
            if ndcg > best.ndcg { best = (rate, ndcg) }
        }
        let final = try DeepModelTrainer.train(
            .twoTower, split: split.warmSplit, validationSeed: seed &+ 1,
            itemFeatures: itemFeatures, userFeatures: userFeatures, grid: DeepModelGrid(itemIDDropout: best.rate), threads: threads,
            progress: display.callback)
        display.finish()
        return (final, best.rate, best.ndcg)
    }
}
