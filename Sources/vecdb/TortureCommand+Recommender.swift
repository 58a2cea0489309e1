import Foundation
import VecDB
import VecDBCrashData
import VecDBKernels
import VecDBRecommend

/// The recommender half of the crash soak: the writer records the workload's interactions and
/// trains or refreshes `torture-rec` (Mult-DAE); after each kill the checker compares the
/// interaction log, the published version and its embedding collection with the workload.
extension TortureWorkload {
    /// The model the soak trains: an ``EmbeddingScorer`` whose refresh fine-tunes the previous
    /// version, so a kill can fall in training, in the embedding collection's build, or in the
    /// manifest's replacement.
    static let model = "mult-dae"

    /// Runs operation `b` on the collection or the recommender. `redo` is true for the first
    /// operation of a writer, which may have committed just before the previous writer was
    /// killed: a batch of interactions whose timestamp is already the log's last is not recorded
    /// again (as an application would with an idempotency key).
    func run(_ b: UInt64, on c: Collection, recommender: Recommender, redo: Bool) throws(VecDBError) {
        switch operation(b) {
        case .record(let batch):
            if redo, recommender.log.interactions.last?.timestamp == Int64(b) { return }
            try recommender.record(batch.map(\.interaction))
        case .refresh:
            if recommender.version == nil { try recommender.train(model: Self.model) } else { try recommender.refresh() }
        default:
            try run(b, on: c)
        }
    }

    /// The sorted distinct items of the interactions recorded before operation `b`: the
    /// catalogue a training at `b` sees.
    func catalogue(before b: UInt64) -> [Key] {
        Set(interactions(through: Int64(b) - 1).map(\.item)).sorted().map { .int($0) }
    }
}

extension TortureInteraction {
    var interaction: Interaction { Interaction(user: .int(user), item: .int(item), timestamp: timestamp) }
}

extension TortureCommand {
    /// Checks the recommender after a kill, opening it as a restarting writer would.
    ///
    /// - The log holds exactly the acknowledged batches, or those and the batch in flight.
    /// - A model exists once a refresh was acknowledged, and none before one ran; its version
    ///   counts at least the acknowledged refreshes; its catalogue is what the last acknowledged
    ///   refresh (or the one in flight) saw.
    /// - Its embedding collection holds the model's item embeddings bit for bit, with an HNSW
    ///   index that agrees with exact search; no other version's collection or file is left.
    /// - A user's recommendations exclude the items they have seen.
    static func checkRecommender(
        _ database: Database, workload: TortureWorkload, lastAck: Int64, g: inout SeededGenerator
    ) throws -> (problems: [String], recall: Double?) {
        let rec = try Recommender.open(TortureWorkload.recommender, in: database)
        defer { rec.close() }
        var problems: [String] = []
        let logged = rec.log.interactions
        let acked = workload.interactions(through: lastAck).map(\.interaction)
        let withInFlight = workload.interactions(through: lastAck + 1).map(\.interaction)
        if logged != acked && logged != withInFlight {
            problems.append(
                "the interaction log holds \(logged.count) interactions, expected \(acked.count) or \(withInFlight.count) "
                    + "(first difference at \(zip(logged, acked).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(logged.count, acked.count)))"
            )
        }
        let refreshes = workload.refreshes(through: lastAck)
        let inFlight: UInt64? = workload.refreshes(through: lastAck + 1).last.flatMap { $0 == UInt64(lastAck + 1) ? $0 : nil }
        guard let version = rec.version else {
            if !refreshes.isEmpty { problems.append("\(refreshes.count) refreshes were acknowledged but no model is published") }
            return (problems, nil)
        }
        guard !refreshes.isEmpty || inFlight != nil else {
            return (problems + ["model version \(version) is published but no refresh has run"], nil)
        }
        if version < UInt64(refreshes.count) {
            problems.append("model version \(version) after \(refreshes.count) acknowledged refreshes: a published version was lost")
        }
        let snap = try rec.snapshot()
        let catalogues = (refreshes.suffix(1) + (inFlight.map { [$0] } ?? [])).map { workload.catalogue(before: $0) }
        if !catalogues.contains(snap.itemKeys) {
            problems.append("model version \(version) scores \(snap.itemKeys.count) items, not the catalogue of its refresh")
        }
        guard let model = snap.model as? any EmbeddingScorer else { return (problems + ["the model has no embeddings"], nil) }
        let space = try ModelRegistry.kind(named: snap.kind).space
        let name = "\(TortureWorkload.recommender).items.\(space).v\(version)"
        let others = database.collectionNames().filter { $0.hasPrefix(TortureWorkload.recommender + ".items.") && $0 != name }
        if !others.isEmpty { problems.append("collections of other versions remain: \(others)") }
        let files = try FileManager.default.contentsOfDirectory(atPath: rec.directory).filter { $0.hasPrefix("model-") }
        if files.count != 1 { problems.append("\(files.count) model version files instead of 1: \(files.sorted())") }
        guard database.collectionNames().contains(name) else { return (problems + ["collection \(name) is missing"], nil) }
        let c = try database.collection(name)
        let rows = model.itemEmbeddings()
        if c.count != rows.count { problems.append("\(name) holds \(c.count) embeddings, the model \(rows.count)") }
        for (key, row) in zip(snap.itemKeys, rows) where try c.get(key)?.vector != row {
            problems.append("\(name): the embedding of item \(key) is not the model's")
            break
        }
        let users = rec.users()
        guard !users.isEmpty else { return (problems + ["model version \(version) is published but no user has interactions"], nil) }
        let user = users[Int(g.next() % UInt64(users.count))]
        let seen = Set(rec.history(of: user) ?? [])
        let recommended = try rec.recommend(user: user, k: 10).items.map(\.key)
        if recommended.contains(where: seen.contains) { problems.append("user \(user) was recommended an item they have seen") }
        if recommended.count != min(10, snap.itemKeys.count - seen.count) {
            problems.append("user \(user) got \(recommended.count) recommendations")
        }
        guard c.index != nil else { return (problems + ["\(name) has no index"], nil) }
        var hits = 0
        var total = 0
        for _ in 0..<5 {
            let q = rows[Int(g.next() % UInt64(rows.count))]
            let exact = Set(try c.search(q, k: 10, options: SearchOptions(exact: true)).map(\.key))
            hits += try c.search(q, k: 10).filter { exact.contains($0.key) }.count
            total += exact.count
        }
        let recall = Double(hits) / Double(max(1, total))
        if recall < 0.9 { problems.append("\(name): index recall@10 against exact search is \(recall)") }
        return (problems, recall)
    }
}
