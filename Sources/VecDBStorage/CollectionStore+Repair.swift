// Repairing a collection whose write-ahead log is damaged (`vecdb repair`).
//
// A damaged log frame is corruption, not a torn tail (see WriteAheadLog.swift), so opening
// refuses the collection and keeps the bytes. Repair makes it usable again, with a state the
// writer really committed: the log cut before the damaged frame, every frame before it kept.
// The log as it was is first copied, whole, to `damaged-wal-G-T.log` (G the generation, T the
// time in seconds) next to it, so nothing is lost that a person might still recover by hand.
import VecDBKernels

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension CollectionStore {
    /// What ``repairLog(fs:directory:)`` did.
    package struct LogRepair: Sendable, Equatable {
        /// What was done, one sentence each; empty when the log was sound.
        package var actions: [String] = []
        /// Where the log as it was has been kept, when it was changed.
        package var keptCopy: String?
        /// Bytes cut from the log (the damaged frame and everything after it).
        package var droppedBytes = 0
    }

    /// Makes the write-ahead log of the collection in `directory` readable again: a log damaged
    /// at a frame is cut before it, a log with a damaged header (or none) is replaced by an
    /// empty one. A copy of the damaged log is kept first. A torn tail needs no repair: opening
    /// for writing cuts it.
    ///
    /// - Throws: ``VecDBError/Code/corruptFile`` when the manifest itself is damaged (a
    ///   collection without its manifest cannot be repaired: restore it, or drop it); the file
    ///   system's errors.
    package static func repairLog(fs: FileSystem, directory: String) throws(VecDBError) -> LogRepair {
        let manifestPath = directory + "/" + Manifest.fileName
        let manifest = try Manifest.decode(try fs.readAll(manifestPath), path: manifestPath)
        let name = WriteAheadLog.fileName(generation: manifest.walGeneration)
        let walPath = directory + "/" + name
        var repair = LogRepair()
        func replaceWithEmptyLog() throws(VecDBError) {
            let wal = try WriteAheadLog.create(fs: fs, path: walPath, dimension: manifest.dimension, generation: manifest.walGeneration)
            wal.close()
            try fs.syncDirectory(directory)
        }
        guard fs.exists(walPath) else {
            try replaceWithEmptyLog()
            repair.actions.append("the write-ahead log '\(walPath)' named by the manifest was missing: created an empty one")
            return repair
        }
        // Read once: the same bytes are inspected and, when damaged, kept as the copy.
        let bytes = try fs.readAll(walPath)
        let damage: WALDamage?
        do throws(VecDBError) {
            let inspection = try typed {
                try bytes.withUnsafeBytes { raw in
                    try WriteAheadLog.inspect(raw, path: walPath, dimension: manifest.dimension, generation: manifest.walGeneration)
                }
            }
            switch inspection {
            case .replay: damage = nil
            case .damaged(let d): damage = d
            }
        } catch  where error.code == .corruptFile {
            // A damaged header: no frame can be trusted.
            let copy = try keepCopy(bytes, fs: fs, directory: directory, generation: manifest.walGeneration)
            try replaceWithEmptyLog()
            repair.keptCopy = copy
            repair.droppedBytes = bytes.count
            repair.actions.append(
                "\(error.message): kept a copy as '\(copy)' and replaced the log with an empty one, dropping all \(bytes.count) bytes")
            return repair
        }
        guard let damage else { return repair }
        let copy = try keepCopy(bytes, fs: fs, directory: directory, generation: manifest.walGeneration)
        let h = try fs.open(walPath, writable: true)
        defer { h.close() }
        try h.truncate(to: damage.offset)
        try h.sync()
        repair.keptCopy = copy
        repair.droppedBytes = bytes.count - damage.offset
        repair.actions.append(
            "write-ahead log '\(walPath)' was damaged at offset \(damage.offset) (\(damage.reason)): kept a copy as '\(copy)' and cut the log there, keeping frames 1–\(damage.frame - 1) and dropping \(bytes.count - damage.offset) bytes (frame \(damage.frame) and any after it)"
        )
        return repair
    }

    /// Writes `bytes` to a new `damaged-wal-…` file in `directory` (temp, fsync, rename, fsync
    /// the directory) and returns its path.
    static func keepCopy(_ bytes: [UInt8], fs: FileSystem, directory: String, generation: UInt64) throws(VecDBError) -> String {
        var stamp = Int(time(nil))
        var path = ""
        repeat {
            path = directory + "/damaged-wal-" + hex16(generation) + "-" + String(stamp) + ".log"
            stamp += 1
        } while fs.exists(path)
        try fs.replaceAtomically(path, with: bytes)
        return path
    }
}
