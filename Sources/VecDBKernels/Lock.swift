// The lock every VecDB module uses: `Lock<Value>`, a value guarded by a mutex.
//
// It is `Synchronization.Mutex`, except in ThreadSanitizer builds (`scripts/sanitize.sh thread`
// passes `-DVECDB_TSAN`). On Linux `Mutex` locks with raw futex system calls, which
// ThreadSanitizer does not intercept, so it cannot see the ordering a `Mutex` makes and
// reports every guarded access as a race. There `Lock` is a pthread mutex, which it sees.
#if VECDB_TSAN
    #if canImport(Glibc)
        import Glibc
    #elseif canImport(Darwin)
        import Darwin
    #endif

    /// A value guarded by a pthread mutex, with `Mutex`'s `withLock`.
    package final class Lock<Value>: @unchecked Sendable {
        // Sendable: `value` is only touched with `mutex` held. `mutex` comes first, and a spare
        // word after `value`: a zero-sized `value` (a `Lock<Void>`) takes the address of the
        // field that follows it, and TSan would take its exclusive access under the lock for a
        // race with another thread reading that field before it locks.
        let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        var value: Value
        var spare: UInt64 = 0

        package init(_ value: Value) {
            self.value = value
            pthread_mutex_init(mutex, nil)
        }

        deinit {
            pthread_mutex_destroy(mutex)
            mutex.deallocate()
        }

        package func withLock<Result, E: Error>(_ body: (inout Value) throws(E) -> Result) throws(E) -> Result {
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            return try body(&value)
        }
    }
#else
    import Synchronization

    /// A value guarded by a mutex: `Synchronization.Mutex`.
    package typealias Lock<Value> = Mutex<Value>
#endif
