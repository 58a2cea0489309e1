import VecDBKernels

/// A function from text to vectors that a collection can be created with, so that its records
/// are inserted and searched by text (``Database/createCollection(_:embedder:metric:elementType:)``).
///
/// The collection stores the model's name, checksum and dimension when it is created, and
/// ``Database/collection(_:embedder:)`` refuses an embedder whose identity differs: vectors
/// from two models are not comparable, so mixing them would silently ruin every search.
/// `VecDBText.TextEncoder` (all-MiniLM-L6-v2 and other BERT sentence encoders) is one.
public protocol TextEmbedder: Sendable {
    /// Names the model, e.g. `all-MiniLM-L6-v2`.
    var modelName: String { get }
    /// Identifies the weights exactly, e.g. a CRC-32C of the model files in hex.
    var modelChecksum: String { get }
    /// Components of each vector.
    var dimension: Int { get }
    /// One vector of ``dimension`` finite components per text, in order.
    func embed(_ texts: [String]) throws(VecDBError) -> [[Float]]
}

/// What a collection records of the embedder it was created with.
public struct EmbedderIdentity: Hashable, Sendable, CustomStringConvertible {
    /// The model's name.
    public var modelName: String
    /// The model's checksum.
    public var modelChecksum: String
    /// Its vectors' dimension.
    public var dimension: Int

    /// An identity from its parts.
    public init(modelName: String, modelChecksum: String, dimension: Int) {
        self.modelName = modelName
        self.modelChecksum = modelChecksum
        self.dimension = dimension
    }

    /// The identity of `embedder`.
    public init(_ embedder: any TextEmbedder) {
        self.init(modelName: embedder.modelName, modelChecksum: embedder.modelChecksum, dimension: embedder.dimension)
    }

    public var description: String { "\(modelName) (checksum \(modelChecksum), \(dimension)-d)" }
}
