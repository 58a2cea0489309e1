/// Checks applied to every vector that enters VecDB.
public enum VectorValidation {
    /// Throws unless `vector` has `dimension` elements, all finite.
    ///
    /// - Parameters:
    ///   - what: names the receiver in the message, such as "collection 'items'".
    /// - Throws: ``VecDBError/Code/dimensionMismatch`` or ``VecDBError/Code/nonFiniteValue``.
    @inlinable
    public static func check(_ vector: some Collection<Float>, dimension: Int, what: String) throws(VecDBError) {
        if vector.count != dimension {
            throw VecDBError(.dimensionMismatch, "\(what) expects \(dimension) dimensions, got \(vector.count)")
        }
        var index = 0
        for x in vector {
            if !x.isFinite {
                throw VecDBError(.nonFiniteValue, "\(what): component \(index) is \(x); vectors must be finite")
            }
            index += 1
        }
    }
}
