/// How two vectors are compared.
///
/// Every search in VecDB returns a *distance* where smaller is closer, whatever the metric:
///
/// | metric   | distance                          |
/// |----------|-----------------------------------|
/// | `l2`     | squared Euclidean distance        |
/// | `ip`     | negated inner product, `-a·b`     |
/// | `cosine` | `1 - a·b / (|a| |b|)`             |
public enum Metric: String, Sendable, CaseIterable, Codable {
    case l2
    case ip
    case cosine

    /// Parses `l2`, `euclidean`, `ip`, `dot`, `cosine` or `angular`.
    public init(parsing text: String) throws(VecDBError) {
        switch text.lowercased() {
        case "l2", "euclidean": self = .l2
        case "ip", "dot", "inner_product": self = .ip
        case "cosine", "angular": self = .cosine
        default:
            throw VecDBError(.invalidArgument, "unknown metric '\(text)'; expected l2, ip or cosine")
        }
    }
}
