import Testing
import VecDBKernels
import VecDBStorage
import VecDBTestSupport

@testable import VecDBRecommend

@Suite("Baseline models against independent oracles")
struct BaselineModelTests {
    static let data = SyntheticInteractions.make(users: 50, items: 24, perUser: 9, seed: 11)

    /// Co-occurrence counts by brute force, in Double.
    static func gram(_ x: InteractionMatrix) -> [[Double]] {
        var g = [[Double]](repeating: [Double](repeating: 0, count: x.itemCount), count: x.itemCount)
        for u in 0..<x.userCount {
            let items = x.items(ofUser: u)
            for i in items { for j in items { g[Int(i)][Int(j)] += 1 } }
        }
        return g
    }

    /// The inverse by Gauss–Jordan elimination with partial pivoting, in Double.
    static func gaussJordanInverse(_ a: [[Double]]) -> [[Double]] {
        let n = a.count
        var m = a.enumerated().map { i, row in row + (0..<n).map { $0 == i ? 1.0 : 0.0 } }
        for c in 0..<n {
            let p = (c..<n).max { abs(m[$0][c]) < abs(m[$1][c]) } ?? c
            m.swapAt(c, p)
            let d = m[c][c]
            for j in 0..<(2 * n) { m[c][j] /= d }
            for r in 0..<n where r != c {
                let f = m[r][c]
                if f != 0 { for j in 0..<(2 * n) { m[r][j] -= f * m[c][j] } }
            }
        }
        return m.map { Array($0[n...]) }
    }

    @Test func gramMatchesCounts() {
        let g = ItemGram.compute(Self.data)
        let oracle = Self.gram(Self.data)
        let n = Self.data.itemCount
        for i in 0..<n { for j in 0..<n { #expect(Double(g[i * n + j]) == oracle[i][j]) } }
    }

    @Test func popularityIsExact() {
        let x = InteractionMatrix(userCount: 3, itemCount: 4, pairs: [(0, 1), (1, 1), (2, 1), (0, 3), (2, 3), (1, 0)])
        let m = PopularityModel.fit(x)
        #expect(m.scores(history: [1]) == [1, 3, 0, 2])
        var top: [Int32] = []
        RankingEvaluator.topK(m.scores(history: []), excluding: [], k: 4, into: &top)
        #expect(top == [1, 3, 0, 2])
    }

    @Test(arguments: [(3, Float(0)), (5, Float(10)), (30, Float(2))])
    func itemKNNMatchesBruteForceCosine(neighbours: Int, shrinkage: Float) throws {
        let x = Self.data
        let n = x.itemCount
        let g = Self.gram(x)
        let model = try ItemKNNModel.fit(x, neighbours: neighbours, shrinkage: shrinkage)
        // Brute force: every similarity, then each item's `neighbours` best (ties to lower index).
        var kept = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for i in 0..<n {
            let sims = (0..<n).map { j -> Double in
                let d = (g[i][i] * g[j][j]).squareRoot() + Double(shrinkage)
                return j == i || d == 0 ? 0 : g[i][j] / d
            }
            let order = (0..<n).filter { $0 != i && sims[$0] > 0 }
                .sorted { sims[$0] != sims[$1] ? sims[$0] > sims[$1] : $0 < $1 }
            for j in order.prefix(neighbours) { kept[i][j] = sims[j] }
        }
        for u in 0..<5 {
            let history = Array(x.items(ofUser: u))
            let scores = model.scores(history: history)
            for j in 0..<n {
                let expected = history.reduce(0.0) { $0 + kept[Int($1)][j] }
                #expect(abs(Double(scores[j]) - expected) < 1e-5, "user \(u) item \(j)")
            }
        }
        #expect(model.neighbours(of: 0).count <= neighbours)
        expectVecDBError(.invalidArgument) { try ItemKNNModel.fit(x, neighbours: 0) }
    }

    @Test(arguments: [Float(1), Float(20), Float(400)])
    func easeMatchesClosedForm(lambda: Float) throws {
        let x = Self.data
        let n = x.itemCount
        var a = Self.gram(x)
        for i in 0..<n { a[i][i] += Double(lambda) }
        let p = Self.gaussJordanInverse(a)
        let model = try EASEModel.fit(x, lambda: lambda)
        var worst = 0.0
        for i in 0..<n {
            for j in 0..<n {
                let b = i == j ? 0 : -p[i][j] / p[j][j]
                worst = max(worst, abs(Double(model.weights[i * n + j]) - b))
            }
        }
        #expect(worst < 2e-4, "largest difference from the closed form: \(worst)")
        let history = Array(x.items(ofUser: 3))
        let scores = model.scores(history: history)
        for j in 0..<n {
            let expected = history.reduce(0.0) { s, i in s + (Int(i) == j ? 0 : -p[Int(i)][j] / p[j][j]) }
            #expect(abs(Double(scores[j]) - expected) < 1e-3)
        }
        expectVecDBError(.invalidArgument) { try EASEModel.fit(x, lambda: 0) }
        expectVecDBError(.invalidArgument) { try EASEModel.fit(x, lambda: .nan) }
    }

    @Test(arguments: [false, true])
    func symmetricInverse(fallback: Bool) throws {
        var rng = SeededGenerator(seed: 5)
        let n = 37
        let r = (0..<(n * n)).map { _ in Double(rng.nextGaussian()) }
        var a = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for i in 0..<n { for j in 0..<n { a[i][j] = (0..<n).reduce(0.0) { $0 + r[i * n + $1] * r[j * n + $1] } + (i == j ? 5 : 0) } }
        var m = a.flatMap { $0.map { Float($0) } }
        try SymmetricInverse.invert(&m, n: n, fallback: fallback)
        let oracle = Self.gaussJordanInverse(a)
        for i in 0..<n { for j in 0..<n { #expect(abs(Double(m[i * n + j]) - oracle[i][j]) < 1e-4) } }
        var indefinite: [Float] = [1, 2, 2, 1]
        expectVecDBError(.invalidArgument, containing: "not positive definite") {
            try SymmetricInverse.invert(&indefinite, n: 2, fallback: fallback)
        }
    }

    @Test func trainerChoosesOnValidationAndBeatsPopularity() throws {
        let data = SyntheticInteractions.make(users: 200, items: 60, perUser: 15, seed: 2)
        let split = try HoldoutSplit.random(data, seed: 42)
        let evaluator = RankingEvaluator(split)
        let grid = BaselineGrid(easeLambdas: [5, 50, 500], knnNeighbours: [10, 30], knnShrinkages: [0, 10])
        let pop = try BaselineTrainer.train(.popularity, split: split, validationSeed: 43, grid: grid)
        let ease = try BaselineTrainer.train(.ease, split: split, validationSeed: 43, grid: grid)
        let knn = try BaselineTrainer.train(.itemknn, split: split, validationSeed: 43, grid: grid)
        #expect([5, 50, 500].contains(ease.params["lambda"] ?? -1))
        #expect([10, 30].contains(knn.params["neighbours"] ?? -1))
        let p = evaluator.evaluate(pop.model).ndcg10.mean
        #expect(evaluator.evaluate(ease.model).ndcg10.mean > p)
        #expect(evaluator.evaluate(knn.model).ndcg10.mean > p)
    }

    @Test func unknownModelListsKnownOnes() {
        expectVecDBError(.invalidArgument, containing: "unknown model 'als'; known models: popularity, itemknn, ease") {
            try BaselineKind(parsing: "als")
        }
    }
}
