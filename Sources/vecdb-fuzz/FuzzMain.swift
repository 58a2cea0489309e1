// libFuzzer entry points for VecDB's file readers and parsers (docs/reliability.md, "Fuzzing").
//
// Built only with VECDB_FUZZ=1 and `--sanitize=fuzzer` (scripts/fuzz.sh), which links libFuzzer
// and its `main`. One binary holds every target; the environment variable VECDB_FUZZ_TARGET
// chooses which one `LLVMFuzzerTestOneInput` feeds:
//
//   wal, segment, manifest, payload, hnsw, ivf   binary files of the storage engine and indexes
//   filter, shell                                filter text and shell lines
//   jsonl, csv, npy, fvecs, idx                  the record and vector files `vecdb import` reads
//
// Every target hands the bytes to the real reader (through a scratch file when the reader only
// takes a path) and then uses what it read the way the database would. Thrown errors are the
// expected outcome for bad input; only a crash, a trap or a hang is a finding.
//
// The binary formats are checksummed, which would stop a fuzzer at the first CRC. So for wal,
// segment, manifest, payload, hnsw and ivf the first input byte is a control byte: when its
// bit 0 is set the harness recomputes the file's checksums (``Checksums``) before reading, so
// mutations reach the parser behind them; when clear, the bytes are read as they are.
//
// With VECDB_FUZZ_SEEDS=DIR set, the binary instead writes the seed corpus (valid small files
// made by the library itself, ``SeedCorpus``) under DIR/<target>/ and exits.
import VecDBKernels

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes `message` to standard error.
func complain(_ message: String) {
    var m = message
    m.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// The fuzz targets, by the name VECDB_FUZZ_TARGET gives.
enum FuzzTarget: String, CaseIterable {
    case wal, segment, manifest, payload, hnsw, ivf, filter, jsonl, csv, shell, npy, fvecs, idx

    /// Whether the first input byte is the control byte (bit 0: recompute checksums).
    var hasControlByte: Bool {
        switch self {
        case .wal, .segment, .manifest, .payload, .hnsw, .ivf: return true
        default: return false
        }
    }

    /// Runs this target on one input.
    func run(_ data: [UInt8]) {
        if hasControlByte {
            let fix = data.first.map { $0 & 1 != 0 } ?? false
            var file = Array(data.dropFirst())
            switch self {
            case .wal: StorageTargets.wal(&file, fix: fix)
            case .segment: StorageTargets.segment(&file, fix: fix)
            case .manifest: StorageTargets.manifest(&file, fix: fix)
            case .payload: StorageTargets.payload(&file, fix: fix)
            case .hnsw: IndexTargets.hnsw(&file, fix: fix)
            case .ivf: IndexTargets.ivf(&file, fix: fix)
            default: break
            }
            return
        }
        switch self {
        case .filter: TextTargets.filter(data)
        case .shell: TextTargets.shell(data)
        case .jsonl: TextTargets.jsonl(data)
        case .csv: TextTargets.csv(data)
        case .npy: TextTargets.npy(data)
        case .fvecs: TextTargets.fvecs(data)
        case .idx: TextTargets.idx(data)
        default: break
        }
    }

    /// The target VECDB_FUZZ_TARGET names; exits with a message when it names none.
    static let selected: FuzzTarget = {
        let name = getenv("VECDB_FUZZ_TARGET").map { String(cString: $0) } ?? ""
        guard let t = FuzzTarget(rawValue: name) else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
            complain("vecdb-fuzz: set VECDB_FUZZ_TARGET to one of: \(names) (got '\(name)')\n")
            exit(2)
        }
        return t
    }()
}

/// A private scratch directory for the files a target writes (on tmpfs when there is one).
enum Scratch {
    static let directory: String = {
        let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        var template = Array("\(base)/vecdb-fuzz-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buf in buf.baseAddress.flatMap { mkdtemp($0) } }
        guard let made else {
            complain("vecdb-fuzz: cannot create a scratch directory under \(base)\n")
            exit(2)
        }
        let path = String(cString: made)
        atexit { Scratch.removeAll() }
        return path
    }()

    /// The scratch path of file `name`.
    static func path(_ name: String) -> String { directory + "/" + name }

    /// Writes `bytes` to scratch file `name` (no fsync: the file is read back at once) and
    /// returns its path.
    @discardableResult
    static func store(_ name: String, _ bytes: [UInt8]) -> String {
        let p = path(name)
        let fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else {
            complain("vecdb-fuzz: cannot write \(p)\n")
            exit(2)
        }
        var done = 0
        bytes.withUnsafeBytes { raw in
            while done < raw.count {
                let n = write(fd, raw.baseAddress.unsafelyUnwrapped + done, raw.count - done)
                if n <= 0 { break }
                done += n
            }
        }
        close(fd)
        if let keep {
            let copy = open(keep + "/" + name, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            if copy >= 0 {
                bytes.withUnsafeBytes { raw in _ = write(copy, raw.baseAddress, raw.count) }
                close(copy)
            }
        }
        return p
    }

    /// VECDB_FUZZ_KEEP=DIR: also copy every scratch file to DIR, to see the bytes (checksums
    /// repaired) that a reader was given, for instance when turning a crasher into a test.
    static let keep: String? = getenv("VECDB_FUZZ_KEEP").map { String(cString: $0) }

    /// Removes scratch file `path`.
    static func remove(_ path: String) { unlink(path) }

    /// Removes the scratch directory and its files (at exit).
    static func removeAll() {
        guard let dir = opendir(directory) else { return }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { unlink(path(name)) }
        }
        closedir(dir)
        rmdir(directory)
    }
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>
)
    -> CInt
{
    if let out = getenv("VECDB_FUZZ_SEEDS") {
        let dir = String(cString: out)
        do {
            try SeedCorpus.write(to: dir)
        } catch {
            complain("vecdb-fuzz: writing the seed corpus failed: \(error)\n")
            exit(1)
        }
        print("vecdb-fuzz: seed corpus written under \(dir)")
        exit(0)
    }
    _ = FuzzTarget.selected
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    FuzzTarget.selected.run(bytes)
    return 0
}
