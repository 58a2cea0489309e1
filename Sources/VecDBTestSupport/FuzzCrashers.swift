// The inputs that crashed a fuzz target, committed under Tests/Fuzz/crashers/TARGET/ and read
// back by the regression tests (docs/reliability.md, "Fuzzing").
//
// For the binary targets a crasher `crash-…` is the fuzzer's input (a control byte, then the
// file), and `crash-….file` is the file as the reader was given it, checksums repaired; the
// tests feed the `.file`. For the text targets the crasher is the file itself.
import VecDBStorage

/// The committed fuzz crashers.
public enum FuzzCrashers {
    /// Tests/Fuzz/crashers, found from this source file's path.
    public static let directory: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // Sources/VecDBTestSupport/FuzzCrashers.swift
        return parts.joined(separator: "/") + "/Tests/Fuzz/crashers"
    }()

    /// The bytes of crasher `name` of fuzz target `target`.
    public static func bytes(_ target: String, _ name: String) throws -> [UInt8] {
        try FileSystem.system.readAll(directory + "/" + target + "/" + name)
    }

    /// Copies crasher `name` of `target` to `directory/fileName` and returns that path, for
    /// readers that take a path (and, for segments and payloads, a particular file name).
    public static func copy(_ target: String, _ name: String, to directory: TemporaryDirectory, as fileName: String) throws -> String {
        let path = directory.file(fileName)
        try FileSystem.system.replaceAtomically(path, with: try bytes(target, name))
        return path
    }
}
