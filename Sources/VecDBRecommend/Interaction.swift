import VecDBKernels
import VecDBStorage

/// One user–item event: a rating, a click, a purchase.
///
/// The recommender treats every interaction as an implicit positive; ``weight`` (a rating, a
/// count) and ``timestamp`` are kept for models and filters that use them.
public struct Interaction: Sendable, Hashable {
    /// Who interacted.
    public var user: Key
    /// With what.
    public var item: Key
    /// A rating or strength; finite. 1 when the source has none.
    public var weight: Float
    /// Seconds since the Unix epoch, or 0 when the source has none.
    public var timestamp: Int64

    /// Creates an interaction.
    ///
    /// - Parameters:
    ///   - user: the user's key.
    ///   - item: the item's key.
    ///   - weight: a rating or strength; must be finite to be recorded.
    ///   - timestamp: seconds since the Unix epoch.
    public init(user: Key, item: Key, weight: Float = 1, timestamp: Int64 = 0) {
        self.user = user
        self.item = item
        self.weight = weight
        self.timestamp = timestamp
    }

    /// Checks the keys' lengths and that the weight is finite.
    ///
    /// - Parameter index: the position in its batch, for the error message.
    /// - Throws: ``VecDBError/Code/nonFiniteValue`` or ``VecDBError/Code/invalidArgument``.
    package func validate(index: Int) throws(VecDBError) {
        guard weight.isFinite else {
            throw VecDBError(.nonFiniteValue, "interaction \(index) (user '\(user)', item '\(item)') has a non-finite weight \(weight)")
        }
        do throws(VecDBError) {
            try user.validate()
            try item.validate()
        } catch {
            throw VecDBError(error.code, "interaction \(index): \(error.message)")
        }
    }
}
