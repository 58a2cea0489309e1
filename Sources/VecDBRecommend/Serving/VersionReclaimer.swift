import VecDB
import VecDBKernels
import VecDBStorage

/// Deletes the files of a model version once no snapshot holds it and it is no longer current.
///
/// Every ``RecommenderSnapshot`` calls ``retain(version:)`` when made and
/// ``release(version:collections:)`` from its `deinit`; a superseded version's model file and embedding collections are removed
/// then. A failure to remove leaves garbage that ``Recommender`` removes on the next open.
/// Thread-safe: the current version and the holder counts are a `Mutex`.
final class VersionReclaimer: Sendable {
    let database: Database
    let directory: String
    let fileSystem: FileSystem
    struct State {
        var current: UInt64 = 0
        var holders: [UInt64: Int] = [:]
    }
    let state = Lock(State())

    init(database: Database, directory: String, fileSystem: FileSystem) {
        self.database = database
        self.directory = directory
        self.fileSystem = fileSystem
    }

    /// Notes that the current version is now `version`.
    func publish(_ version: UInt64) { state.withLock { $0.current = version } }

    /// Notes one more snapshot holding `version`.
    func retain(version: UInt64) { state.withLock { $0.holders[version, default: 0] += 1 } }

    /// Notes one snapshot fewer holding `version`, and deletes its files when it was the last
    /// and the version is superseded.
    func release(version: UInt64, collections: [String]) {
        let doomed = state.withLock { s in
            s.holders[version, default: 1] -= 1
            if s.holders[version] == 0 { s.holders[version] = nil }
            return s.holders[version] == nil && version != s.current
        }
        guard doomed else { return }
        for c in collections { try? database.dropCollection(c) }
        try? fileSystem.unlink(directory + "/" + ModelCheckpoint.fileName(version: version))
    }
}
