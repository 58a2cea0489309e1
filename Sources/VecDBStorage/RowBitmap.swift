import VecDBKernels

/// A set of row numbers of one segment (or of the memtable): `rowCount` bits, one per row.
///
/// Filters compile to these (one per segment per query, from the payload indexes); the query
/// engine reads them as its row gate and counts them for its plan. The bit operations work a
/// word (64 rows) at a time.
package struct RowBitmap: Sendable, Equatable {
    package private(set) var words: [UInt64]
    /// The number of rows the bitmap ranges over (`0 ..< rowCount`).
    package let rowCount: Int

    /// An empty set, or every row when `full`.
    package init(rowCount: Int, full: Bool = false) {
        self.rowCount = max(0, rowCount)
        words = [UInt64](repeating: full ? ~0 : 0, count: (self.rowCount + 63) >> 6)
        if full { clearTail() }
    }

    /// The set of `rows` (each below `rowCount`; others are ignored).
    package init<S: Sequence>(rowCount: Int, rows: S) where S.Element == UInt32 {
        self.init(rowCount: rowCount)
        for r in rows where Int(r) < self.rowCount { words[Int(r) >> 6] |= 1 << UInt64(r & 63) }
    }

    mutating func clearTail() {
        let extra = words.count * 64 - rowCount
        if extra > 0, !words.isEmpty { words[words.count - 1] &= ~0 >> UInt64(extra) }
    }

    @inlinable
    package func contains(_ row: Int) -> Bool {
        row >= 0 && row < rowCount && words[row >> 6] & (1 << UInt64(row & 63)) != 0
    }

    /// Adds `row`; a row outside `0 ..< rowCount` is ignored.
    @inlinable
    package mutating func insert(_ row: Int) {
        guard row >= 0, row < rowCount else { return }
        words[row >> 6] |= 1 << UInt64(row & 63)
    }

    /// How many rows are in the set.
    package var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    package var isEmpty: Bool { words.allSatisfy { $0 == 0 } }

    package mutating func formUnion(_ other: RowBitmap) {
        for i in 0..<min(words.count, other.words.count) { words[i] |= other.words[i] }
    }

    package mutating func formIntersection(_ other: RowBitmap) {
        let n = min(words.count, other.words.count)
        for i in 0..<n { words[i] &= other.words[i] }
        for i in n..<words.count { words[i] = 0 }
    }

    /// Removes the rows of `other` (any length).
    package mutating func subtract(_ other: RowBitmap) {
        for i in 0..<min(words.count, other.words.count) { words[i] &= ~other.words[i] }
    }

    /// Removes the rows of a tombstone set.
    package mutating func subtract(_ dead: Bitset) {
        guard dead.count > 0 else { return }
        for i in 0..<min(words.count, dead.words.count) { words[i] &= ~dead.words[i] }
    }

    /// Calls `body` with each row in the set, ascending.
    package func forEachMember(_ body: (Int) throws(VecDBError) -> Void) throws(VecDBError) {
        for (w, word) in words.enumerated() where word != 0 {
            var x = word
            while x != 0 {
                try body(w << 6 | x.trailingZeroBitCount)
                x &= x - 1
            }
        }
    }

    /// The rows in the set, ascending.
    package var members: [UInt32] { setBits(words, count: count) }
}

/// The positions of the set bits of `words` (bit `i` of word `w` is position `64·w + i`),
/// ascending; `count` of them.
func setBits(_ words: [UInt64], count: Int) -> [UInt32] {
    var out: [UInt32] = []
    out.reserveCapacity(count)
    for (w, word) in words.enumerated() where word != 0 {
        var x = word
        while x != 0 {
            out.append(UInt32(w << 6 | x.trailingZeroBitCount))
            x &= x - 1
        }
    }
    return out
}
