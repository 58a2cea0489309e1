import VecDBKernels

/// The in-memory buffer of a collection: rows appended since the last seal.
///
/// Append-only with a fixed capacity, so a row never moves once written: a ``Snapshot`` that
/// saw `n` rows can read rows `0..<n` without a lock while the writer appends row `n` and on.
/// When a batch does not fit, the writer copies the rows into a larger buffer; snapshots keep
/// the old one alive.
///
/// ```
///   vectors ─► [ row 0 | row 1 | … | row count-1 | (capacity - count free rows) ]
///   keys    ─► [ key 0 | key 1 | … ]
///   payloads ► [ bytes? | bytes? | … ]
/// ```
package final class MemtableBuffer: @unchecked Sendable {
    // Sendable: rows below a published count are immutable; only the writer (holding the
    // collection's lock) appends above it and reads `count`.
    package let dimension: Int
    package let capacity: Int
    let vectors: UnsafeMutablePointer<Float>
    let keys: UnsafeMutablePointer<Key>
    let payloads: UnsafeMutablePointer<[UInt8]?>
    private(set) var count = 0

    package init(dimension: Int, capacity: Int) {
        self.dimension = dimension
        self.capacity = max(1, capacity)
        vectors = .allocate(capacity: self.capacity * max(1, dimension))
        keys = .allocate(capacity: self.capacity)
        payloads = .allocate(capacity: self.capacity)
    }

    deinit {
        keys.deinitialize(count: count)
        payloads.deinitialize(count: count)
        keys.deallocate()
        payloads.deallocate()
        vectors.deallocate()
    }

    /// Appends a row; the caller guarantees `count < capacity`. Returns its index.
    func append(key: Key, vector: UnsafePointer<Float>, payload: [UInt8]?) -> Int {
        let r = count
        (vectors + r * dimension).update(from: vector, count: dimension)
        (keys + r).initialize(to: key)
        (payloads + r).initialize(to: payload)
        count += 1
        return r
    }

    /// A copy of the rows in a buffer of at least `capacity` rows.
    func grown(to newCapacity: Int) -> MemtableBuffer {
        let b = MemtableBuffer(dimension: dimension, capacity: max(newCapacity, capacity))
        b.vectors.update(from: vectors, count: count * dimension)
        (b.keys).initialize(from: keys, count: count)
        (b.payloads).initialize(from: payloads, count: count)
        b.count = count
        return b
    }

    package func key(at row: Int) -> Key { keys[row] }
    package func payload(at row: Int) -> [UInt8]? { payloads[row] }
    package func vector(at row: Int) -> [Float] { Array(UnsafeBufferPointer(start: vectors + row * dimension, count: dimension)) }

    func rows(count n: Int) -> RowMatrix { RowMatrix(base: vectors, count: n, dimension: dimension) }
}

/// A fixed-size set of row numbers (deleted rows).
package struct Bitset: Sendable, Equatable {
    package internal(set) var words: [UInt64] = []
    package private(set) var count = 0

    package init() {}

    package init(rows: [UInt32]) {
        for r in rows { insert(Int(r)) }
    }

    @inlinable
    package func contains(_ i: Int) -> Bool {
        let w = i >> 6
        return w < words.count && words[w] & (1 << UInt64(i & 63)) != 0
    }

    /// Adds `i`; returns whether it was new.
    @discardableResult
    package mutating func insert(_ i: Int) -> Bool {
        let w = i >> 6
        if w >= words.count { words.append(contentsOf: repeatElement(0, count: w - words.count + 1)) }
        let bit: UInt64 = 1 << UInt64(i & 63)
        if words[w] & bit != 0 { return false }
        words[w] |= bit
        count += 1
        return true
    }

    /// The members in ascending order.
    package var members: [UInt32] { setBits(words, count: count) }
}
