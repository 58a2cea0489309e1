import VecDBKernels
import VecDBStorage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A fault plan for the file layer, as SQLite's test VFS: counts system calls and makes chosen
/// ones fail.
///
/// ```swift
/// let faults = FaultPlan()
/// var options = DatabaseOptions(); options.fileSystem = faults.fileSystem
/// faults.failNext(.write, pathContaining: "wal-", with: .fail(errno: ENOSPC))
/// ```
package final class FaultPlan: FaultInjector, @unchecked Sendable {
    // Sendable: all state is inside a Mutex.
    struct Rule {
        var operation: FileOperation?
        var pathContains: String
        var skip: Int
        var fault: InjectedFault
        var remaining: Int
        /// After this fault, every call fails: the process died right after it.
        var crash = false
    }

    struct Hook {
        var operation: FileOperation
        var pathContains: String
        var action: @Sendable () -> Void
    }

    struct State {
        var rules: [Rule] = []
        var hooks: [Hook] = []
        var calls = 0
        var failAfterCalls: (Int, Int32)?
    }

    let state = Lock(State())

    package init() {}

    /// The file layer that consults this plan.
    package var fileSystem: FileSystem { FileSystem(injector: self) }

    /// Makes the next `times` calls of `operation` on paths containing `pathContaining` fail,
    /// after letting `skip` matching calls through.
    package func failNext(
        _ operation: FileOperation?, pathContaining: String = "", skip: Int = 0, times: Int = 1, with fault: InjectedFault
    ) {
        state.withLock {
            $0.rules.append(Rule(operation: operation, pathContains: pathContaining, skip: skip, fault: fault, remaining: times))
        }
    }

    /// A torn page: the next write on a path containing `pathContaining` (after `skip` such
    /// writes) stores only its first `bytes` bytes, and then the process dies: that call and
    /// every later one fail, so nothing cleans up after the partial write.
    package func tearNext(_ operation: FileOperation = .write, pathContaining: String = "", skip: Int = 0, bytes: Int) {
        state.withLock {
            $0.rules.append(
                Rule(
                    operation: operation, pathContains: pathContaining, skip: skip, fault: .shortWrite(bytes: bytes), remaining: 1,
                    crash: true))
        }
    }

    /// Lets `calls` more calls through, then fails every call with `errno` (a crash at that point,
    /// as far as the disk can tell).
    package func failEverything(after calls: Int, errno e: Int32 = EIO) {
        state.withLock { s in
            s.failAfterCalls = (s.calls + calls, e)
        }
    }

    /// Runs `action` once, on the calling thread, just before the next `operation` on a path
    /// containing `pathContaining` (a deterministic interleaving point for concurrency tests).
    package func onNext(_ operation: FileOperation, pathContaining: String, run action: @escaping @Sendable () -> Void) {
        state.withLock { $0.hooks.append(Hook(operation: operation, pathContains: pathContaining, action: action)) }
    }

    /// Removes every rule.
    package func reset() { state.withLock { $0 = State(calls: $0.calls) } }

    /// Rules that have not fired yet (a fault planned for a call the code never made).
    package var unfiredRules: Int { state.withLock { $0.rules.filter { $0.remaining > 0 }.count } }

    /// System calls seen so far.
    package var calls: Int { state.withLock { $0.calls } }

    package func fault(for operation: FileOperation, path: String) -> InjectedFault? {
        let hook = state.withLock { s -> Hook? in
            guard let i = s.hooks.firstIndex(where: { $0.operation == operation && path.contains($0.pathContains) }) else { return nil }
            return s.hooks.remove(at: i)
        }
        hook?.action()
        return state.withLock { s in
            s.calls += 1
            if let (limit, e) = s.failAfterCalls, s.calls > limit { return .fail(errno: e) }
            for i in s.rules.indices where s.rules[i].remaining > 0 {
                if let op = s.rules[i].operation, op != operation { continue }
                if !s.rules[i].pathContains.isEmpty && !path.contains(s.rules[i].pathContains) { continue }
                if s.rules[i].skip > 0 {
                    s.rules[i].skip -= 1
                    continue
                }
                s.rules[i].remaining -= 1
                if s.rules[i].crash { s.failAfterCalls = (s.calls, EIO) }
                return s.rules[i].fault
            }
            return nil
        }
    }
}
