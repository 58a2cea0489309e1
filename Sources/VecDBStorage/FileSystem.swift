import VecDBKernels

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The system calls the storage engine makes, named for fault injection.
package enum FileOperation: String, Sendable, CaseIterable {
    case open, read, write, sync, rename, truncate, map, lock, unlink, syncDirectory, makeDirectory, listDirectory
}

/// What a ``FaultInjector`` makes a system call do instead of running it.
package enum InjectedFault: Sendable, Equatable {
    /// The call fails with this error number (ENOSPC, EIO, …) without doing anything.
    case fail(errno: Int32)
    /// A write stores only its first `bytes` bytes, then the device is full (ENOSPC).
    case shortWrite(bytes: Int)
}

/// Decides, before each system call, whether it should fail. SQLite's test VFS plays this part.
package protocol FaultInjector: Sendable {
    func fault(for operation: FileOperation, path: String) -> InjectedFault?
}

/// The one seam through which the storage engine reaches the operating system.
///
/// Every open, read, write, fsync, rename, truncate, mmap, flock, unlink and directory fsync
/// goes through a `FileSystem` value, so tests can swap in a ``FaultInjector`` that fails any
/// call (ENOSPC, EIO, short writes), the way SQLite's crash tests swap the VFS. Errors become
/// ``VecDBError`` values that name the file: ``VecDBError/Code/diskFull`` for ENOSPC and EDQUOT,
/// ``VecDBError/Code/io`` otherwise, with `errno` set.
package struct FileSystem: Sendable {
    package var injector: (any FaultInjector)?

    package init(injector: (any FaultInjector)? = nil) {
        self.injector = injector
    }

    package static let system = FileSystem()

    @inline(__always)
    func check(_ op: FileOperation, _ path: String) throws(VecDBError) -> InjectedFault? {
        guard let injector, let f = injector.fault(for: op, path: path) else { return nil }
        if case .fail(let e) = f { throw Self.error(op, path: path, errno: e) }
        return f
    }

    package static func error(_ op: FileOperation, path: String, errno e: Int32) -> VecDBError {
        let reason = String(cString: strerror(e))
        let verb: String
        switch op {
        case .open: verb = "open"
        case .read: verb = "read"
        case .write: verb = "write"
        case .sync: verb = "fsync"
        case .rename: verb = "rename"
        case .truncate: verb = "truncate"
        case .map: verb = "memory-map"
        case .lock: verb = "lock"
        case .unlink: verb = "remove"
        case .syncDirectory: verb = "fsync directory"
        case .makeDirectory: verb = "create directory"
        case .listDirectory: verb = "list directory"
        }
        let code: VecDBError.Code = (e == ENOSPC || e == EDQUOT) ? .diskFull : .io
        return VecDBError(code, "cannot \(verb) '\(path)': \(reason)", path: path, errno: e)
    }

    // MARK: Files

    /// Opens `path`; `create` adds O_CREAT, `truncate` adds O_TRUNC.
    package func open(_ path: String, writable: Bool, create: Bool = false, truncate: Bool = false) throws(VecDBError) -> FileHandle {
        _ = try check(.open, path)
        var flags: Int32 = writable ? O_RDWR : O_RDONLY
        if create { flags |= O_CREAT }
        if truncate { flags |= O_TRUNC }
        flags |= O_CLOEXEC
        let fd = Glibc.open(path, flags, 0o644)
        if fd < 0 { throw Self.error(.open, path: path, errno: errno) }
        return FileHandle(fd: fd, path: path, fs: self)
    }

    package func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    package func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    package func fileSize(_ path: String) -> Int? {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : nil
    }

    package func rename(_ from: String, to: String) throws(VecDBError) {
        _ = try check(.rename, from)
        if Glibc.rename(from, to) != 0 { throw Self.error(.rename, path: from, errno: errno) }
    }

    package func unlink(_ path: String) throws(VecDBError) {
        _ = try check(.unlink, path)
        if Glibc.unlink(path) != 0 && errno != ENOENT { throw Self.error(.unlink, path: path, errno: errno) }
    }

    /// Creates `path` (one level); succeeds when it already exists as a directory.
    package func makeDirectory(_ path: String) throws(VecDBError) {
        _ = try check(.makeDirectory, path)
        if mkdir(path, 0o755) != 0 {
            let e = errno
            if e == EEXIST && isDirectory(path) { return }
            throw Self.error(.makeDirectory, path: path, errno: e)
        }
    }

    /// Creates `path` and its missing parents.
    package func makeDirectories(_ path: String) throws(VecDBError) {
        if isDirectory(path) { return }
        let parent = Self.parent(of: path)
        if !parent.isEmpty && parent != path && !isDirectory(parent) { try makeDirectories(parent) }
        try makeDirectory(path)
    }

    /// The names in a directory, without `.` and `..`.
    package func list(_ path: String) throws(VecDBError) -> [String] {
        _ = try check(.listDirectory, path)
        guard let dir = opendir(path) else { throw Self.error(.listDirectory, path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Removes a file or a directory tree; missing paths are fine.
    package func removeTree(_ path: String) throws(VecDBError) {
        if isDirectory(path) {
            for name in try list(path) { try removeTree(path + "/" + name) }
            _ = try check(.unlink, path)
            if rmdir(path) != 0 && errno != ENOENT { throw Self.error(.unlink, path: path, errno: errno) }
        } else {
            try unlink(path)
        }
    }

    /// fsyncs a directory, making renames, creations and removals in it durable.
    package func syncDirectory(_ path: String) throws(VecDBError) {
        _ = try check(.syncDirectory, path)
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw Self.error(.syncDirectory, path: path, errno: errno) }
        defer { Glibc.close(fd) }
        if fsync(fd) != 0 { throw Self.error(.syncDirectory, path: path, errno: errno) }
    }

    /// Writes `bytes` to a new file at `path` durably and atomically: a temporary file is
    /// written and fsynced, renamed over `path`, and the directory is fsynced.
    package func replaceAtomically(_ path: String, with bytes: [UInt8]) throws(VecDBError) {
        let tmp = path + ".tmp"
        let h = try open(tmp, writable: true, create: true, truncate: true)
        do throws(VecDBError) {
            try h.write(bytes, at: 0)
            try h.sync()
            h.close()
        } catch {
            h.close()
            try? unlink(tmp)
            throw error
        }
        try rename(tmp, to: path)
        try syncDirectory(Self.parent(of: path))
    }

    /// Reads a whole (small) file.
    package func readAll(_ path: String) throws(VecDBError) -> [UInt8] {
        let h = try open(path, writable: false)
        defer { h.close() }
        let n = try h.size()
        return try h.read(count: n, at: 0)
    }

    package static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let p = String(path[..<slash])
        return p.isEmpty ? "/" : p
    }
}

/// An open file descriptor, closed on `deinit` or ``close()``.
package final class FileHandle: @unchecked Sendable {
    // Sendable because the descriptor is only read after init; pread/pwrite are positional and
    // thread-safe, and callers serialise appends (the WAL holds its own lock).
    package let fd: Int32
    package let path: String
    let fs: FileSystem
    private var closed = false

    init(fd: Int32, path: String, fs: FileSystem) {
        self.fd = fd
        self.path = path
        self.fs = fs
    }

    deinit { if !closed { Glibc.close(fd) } }

    package func close() {
        if !closed {
            closed = true
            Glibc.close(fd)
        }
    }

    package func size() throws(VecDBError) -> Int {
        var st = stat()
        if fstat(fd, &st) != 0 { throw FileSystem.error(.read, path: path, errno: errno) }
        return Int(st.st_size)
    }

    /// Reads exactly `count` bytes at `offset` (fewer only at the end of the file).
    package func read(count: Int, at offset: Int) throws(VecDBError) -> [UInt8] {
        _ = try fs.check(.read, path)
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        var failure: Int32 = 0
        out.withUnsafeMutableBytes { buf in
            while done < count {
                let n = pread(fd, buf.baseAddress.unsafelyUnwrapped + done, count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                if n == 0 { break }
                done += n
            }
        }
        if failure != 0 { throw FileSystem.error(.read, path: path, errno: failure) }
        if done < count { out.removeLast(count - done) }
        return out
    }

    /// Writes all of `bytes` at `offset`, retrying short writes.
    package func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(VecDBError) {
        var limit = bytes.count
        var injectedShort = false
        if let f = try fs.check(.write, path), case .shortWrite(let n) = f {
            limit = min(max(0, n), bytes.count)
            injectedShort = true
        }
        var done = 0
        while done < limit {
            let n = pwrite(fd, bytes.baseAddress.unsafelyUnwrapped + done, limit - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw FileSystem.error(.write, path: path, errno: errno)
            }
            done += n
        }
        if injectedShort { throw FileSystem.error(.write, path: path, errno: ENOSPC) }
    }

    package func write(_ bytes: [UInt8], at offset: Int) throws(VecDBError) {
        try typed {
            try bytes.withUnsafeBytes { p in
                if p.count > 0 { try write(p, at: offset) }
            }
        }
    }

    package func sync() throws(VecDBError) {
        _ = try fs.check(.sync, path)
        if fdatasync(fd) != 0 { throw FileSystem.error(.sync, path: path, errno: errno) }
    }

    package func truncate(to size: Int) throws(VecDBError) {
        _ = try fs.check(.truncate, path)
        if ftruncate(fd, off_t(size)) != 0 { throw FileSystem.error(.truncate, path: path, errno: errno) }
    }

    /// Maps the first `count` bytes read-only and shared.
    package func mapReadOnly(count: Int) throws(VecDBError) -> MappedRegion {
        _ = try fs.check(.map, path)
        if count == 0 { return MappedRegion(base: nil, count: 0) }
        guard let p = mmap(nil, count, PROT_READ, MAP_SHARED, fd, 0), p != MAP_FAILED else {
            throw FileSystem.error(.map, path: path, errno: errno)
        }
        return MappedRegion(base: UnsafeRawPointer(p), count: count)
    }

    /// Takes an advisory flock without waiting: `exclusive` for a writer, shared for readers.
    /// Returns false when another open file description holds a conflicting lock.
    package func tryLock(exclusive: Bool) throws(VecDBError) -> Bool {
        _ = try fs.check(.lock, path)
        if flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 { return true }
        let e = errno
        if e == EWOULDBLOCK || e == EAGAIN { return false }
        throw FileSystem.error(.lock, path: path, errno: e)
    }
}

/// A read-only memory mapping, unmapped on `deinit`.
///
/// Segments keep one for their lifetime; readers that hold a segment keep the mapping valid
/// even after compaction unlinks the file.
package final class MappedRegion: @unchecked Sendable {
    // Sendable: the mapping is read-only and immutable for its whole life.
    package let base: UnsafeRawPointer?
    package let count: Int

    init(base: UnsafeRawPointer?, count: Int) {
        self.base = base
        self.count = count
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    package var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}
