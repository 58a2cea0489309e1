import VecDBStorage

/// Content features of items for models that read them (the two-tower item tower).
public enum ItemFeatures {
    /// A multi-hot vector of genres per item index: one column per distinct genre, in name order.
    ///
    /// - Parameters:
    ///   - records: item records, matched to items by key; items without a record get zeros.
    ///   - itemKeys: the matrix's item keys (``InteractionMatrix/itemKeys``).
    /// - Returns: `itemKeys.count` rows, or nil when no record of a matrix item has a genre.
    public static func genres(_ records: [EntityRecord], itemKeys: [Key]) -> [[Float]]? {
        var byKey: [Key: [String]] = [:]
        for r in records where !r.genres.isEmpty { byKey[r.key] = r.genres }
        let names = Array(Set(itemKeys.compactMap { byKey[$0] }.joined())).sorted()
        guard !names.isEmpty else { return nil }
        var column: [String: Int] = [:]
        for (j, n) in names.enumerated() { column[n] = j }
        return itemKeys.map { key in
            var row = [Float](repeating: 0, count: names.count)
            for g in byKey[key] ?? [] { if let j = column[g] { row[j] = 1 } }
            return row
        }
    }
}
