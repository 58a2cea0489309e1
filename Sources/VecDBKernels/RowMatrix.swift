/// A non-owning view of `count` contiguous row-major Float32 vectors of `dimension` elements.
///
/// ```
///   base ─► ┌──────── dimension floats ────────┐
///           │ row 0                            │
///           │ row 1                            │
///           │ …                                │
///           │ row count-1                      │
///           └──────────────────────────────────┘
/// ```
///
/// The owner (an array, a memory-mapped segment) must outlive the view.
public struct RowMatrix: @unchecked Sendable {
    public let base: UnsafePointer<Float>
    public let count: Int
    public let dimension: Int

    @inlinable
    public init(base: UnsafePointer<Float>, count: Int, dimension: Int) {
        self.base = base
        self.count = count
        self.dimension = dimension
    }

    @inlinable
    public subscript(row: Int) -> UnsafePointer<Float> { base + row * dimension }

    /// Calls `body` with a view of `values`, read as rows of `dimension` floats.
    public static func with<R, E: Error>(_ values: [Float], dimension: Int, _ body: (RowMatrix) throws(E) -> R) throws(E) -> R {
        try values.withUnsafeBufferPointer { (p) throws(E) -> R in
            // An empty array may have no base address; a one-element dummy stands in.
            guard let base = p.baseAddress, dimension > 0 else {
                var dummy: Float = 0
                return try withUnsafePointer(to: &dummy) { (d) throws(E) -> R in
                    try body(RowMatrix(base: d, count: 0, dimension: max(dimension, 1)))
                }
            }
            return try body(RowMatrix(base: base, count: values.count / dimension, dimension: dimension))
        }
    }
}

/// Wraps a value that is shared across threads under a discipline the compiler cannot see,
/// such as disjoint index ranges of one buffer.
package struct UncheckedSendable<T>: @unchecked Sendable {
    package var value: T
    package init(_ value: T) { self.value = value }
}
