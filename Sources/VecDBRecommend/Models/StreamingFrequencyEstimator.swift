/// Estimates how often each item is sampled into a training batch from the stream of batches,
/// without a pass over the data (Yi et al., "Sampling-Bias-Corrected Neural Modeling for Large
/// Corpus Item Recommendations", 2019, algorithm 2).
///
/// For each item it keeps the step it was last seen at, `A`, and a moving average of the gap
/// between sightings, `B ← (1 − α)·B + α·(t − A)`; the per-batch sampling probability is `1 / B`.
/// Items are dense indices here, so the two arrays replace the paper's hash tables.
struct StreamingFrequencyEstimator: Sendable {
    /// The moving average's weight of a new gap.
    let alpha: Float
    var lastStep: [Int]
    var gap: [Float]

    /// - Parameters:
    ///   - itemCount: items are `0..<itemCount`.
    ///   - initialGap: the gap assumed before an item is seen twice (itemCount / batch size for
    ///     uniform sampling).
    ///   - alpha: the moving average's weight of a new gap.
    init(itemCount: Int, initialGap: Float, alpha: Float = 0.05) {
        self.alpha = alpha
        lastStep = [Int](repeating: -1, count: itemCount)
        gap = [Float](repeating: max(initialGap, 1), count: itemCount)
    }

    /// Records the items of the batch at `step` (duplicates count once).
    mutating func observe(_ items: [Int32], step: Int) {
        for i in items {
            let k = Int(i)
            guard lastStep[k] != step else { continue }
            if lastStep[k] >= 0 { gap[k] = (1 - alpha) * gap[k] + alpha * Float(step - lastStep[k]) }
            lastStep[k] = step
        }
    }

    /// The estimated probability that `item` is in a batch, `1 / B`, at most 1.
    func probability(_ item: Int32) -> Float { min(1, 1 / max(gap[Int(item)], 1e-6)) }
}
