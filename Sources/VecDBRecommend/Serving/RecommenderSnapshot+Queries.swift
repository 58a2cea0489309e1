import VecDB
import VecDBKernels

extension RecommenderSnapshot {
    /// Recommends items for a recorded user, as implicit's `recommend` does: the model scores
    /// every item from the user's history, then the user's seen items, `exclude`, items
    /// outside `include` and items whose payload fails `filter` are removed.
    ///
    /// Items the user interacted with after this version was trained are excluded too; those
    /// the model does not know do not take part in scoring.
    ///
    /// - Parameters:
    ///   - user: a user with recorded interactions.
    ///   - k: how many items, ≥ 1.
    ///   - filter: a predicate on item payloads (`genres = "Comedy"`, `year >= 1990`).
    ///   - include: when given, only these items may be recommended.
    ///   - exclude: items never recommended.
    /// - Returns: up to `k` items, best first; unknown keys of `include`/`exclude` in
    ///   ``RecommendationList/skipped``.
    /// - Throws: ``VecDBError/Code/notFound`` for a user without interactions,
    ///   ``VecDBError/Code/invalidArgument`` for `k` < 1.
    /// - Complexity: one scoring of the model, then O(items × log k).
    public func recommend(
        user: Key, k: Int, filter: Filter? = nil, include: [Key]? = nil, exclude: [Key] = []
    ) throws(VecDBError) -> RecommendationList {
        guard let history = histories.items(of: user) else {
            throw VecDBError(.notFound, "user '\(user)' has no recorded interactions")
        }
        return try rank(history: history, reportHistory: false, k: k, filter: filter, include: include, exclude: exclude)
    }

    /// Recommends items for a user the model has never seen, from their history, without
    /// retraining (fold-in: the model's `score(history:)`, x·B for EASE).
    ///
    /// - Parameters:
    ///   - history: item keys the user interacted with; they are not recommended.
    ///   - k: how many items, ≥ 1.
    ///   - filter: a predicate on item payloads.
    ///   - include: when given, only these items may be recommended.
    ///   - exclude: items never recommended.
    /// - Returns: up to `k` items, best first; unknown history keys in ``RecommendationList/skipped``.
    /// - Throws: ``VecDBError/Code/invalidArgument`` for `k` < 1.
    /// - Complexity: one scoring of the model, then O(items × log k).
    public func recommend(
        history: [Key], k: Int, filter: Filter? = nil, include: [Key]? = nil, exclude: [Key] = []
    ) throws(VecDBError) -> RecommendationList {
        try rank(history: history, reportHistory: true, k: k, filter: filter, include: include, exclude: exclude)
    }

    /// Recommends the next items of an anonymous session (no user row): its items in the order
    /// they happened, most recent last. A sequence model (GRU4Rec, SASRec) reads the order; the
    /// other models read the items as a set, as ``recommend(history:k:filter:include:exclude:)``.
    ///
    /// - Parameters:
    ///   - sequence: the session's item keys, oldest first; they are not recommended.
    ///   - k: how many items, ≥ 1.
    ///   - filter: a predicate on item payloads.
    ///   - include: when given, only these items may be recommended.
    ///   - exclude: items never recommended.
    /// - Returns: up to `k` items, best first; unknown keys in ``RecommendationList/skipped``
    ///   (the rest of the sequence keeps its order).
    /// - Throws: ``VecDBError/Code/invalidArgument`` for `k` < 1.
    /// - Complexity: one scoring of the model (a sequence model reads the last `maxLength` items),
    ///   then O(items × log k).
    public func recommend(
        sequence: [Key], k: Int, filter: Filter? = nil, include: [Key]? = nil, exclude: [Key] = []
    ) throws(VecDBError) -> RecommendationList {
        try rank(history: sequence, reportHistory: true, k: k, filter: filter, include: include, exclude: exclude)
    }

    func rank(
        history: [Key], reportHistory: Bool, k: Int, filter: Filter?, include: [Key]?, exclude: [Key]
    ) throws(VecDBError) -> RecommendationList {
        try Self.check(k: k)
        var skipped: [Key] = []
        var ignored: [Key] = []
        let h = reportHistory ? indices(of: history, skipped: &skipped) : indices(of: history, skipped: &ignored)
        var allowed = [Bool](repeating: include == nil, count: itemCount)
        if let include { for i in indices(of: include, skipped: &skipped) { allowed[Int(i)] = true } }
        for i in h { allowed[Int(i)] = false }
        for i in indices(of: exclude, skipped: &skipped) { allowed[Int(i)] = false }
        var scores = [Float](repeating: 0, count: itemCount)
        model.score(history: h[...], into: &scores)
        let items = scores.withUnsafeBufferPointer { top(k, scores: $0, allowed: allowed, filter: filter) }
        return RecommendationList(items: items, skipped: skipped, version: version)
    }

    /// Items similar to `item`, as implicit's `similar_items`: in an embedding space by inner
    /// product (HNSW search), or, for a score-only model without a space, by the model's
    /// scores for a history of that one item (item-kNN's similarities, EASE's row of B).
    ///
    /// - Parameters:
    ///   - item: an item of the catalogue; never in its own result.
    ///   - k: how many items, ≥ 1.
    ///   - filter: a predicate on item payloads.
    ///   - space: the embedding space; `nil` for the model's own (or its scores).
    /// - Returns: up to `k` items, most similar first.
    /// - Throws: ``VecDBError/Code/notFound`` for an unknown item or space,
    ///   ``VecDBError/Code/invalidArgument`` for `k` < 1.
    /// - Complexity: one HNSW search (exact re-scan when a filter leaves too few), or one scoring.
    public func similarItems(to item: Key, k: Int, filter: Filter? = nil, space: String? = nil) throws(VecDBError) -> RecommendationList {
        try Self.check(k: k)
        let i = try index(of: item)
        var allowed = [Bool](repeating: true, count: itemCount)
        allowed[Int(i)] = false
        if space == nil && spaces.keys.allSatisfy({ $0 == "image" }) {
            var scores = [Float](repeating: 0, count: itemCount)
            model.score(history: [i], into: &scores)
            let items = scores.withUnsafeBufferPointer { top(k, scores: $0, allowed: allowed, filter: filter) }
            return RecommendationList(items: items, version: version)
        }
        let s = try self.space(space)
        let items = try search(s, query: Array(s.vector(Int(i))), k: k, allowed: allowed, excluded: 1, filter: filter)
        return RecommendationList(items: items, version: version)
    }

    /// Items whose embedding in `space` is nearest to a raw vector `query` by inner product (an
    /// image embedding for the `image` space, say).
    ///
    /// - Throws: ``VecDBError/Code/notFound`` for an unknown space; ``VecDBError/Code/dimensionMismatch``
    ///   or ``VecDBError/Code/nonFiniteValue`` for a bad vector; ``VecDBError/Code/invalidArgument``.
    public func similarItems(toVector query: [Float], k: Int, filter: Filter? = nil, space: String) throws(VecDBError)
        -> RecommendationList
    {
        try Self.check(k: k)
        let s = try self.space(space)
        try s.validate(query, what: "the query vector")
        let allowed = [Bool](repeating: true, count: itemCount)
        return RecommendationList(items: try search(s, query: query, k: k, allowed: allowed, excluded: 0, filter: filter), version: version)
    }

    /// Items similar to `item` in several embedding spaces at once: a candidate's score is
    /// Σ weight × (inner product with `item` in that space).
    ///
    /// - Parameters:
    ///   - item: an item of the catalogue.
    ///   - k: how many items, ≥ 1.
    ///   - filter: a predicate on item payloads.
    ///   - weights: weight per space name (finite).
    /// - Returns: up to `k` items, best blended score first.
    /// - Throws: ``VecDBError/Code/notFound`` for an unknown item or space,
    ///   ``VecDBError/Code/nonFiniteValue`` for a weight, ``VecDBError/Code/invalidArgument``.
    /// - Complexity: exact over the catalogue: O(items × Σ dimensions).
    public func similarItems(to item: Key, k: Int, filter: Filter? = nil, weights: [String: Float]) throws(VecDBError)
        -> RecommendationList
    {
        try Self.check(k: k)
        guard !weights.isEmpty else { throw VecDBError(.invalidArgument, "blending needs at least one space") }
        let i = Int(try index(of: item))
        var blend: [(EmbeddingSpace, [Float], Float)] = []
        for (name, w) in weights.sorted(by: { $0.key < $1.key }) {
            guard w.isFinite else { throw VecDBError(.nonFiniteValue, "the weight of space '\(name)' is \(w)") }
            let s = try space(name)
            blend.append((s, Array(s.vector(i)), w))
        }
        var allowed = [Bool](repeating: true, count: itemCount)
        allowed[i] = false
        var scores = [Float](repeating: 0, count: itemCount)
        for (s, q, w) in blend {
            for j in 0..<itemCount { scores[j] += w * s.dot(j, q) }
        }
        let items = scores.withUnsafeBufferPointer { top(k, scores: $0, allowed: allowed, filter: filter) }
        return RecommendationList(items: items, version: version)
    }

    /// Recommends from examples, as Qdrant does: positive and negative items (by key) or raw
    /// vectors in one embedding space, combined by `strategy`. Example items are never
    /// recommended; unknown keys are skipped and reported.
    ///
    /// - Parameters:
    ///   - positive: what the result should be like.
    ///   - negative: what it should not be like.
    ///   - k: how many items, ≥ 1.
    ///   - filter: a predicate on item payloads.
    ///   - strategy: ``ExampleStrategy/averageVector`` (HNSW search) or
    ///     ``ExampleStrategy/bestScore`` (exact).
    ///   - space: the embedding space; `nil` for the model's own.
    /// - Returns: up to `k` items; unknown example keys in ``RecommendationList/skipped`` (an
    ///   empty list when no example is left).
    /// - Throws: ``VecDBError/Code/notFound`` for an unknown space,
    ///   ``VecDBError/Code/dimensionMismatch`` or ``VecDBError/Code/nonFiniteValue`` for a bad
    ///   raw vector, ``VecDBError/Code/invalidArgument`` for `k` < 1 or no examples.
    /// - Complexity: averageVector: one HNSW search; bestScore: O(items × examples × dimension).
    public func recommend(
        positive: [RecommendationExample], negative: [RecommendationExample] = [], k: Int, filter: Filter? = nil,
        strategy: ExampleStrategy = .averageVector, space: String? = nil
    ) throws(VecDBError) -> RecommendationList {
        try Self.check(k: k)
        guard !positive.isEmpty || (strategy == .bestScore && !negative.isEmpty) else {
            throw VecDBError(.invalidArgument, "a from-examples query (\(strategy.rawValue)) needs at least one positive example")
        }
        let s = try self.space(space)
        var skipped: [Key] = []
        var allowed = [Bool](repeating: true, count: itemCount)
        var excluded = 0
        func resolve(_ examples: [RecommendationExample], _ what: String) throws(VecDBError) -> [[Float]] {
            var out: [[Float]] = []
            for (n, e) in examples.enumerated() {
                switch e {
                case .item(let key):
                    guard let i = itemIndex[key] else {
                        if !skipped.contains(key) { skipped.append(key) }
                        continue
                    }
                    if allowed[Int(i)] { excluded += 1 }
                    allowed[Int(i)] = false
                    out.append(Array(s.vector(Int(i))))
                case .vector(let v):
                    try s.validate(v, what: "\(what) example \(n)")
                    out.append(v)
                }
            }
            return out
        }
        let pos = try resolve(positive, "positive")
        let neg = try resolve(negative, "negative")
        if pos.isEmpty && (strategy == .averageVector || neg.isEmpty) {
            return RecommendationList(items: [], skipped: skipped, version: version)
        }
        let items: [Recommendation]
        switch strategy {
        case .averageVector:
            let p = Self.mean(pos, dimension: s.dimension)
            var q = p
            if !neg.isEmpty {
                let n = Self.mean(neg, dimension: s.dimension)
                for j in 0..<s.dimension { q[j] = p[j] + (p[j] - n[j]) }
            }
            items = try search(s, query: q, k: k, allowed: allowed, excluded: excluded, filter: filter)
        case .bestScore:
            var scores = [Float](repeating: 0, count: itemCount)
            for i in 0..<itemCount where allowed[i] {
                var bp = -Float.infinity
                var bn = -Float.infinity
                for v in pos { bp = max(bp, s.dot(i, v)) }
                for v in neg { bn = max(bn, s.dot(i, v)) }
                scores[i] = neg.isEmpty || bp > bn ? bp : -(bn * bn)
            }
            items = scores.withUnsafeBufferPointer { top(k, scores: $0, allowed: allowed, filter: filter) }
        }
        return RecommendationList(items: items, skipped: skipped, version: version)
    }

    static func mean(_ vs: [[Float]], dimension: Int) -> [Float] {
        var m = [Float](repeating: 0, count: dimension)
        for v in vs { for j in 0..<dimension { m[j] += v[j] } }
        let c = Float(max(1, vs.count))
        return m.map { $0 / c }
    }

    static func check(k: Int) throws(VecDBError) {
        guard k >= 1 else { throw VecDBError(.invalidArgument, "k must be at least 1, got \(k)") }
    }

    func index(of item: Key) throws(VecDBError) -> Int32 {
        guard let i = itemIndex[item] else {
            throw VecDBError(.notFound, "item '\(item)' is not in the catalogue of model version \(version) (\(kind))")
        }
        return i
    }

    /// The `k` best allowed items by inner product with `q` in space `s`: an HNSW search over
    /// the space's collection, post-filtered, with an exact scan when too few survive.
    func search(
        _ s: EmbeddingSpace, query q: [Float], k: Int, allowed: [Bool], excluded: Int, filter: Filter?
    ) throws(VecDBError) -> [Recommendation] {
        if let c = s.collection {
            var want = min(itemCount, k + excluded)
            if filter != nil { want = min(itemCount, max(want * 4, want + 32)) }
            let hits = try c.search(q, k: want, options: SearchOptions(width: max(Collection.defaultEF, want)))
            var out: [Recommendation] = []
            for h in hits {
                guard let i = itemIndex[h.key].map({ Int($0) }), allowed[i] else { continue }
                if let filter, !filter.matches(payloads[i]) { continue }
                out.append(Recommendation(key: h.key, score: -h.distance, payload: payloads[i]))
                if out.count == k { return out }
            }
            if hits.count < want { return out }
        }
        var scores = [Float](repeating: 0, count: itemCount)
        for i in 0..<itemCount where allowed[i] { scores[i] = s.dot(i, q) }
        return scores.withUnsafeBufferPointer { top(k, scores: $0, allowed: allowed, filter: filter) }
    }
}
