import CVecDBKernels

/// A non-owning view of `count` contiguous row-major vectors stored as Float32 or as IEEE
/// half precision, such as a collection segment's mapped vector section.
///
/// Indexes that walk stored rows (HNSW) compute distances on them in place with a Float32
/// query, through the kernel for the element type, so Float16 rows are never decoded wholesale.
public struct StoredRows: @unchecked Sendable {
    public enum Element: Sendable, Equatable {
        case float32
        case float16
    }

    public let base: UnsafeRawPointer
    public let count: Int
    public let dimension: Int
    public let element: Element
    /// Bytes from one row to the next.
    public let rowBytes: Int

    public init(_ rows: RowMatrix) {
        base = UnsafeRawPointer(rows.base)
        count = rows.count
        dimension = rows.dimension
        element = .float32
        rowBytes = rows.dimension * 4
    }

    public init(float16 base: UnsafePointer<UInt16>, count: Int, dimension: Int) {
        self.base = UnsafeRawPointer(base)
        self.count = count
        self.dimension = dimension
        element = .float16
        rowBytes = dimension * 2
    }

    /// The first byte of row `i`.
    @inlinable
    public func row(_ i: Int) -> UnsafeRawPointer { base + i &* rowBytes }

    /// Row `i` as Float32: a pointer into the storage for Float32 rows, otherwise the row
    /// decoded into `scratch` (which must hold `dimension` floats).
    @inlinable
    public func floats(_ i: Int, scratch: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        if element == .float32 { return (base + i &* rowBytes).assumingMemoryBound(to: Float.self) }
        vdb_f16_to_f32_array((base + i &* rowBytes).assumingMemoryBound(to: UInt16.self), scratch, dimension)
        return UnsafePointer(scratch)
    }

    /// The rows as a Float32 matrix, when that is how they are stored.
    public var float32: RowMatrix? {
        element == .float32 ? RowMatrix(base: base.assumingMemoryBound(to: Float.self), count: count, dimension: dimension) : nil
    }

    /// Bytes the rows occupy.
    public var byteCount: Int { count * rowBytes }
}
