import VecDBStorage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A fresh directory under the system temporary directory, removed with everything in it when
/// the value is released.
public final class TemporaryDirectory: @unchecked Sendable {
    // Sendable: immutable after init.
    public let path: String

    public init(prefix: String = "vecdb-test") {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(base)/\(prefix)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { b -> UnsafeMutablePointer<CChar>? in
            guard let p = b.baseAddress else { return nil }
            return mkdtemp(p)
        }
        path = made.map { String(cString: $0) } ?? "\(base)/\(prefix)-\(UInt64.random(in: 0...UInt64.max))"
        if made == nil { mkdir(path, 0o755) }
    }

    deinit { try? FileSystem.system.removeTree(path) }

    /// `path/name`.
    public func file(_ name: String) -> String { path + "/" + name }
}
