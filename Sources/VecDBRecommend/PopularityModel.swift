/// Recommends the items most users interacted with, the same for everyone.
///
/// The score of an item is the number of training users who hold it; the user's history is
/// not used (the evaluator and serving exclude seen items).
public struct PopularityModel: ItemScorer {
    /// Users per item in the training data.
    public let counts: [Float]

    /// Counts the users of each item.
    ///
    /// - Parameter train: the training interactions.
    /// - Returns: the fitted model.
    /// - Complexity: O(pairs).
    public static func fit(_ train: InteractionMatrix) -> PopularityModel {
        PopularityModel(counts: train.itemCounts().map { Float($0) })
    }

    init(counts: [Float]) { self.counts = counts }

    public var itemCount: Int { counts.count }

    public func score(history: ArraySlice<Int32>, into scores: inout [Float]) {
        scores = counts
    }
}
