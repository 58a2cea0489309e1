import Foundation

/// A fresh directory under the system's temporary directory, removed by ``remove()``.
public struct TestDirectory: Sendable {
    public let path: String

    public init(_ label: String = "vecdb") {
        let name = "\(label)-\(getpid())-\(UInt64.random(in: 0..<UInt64.max))"
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent(name)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func file(_ name: String) -> String { path + "/" + name }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}
