/// The one error type every VecDB module throws.
///
/// An error names the thing that failed and the reason, for example
/// "collection 'items' expects 128 dimensions, got 127". The ``Code`` says what kind of failure it
/// is, so callers can branch on it; it wraps an internal enumeration so that new codes can be
/// added without breaking the API.
public struct VecDBError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Sendable {
            case dimensionMismatch
            case nonFiniteValue
            case invalidArgument
            case notFound
            case alreadyExists
            case malformedFile
            case corruptFile
            case io
            case diskFull
            case locked
            case unsupported
            case unknownDataset
            case readOnly
            case closed
            case cancelled
        }
        let base: Base
        init(_ base: Base) { self.base = base }
        public var description: String { base.rawValue }

        /// A vector's length differs from the collection's or index's dimension.
        public static let dimensionMismatch = Code(.dimensionMismatch)
        /// A vector holds NaN or an infinity.
        public static let nonFiniteValue = Code(.nonFiniteValue)
        /// An argument is out of range or inconsistent.
        public static let invalidArgument = Code(.invalidArgument)
        /// A key, collection, file or data set does not exist.
        public static let notFound = Code(.notFound)
        /// Something with that name already exists.
        public static let alreadyExists = Code(.alreadyExists)
        /// An input file does not follow its format (bad header, truncated, wrong magic).
        public static let malformedFile = Code(.malformedFile)
        /// A file VecDB wrote fails its checksum or structural checks.
        public static let corruptFile = Code(.corruptFile)
        /// An operating-system call failed.
        public static let io = Code(.io)
        /// The device has no space left; nothing already stored was changed.
        public static let diskFull = Code(.diskFull)
        /// Another process holds the database's write lock.
        public static let locked = Code(.locked)
        /// The operation is not supported in this configuration.
        public static let unsupported = Code(.unsupported)
        /// A data-set name that `vecdb dataset` does not know.
        public static let unknownDataset = Code(.unknownDataset)
        /// A write was attempted through a read-only handle.
        public static let readOnly = Code(.readOnly)
        /// The database or collection has been closed.
        public static let closed = Code(.closed)
        /// The task was cancelled before the operation started; nothing was changed.
        public static let cancelled = Code(.cancelled)
    }

    public var code: Code
    public var message: String
    /// The file involved, when there is one.
    public var path: String?
    /// The operating-system error number, for ``Code/io`` and ``Code/diskFull``.
    public var errno: Int32?

    public init(_ code: Code, _ message: String, path: String? = nil, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.errno = errno
    }

    public var description: String {
        var s = message
        if let path, !message.contains(path) { s += " (\(path))" }
        return s
    }
}
