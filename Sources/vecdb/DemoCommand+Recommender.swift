import Foundation
import VecDB
import VecDBDatasets
import VecDBKernels
import VecDBRecommend

/// The recommender part of `vecdb demo`: MovieLens-100K evaluated under the README's protocol,
/// then served from the demo database.
extension DemoCommand {
    /// Well-known titles whose similar movies are shown (those present in the catalogue).
    static let knownTitles = ["Star Wars", "Toy Story", "Fargo", "Silence of the Lambs, The"]

    func runRecommender(in database: Database) throws(VecDBError) {
        let dir = try DatasetCatalog().fetch("ml-100k", log: { printError($0) })
        let interactions = try InteractionFileReader.read(dir + "/ml-100k.inter")
        let items = try ItemFileReader.read(dir + "/ml-100k.item")
        let matrix = InteractionMatrix(interactions)
        print(
            "\n== Recommender: MovieLens-100K (\(interactions.count) ratings, \(matrix.userCount) users, "
                + "\(matrix.itemCount) movies) ==")
        print("protocol: every rating a positive; per user a random 80/20 split (seed 42); full ranking, train items excluded")

        // Evaluation beside the baselines.
        let split = try HoldoutSplit.random(matrix, seed: 42)
        let evaluator = RankingEvaluator(split)
        var rows: [RecommendEvalRow] = []
        for kind in BaselineKind.allCases {
            let trained = try BaselineTrainer.train(kind, split: split, validationSeed: 43, threads: 2)
            rows.append(
                RecommendEvalRow(
                    dataset: "ml-100k", model: kind.rawValue, params: trained.params,
                    metrics: evaluator.evaluate(trained.model, threads: 2), trainSeconds: trained.trainSeconds, threads: 2))
        }
        // Two deep models, hyper-parameters and epochs chosen on a validation split from train.
        let features = FeatureEncoder.fitRows(items, keys: matrix.itemKeys)?.rows
        let display = ProgressDisplay()
        for kind in [DeepModelKind.multDAE, .twoTower] {
            let trained = try DeepModelTrainer.train(
                kind, split: split, validationSeed: 43, itemFeatures: features, threads: 2, progress: display.callback)
            display.finish()
            rows.append(
                RecommendEvalRow(
                    dataset: "ml-100k", model: kind.rawValue, params: trained.params,
                    metrics: evaluator.evaluate(trained.model, threads: 2), trainSeconds: trained.trainSeconds, threads: 2))
        }
        print(RecommendCommand.Eval.table(rows))

        // Serving from the database: the interactions recorded durably, a model version trained.
        let recommender = try Recommender.open("movies", in: database)
        defer { recommender.close() }
        try recommender.ingestItems(items)
        var start = 0
        while start < interactions.count {
            try recommender.record(Array(interactions[start..<min(start + 10_000, interactions.count)]))
            start += 10_000
        }
        let t = Date()
        let snapshot = try recommender.train(model: "ease", threads: 2)
        print(
            String(
                format: "\nserving: %d interactions recorded (fsynced batches), EASE version %d trained in %.2f s",
                interactions.count, snapshot.version, Date().timeIntervalSince(t)))

        for title in Self.knownTitles {
            guard let item = items.first(where: { $0.title == title }) else { continue }
            let similar = try snapshot.similarItems(to: item.key, k: 5)
            print("similar to \(title): " + similar.items.map { $0.title ?? "\($0.key)" }.joined(separator: "; "))
        }
        let comedies = try Filter(parsing: "exists genre.Comedy")
        if let starWars = items.first(where: { $0.title == "Star Wars" }) {
            let funny = try snapshot.similarItems(to: starWars.key, k: 5, filter: comedies)
            print("similar to Star Wars, comedies only: " + funny.items.map { $0.title ?? "\($0.key)" }.joined(separator: "; "))
        }

        let user = Key(parsing: "196")
        if let seen = recommender.history(of: user) {
            let titles = seen.prefix(8).map { key in snapshot.payload(of: key)?["title"].flatMap(Self.text) ?? "\(key)" }
            print("\nuser \(user) rated \(seen.count) movies, among them: " + titles.joined(separator: "; "))
            let recs = try snapshot.recommend(user: user, k: 8)
            print("recommended for user \(user) (seen ones excluded):")
            for (i, r) in recs.items.enumerated() {
                print(String(format: "  %2d. %@  (score %.3f)", i + 1, r.title ?? "\(r.key)", r.score))
            }
        }
    }

    static func text(_ p: Payload) -> String? {
        if case .string(let s) = p { return s }
        return nil
    }
}
