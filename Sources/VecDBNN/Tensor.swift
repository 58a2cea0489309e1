import CVecDBKernels
import VecDBKernels

/// A dense, row-major Float32 tensor: a shape and a contiguous array of values.
///
/// The last axis varies fastest. Images are batched NCHW (`[batch, channels, height, width]`),
/// and a batch of vectors is `[batch, features]`. `Tensor` is a value type: copies share storage
/// until one of them is written (the array's copy-on-write).
///
/// ```
/// shape [2, 3]      storage  ┌────┬────┬────┬────┬────┬────┐
///                            │ 00 │ 01 │ 02 │ 10 │ 11 │ 12 │
///                            └────┴────┴────┴────┴────┴────┘
/// ```
public struct Tensor: Sendable, Equatable, CustomStringConvertible {
    /// The size of each axis.
    public private(set) var shape: [Int]
    /// The values, `shape.reduce(1, *)` of them, row-major.
    public var storage: [Float]

    /// A tensor from a shape and its values.
    /// - Throws: ``VecDBError/Code/dimensionMismatch`` when the count of values differs from the
    ///   product of the shape, ``VecDBError/Code/invalidArgument`` for a negative axis.
    public init(shape: [Int], storage: [Float]) throws(VecDBError) {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw VecDBError(.invalidArgument, "tensor shape \(Tensor.describe(shape)) has a negative axis")
        }
        guard let n = Tensor.elementCount(shape), n == storage.count else {
            throw VecDBError(
                .dimensionMismatch,
                "tensor shape \(Tensor.describe(shape)) needs \(Tensor.elementCount(shape).map(String.init) ?? "too many") values, got \(storage.count)"
            )
        }
        self.shape = shape
        self.storage = storage
    }

    /// Shape and storage already known to agree.
    init(uncheckedShape shape: [Int], storage: [Float]) {
        self.shape = shape
        self.storage = storage
    }

    /// A tensor whose values the caller overwrites entirely before reading them.
    init(uninitialized shape: [Int]) {
        self.shape = shape
        self.storage = uninitializedFloats(shape.reduce(1, *))
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        self.init(repeating: 0, shape: shape)
    }

    /// A tensor with every value equal to `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.shape = shape.map { max($0, 0) }
        self.storage = [Float](repeating: value, count: self.shape.reduce(1, *))
    }

    /// Values drawn from N(0, std²).
    public static func normal(_ shape: [Int], std: Float, generator: inout SeededGenerator) -> Tensor {
        var t = Tensor(zeros: shape)
        for i in t.storage.indices { t.storage[i] = generator.nextGaussian() * std }
        return t
    }

    /// Values drawn uniformly from [-bound, bound).
    public static func uniform(_ shape: [Int], bound: Float, generator: inout SeededGenerator) -> Tensor {
        var t = Tensor(zeros: shape)
        for i in t.storage.indices { t.storage[i] = (generator.nextUnitFloat() * 2 - 1) * bound }
        return t
    }

    /// The product of a shape's axes, or nil when it overflows.
    static func elementCount(_ shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            n = p
        }
        return n
    }

    /// The number of values.
    public var count: Int { storage.count }
    /// The number of axes.
    public var rank: Int { shape.count }

    /// The same values with another shape of equal size.
    /// - Throws: ``VecDBError/Code/dimensionMismatch`` naming both shapes.
    public func reshaped(_ newShape: [Int]) throws(VecDBError) -> Tensor {
        guard newShape.allSatisfy({ $0 >= 0 }), Tensor.elementCount(newShape) == count else {
            throw VecDBError(.dimensionMismatch, "cannot reshape \(Tensor.describe(shape)) to \(Tensor.describe(newShape))")
        }
        return Tensor(uncheckedShape: newShape, storage: storage)
    }

    /// The value at a full index (one coordinate per axis), for tests and small tensors.
    public subscript(_ index: Int...) -> Float {
        get { storage[offset(index)] }
        set {
            let o = offset(index)
            storage[o] = newValue
        }
    }

    func offset(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index \(index) does not match shape \(shape)")
        var o = 0
        for (i, s) in zip(index, shape) {
            precondition(i >= 0 && i < s, "index \(index) is out of range for shape \(shape)")
            o = o * s + i
        }
        return o
    }

    public var description: String { "Tensor\(Tensor.describe(shape))" }

    /// "[32, 784]".
    public static func describe(_ shape: [Int]) -> String {
        "[" + shape.map(String.init).joined(separator: ", ") + "]"
    }

    /// The shape as text, with `*` for any size: `describe([nil, 784])` is "[*, 784]".
    static func describe(_ shape: [Int?]) -> String {
        "[" + shape.map { $0.map(String.init) ?? "*" }.joined(separator: ", ") + "]"
    }

    /// The index of the largest value in each row of a `[rows, columns]` tensor.
    public func argmaxRows() -> [Int] {
        guard let cols = shape.last, cols > 0 else { return [] }
        let rows = count / cols
        return (0..<rows).map { r in
            var best = 0
            var bestValue = storage[r * cols]
            for c in 1..<cols where storage[r * cols + c] > bestValue {
                best = c
                bestValue = storage[r * cols + c]
            }
            return best
        }
    }
}
