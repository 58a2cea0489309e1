// Regression tests for the storage readers' fuzz crashers (Tests/Fuzz/crashers, and
// docs/reliability.md, "Fuzzing"): each feeds the reader the exact bytes that crashed it and
// expects a typed error instead.
import Testing
import VecDBKernels
import VecDBTestSupport

@testable import VecDBStorage

@Suite("Fuzz regressions: storage files")
struct StorageFuzzRegressionTests {
    let dir = TemporaryDirectory(prefix: "fuzz-storage")

    /// A payload file whose header claims 2⁶⁴ − 1 rows: converting the count to `Int` trapped.
    @Test func payloadRowCountPastIntMax() throws {
        let path = try FuzzCrashers.copy(
            "payload", "crash-89ea2b98612c01b66e74eba8c2477367f174d594.file", to: dir, as: "seg-0000000000000002.pay")
        expectVecDBError(.corruptFile, containing: "index bounds are damaged") {
            try PayloadFile(fs: .system, path: path, expectedRows: .max)
        }
        expectVecDBError(.corruptFile, containing: "its segment holds 3") {
            try PayloadFile(fs: .system, path: path, expectedRows: 3)
        }
    }

    /// A block whose raw length is far more than LZ4 can expand its compressed bytes to: found
    /// by the fuzzer as a 100-byte file that made the reader allocate up to 1 GiB per block.
    @Test func payloadBlockRawLengthBeyondLZ4Ratio() throws {
        let path = dir.file("seg-0000000000000001.pay")
        try CollectionStore.writePayloads(fs: .system, path: path, count: 2) { _ in Array("hello, payload".utf8) }
        var bytes = try FileSystem.system.readAll(path)
        // Block 0 starts at 64: compressed length, then raw length (not under the block checksum).
        let raw = UInt32(1 << 29)
        for i in 0..<4 { bytes[68 + i] = UInt8(truncatingIfNeeded: raw >> (8 * i)) }
        try FileSystem.system.replaceAtomically(path, with: bytes)
        let f = try PayloadFile(fs: .system, path: path, expectedRows: 2)
        expectVecDBError(.corruptFile, containing: "damaged lengths") { try f.payload(row: 0) }
    }

    /// A segment whose header claims 2⁶² + 4 rows (of 3 floats): the key index size
    /// `(rows + 1) × 8` overflowed while checking the section bounds.
    @Test func segmentRowCountOverflowsTheKeyIndexSize() throws {
        _ = try FuzzCrashers.copy(
            "segment", "crash-64c4cd501209772ae656121c9d1b1829db88560c.file", to: dir, as: "seg-0000000000000001.vec")
        try FileSystem.system.replaceAtomically(dir.file("seg-0000000000000001.pay"), with: [])
        expectVecDBError(.corruptFile, containing: "section bounds are damaged") {
            try Segment(
                fs: .system, directory: dir.path, id: 1, dimension: 3, elementType: .float32, metric: .l2, expectedRows: (1 << 62) + 4)
        }
    }
}
