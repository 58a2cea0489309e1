import Testing
import VecDBKernels

@testable import VecDBRecommend

/// The strong-generalisation protocol: held-out users unseen in training, folded in at scoring.
@Suite("strong generalisation")
struct StrongGeneralizationTests {
    /// 60 users, 50 items: user u likes the items of its taste group (u % 5) plus a few others.
    static func data() -> InteractionMatrix {
        var g = SeededGenerator(seed: 8)
        var pairs: [(user: Int, item: Int)] = []
        for u in 0..<60 {
            var items = Set((0..<10).map { ($0 * 5 + u % 5) })
            for _ in 0..<3 { items.insert(Int(g.next() % 50)) }
            pairs += items.map { (u, $0) }
        }
        return InteractionMatrix(userCount: 60, itemCount: 50, pairs: pairs)
    }

    @Test("held-out users are unseen in training; fold-in and test partition their items")
    func partition() throws {
        let data = Self.data()
        let s = try StrongGeneralizationSplit.random(data, heldOutFraction: 0.1, seed: 3)
        #expect(s.heldOutUsers.count == 6)
        #expect(s.heldOutUsers == s.heldOutUsers.sorted())
        let held = Set(s.heldOutUsers)
        for u in 0..<data.userCount {
            let all = Set(data.items(ofUser: u))
            if held.contains(u) {
                #expect(s.fit.train.items(ofUser: u).isEmpty)
                let f = Set(s.foldIn.items(ofUser: u))
                let t = Set(s.test.items(ofUser: u))
                #expect(f.isDisjoint(with: t) && f.union(t) == all)
                #expect(t.count == Int((Double(all.count) * 0.2 - 1e-9).rounded(.up)))
            } else {
                #expect(Set(s.fit.train.items(ofUser: u)) == all)
                #expect(s.foldIn.items(ofUser: u).isEmpty && s.test.items(ofUser: u).isEmpty)
            }
        }
        let again = try StrongGeneralizationSplit.random(data, heldOutFraction: 0.1, seed: 3)
        #expect(again.heldOutUsers == s.heldOutUsers && again.test == s.test)
        #expect(throws: VecDBError.self) { try StrongGeneralizationSplit.random(data, heldOutFraction: 1, seed: 3) }
    }

    @Test("EASE fitted without the held-out users ranks their test items from the fold-in history")
    func foldInEvaluation() throws {
        let data = Self.data()
        let s = try StrongGeneralizationSplit.random(data, heldOutFraction: 0.1, seed: 3)
        let ease = try EASEModel.fit(s.fit.train, lambda: 10)
        let metrics = s.evaluator.evaluate(ease)
        #expect(metrics.users == s.heldOutUsers.count)
        // The taste groups are learnt from the other users, so a folded-in user's held-back
        // group items rank far above popularity, which ignores the history.
        let popularity = s.evaluator.evaluate(PopularityModel.fit(s.fit.train))
        #expect(metrics.recall10.mean > 0.8)
        #expect(metrics.recall10.mean > popularity.recall10.mean + 0.3)
    }
}
