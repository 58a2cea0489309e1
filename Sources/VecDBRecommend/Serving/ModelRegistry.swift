import VecDBKernels

/// The model kinds serving knows by name: the baselines, and whatever a module registers.
///
/// `vecdb recommend train --model M` and ``Recommender/train(model:threads:)`` look names up
/// here, so a deep model plugs in with one ``register(_:)`` call before use.
public enum ModelRegistry {
    static let kinds = Lock<[String: ModelKind]>(
        Dictionary(uniqueKeysWithValues: (BaselineModelCodec.kinds + DeepModelCodec.kinds + SequenceModelCodec.kinds).map { ($0.name, $0) })
    )

    /// Adds or replaces a model kind.
    ///
    /// - Parameter kind: the kind; its ``ModelKind/name`` is the key.
    public static func register(_ kind: ModelKind) {
        kinds.withLock { $0[kind.name] = kind }
    }

    /// The registered names, sorted.
    public static var names: [String] { kinds.withLock { $0.keys.sorted() } }

    /// The kind registered under `name` (case-insensitive).
    ///
    /// - Parameter name: a model name.
    /// - Returns: the kind.
    /// - Throws: ``VecDBError/Code/invalidArgument`` naming the registered models.
    public static func kind(named name: String) throws(VecDBError) -> ModelKind {
        let key = name.lowercased()
        guard let k = kinds.withLock({ $0[key] }) else {
            throw VecDBError(.invalidArgument, "unknown model '\(name)'; registered models: \(names.joined(separator: ", "))")
        }
        return k
    }
}
