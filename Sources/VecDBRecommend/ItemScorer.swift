import VecDBKernels

/// A fitted model that scores every item for a user given the user's history.
///
/// Scores are comparable within one call only: higher is better. Items the user has already
/// seen are not excluded here; the caller (the evaluator, or serving) does that.
public protocol ItemScorer: Sendable {
    /// The number of items scored (the training matrix's items).
    var itemCount: Int { get }

    /// Writes a score for every item into `scores` (whose count is ``itemCount``).
    ///
    /// - Parameters:
    ///   - history: item indices the user interacted with.
    ///   - scores: overwritten with one score per item.
    func score(history: ArraySlice<Int32>, into scores: inout [Float])

    /// Writes a score for every item for user `user` of the matrix the model was fitted on, so
    /// that a model with per-user parameters (an id embedding, user features) can use them.
    /// By default the user is ignored and this is ``score(history:into:)``.
    ///
    /// - Parameters:
    ///   - user: the user's index in the training matrix (a user the model does not know is
    ///     scored from `history` alone).
    ///   - history: item indices the user interacted with.
    ///   - scores: overwritten with one score per item.
    func score(user: Int, history: ArraySlice<Int32>, into scores: inout [Float])
}

extension ItemScorer {
    public func score(user: Int, history: ArraySlice<Int32>, into scores: inout [Float]) {
        score(history: history, into: &scores)
    }

    /// The scores of every item for a user with `history`.
    ///
    /// - Parameter history: item indices the user interacted with.
    /// - Returns: ``itemCount`` scores.
    public func scores(history: [Int32]) -> [Float] {
        var s = [Float](repeating: 0, count: itemCount)
        score(history: history[...], into: &s)
        return s
    }
}

/// `scores[i] = query · row i` for the first `min(count, scores.count)` rows of a row-major
/// matrix whose rows have `query.count` values (one BLAS call).
func innerProducts(_ query: [Float], rows: [Float], count: Int, into scores: inout [Float]) {
    let k = query.count
    scores.withUnsafeMutableBufferPointer { s in
        rows.withUnsafeBufferPointer { r in
            query.withUnsafeBufferPointer { q in
                guard let a = q.baseAddress, let b = r.baseAddress, let c = s.baseAddress, k > 0 else { return }
                BLAS.sgemm(
                    transA: false, transB: true, m: 1, n: min(count, s.count), k: k, a: a, lda: k, b: b, ldb: k, beta: 0, c: c,
                    ldc: max(count, 1))
            }
        }
    }
}
