import VecDB
import VecDBKernels

/// Refreshes a ``Recommender`` every N recorded interactions or every T seconds, whichever
/// comes first, as a service would.
///
/// Record through ``record(_:)`` so the scheduler counts interactions; when N have been
/// recorded since the last refresh, that call refreshes before returning. ``start()`` begins a
/// background task that refreshes every T seconds when anything was recorded since the last
/// refresh. Errors of a background refresh are kept in ``lastError``, not thrown.
///
/// Thread-safe: the counters are a `Mutex`, and the recommender serialises publishing.
public final class RefreshScheduler: Sendable {
    /// The recommender refreshed.
    public let recommender: Recommender
    /// Refresh after this many interactions (nil: never by count).
    public let everyInteractions: Int?
    /// Refresh after this many seconds (nil: never by time).
    public let everySeconds: Double?

    struct State {
        var pending = 0
        var refreshes = 0
        var lastError: VecDBError?
        var task: Task<Void, Never>?
    }
    let state = Lock(State())

    /// Creates a scheduler; nothing runs until ``record(_:)`` or ``start()``.
    ///
    /// - Parameters:
    ///   - recommender: a recommender with a trained model.
    ///   - everyInteractions: N ≥ 1, or `nil`.
    ///   - everySeconds: T > 0, or `nil`.
    /// - Throws: ``VecDBError/Code/invalidArgument`` for N < 1 or T ≤ 0.
    public init(recommender: Recommender, everyInteractions: Int? = nil, everySeconds: Double? = nil) throws(VecDBError) {
        if let n = everyInteractions, n < 1 { throw VecDBError(.invalidArgument, "refresh every \(n) interactions: need at least 1") }
        if let t = everySeconds, !(t > 0 && t.isFinite) { throw VecDBError(.invalidArgument, "refresh every \(t) seconds: need > 0") }
        self.recommender = recommender
        self.everyInteractions = everyInteractions
        self.everySeconds = everySeconds
    }

    deinit { stop() }

    /// Records `interactions`, and refreshes when N have been recorded since the last refresh.
    ///
    /// - Parameter interactions: the batch.
    /// - Returns: the new snapshot when this call refreshed, else `nil`.
    /// - Throws: recording and refresh errors.
    /// - Complexity: O(batch), plus a training when due.
    @discardableResult
    public func record(_ interactions: [Interaction]) throws(VecDBError) -> RecommenderSnapshot? {
        try recommender.record(interactions)
        let due = state.withLock { s in
            s.pending += interactions.count
            return everyInteractions.map { s.pending >= $0 } ?? false
        }
        return due ? try refreshNow() : nil
    }

    /// Refreshes now and resets the counter.
    ///
    /// - Returns: the new snapshot.
    /// - Throws: ``Recommender/refresh(threads:)``'s errors.
    @discardableResult
    public func refreshNow() throws(VecDBError) -> RecommenderSnapshot {
        let before = state.withLock { s in s.pending }
        let snap = try recommender.refresh()
        state.withLock { s in
            s.pending -= before
            s.refreshes += 1
        }
        return snap
    }

    /// Refreshes completed by this scheduler.
    public var refreshes: Int { state.withLock { $0.refreshes } }

    /// The error of the last failed background refresh, if any.
    public var lastError: VecDBError? { state.withLock { $0.lastError } }

    /// Starts refreshing every ``everySeconds`` seconds in the background (no-op without T).
    public func start() {
        guard let t = everySeconds else { return }
        let task = Task.detached { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(Int(t * 1000)))
                guard let self, !Task.isCancelled else { return }
                guard self.state.withLock({ $0.pending }) > 0 else { continue }
                do throws(VecDBError) {
                    try self.refreshNow()
                } catch {
                    self.state.withLock { $0.lastError = error }
                }
            }
        }
        state.withLock { s in
            s.task?.cancel()
            s.task = task
        }
    }

    /// Stops the background task.
    public func stop() {
        state.withLock { s in
            s.task?.cancel()
            s.task = nil
        }
    }
}
