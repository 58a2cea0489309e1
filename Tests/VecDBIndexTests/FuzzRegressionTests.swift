// Regression tests for the index readers' fuzz crashers (Tests/Fuzz/crashers, and
// docs/reliability.md, "Fuzzing"): each feeds the reader the exact bytes that crashed it and
// expects a typed error instead.
import Testing
import VecDBIndex
import VecDBKernels
import VecDBTestSupport

@Suite("Fuzz regressions: index files")
struct IndexFuzzRegressionTests {
    let dir = TemporaryDirectory(prefix: "fuzz-index")

    /// An HNSW file whose upper-level word count is near 2⁶³: `upperWords * 4` overflowed.
    @Test func hnswUpperWordCountOverflow() throws {
        let path = try FuzzCrashers.copy("hnsw", "crash-56a0589eb0754a2925fb370dda36f3d1c3e0bed9.file", to: dir, as: "index.hnsw")
        // The header claims 20 rows of dimension 4, l2, as the fuzz target supplied.
        let values = [Float](repeating: 0.5, count: 20 * 4)
        values.withUnsafeBufferPointer { v in
            let rows = RowMatrix(base: v.baseAddress.unsafelyUnwrapped, count: 20, dimension: 4)
            expectVecDBError(.corruptFile, containing: "upper-level words do not fit in the file") {
                try HNSWGraph.open(path, vectors: rows, metric: .l2)
            }
        }
    }

    /// An IVF file whose drift row count is near 2⁶³: opening worked, then adding a row
    /// overflowed `addedCount += n`.
    @Test func ivfDriftRowCountOverflow() throws {
        let path = try FuzzCrashers.copy("ivf", "crash-cf4735bf271b6d4c04871a28d28ad1ec5b0cacfb.file", to: dir, as: "index.ivf")
        expectVecDBError(.corruptFile, containing: "rows counted for drift") { try IVFIndex.open(path, verifyBody: true) }
    }
}
