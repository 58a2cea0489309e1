import VecDBKernels

/// The kinds of file a ``RecordReader`` reads.
///
/// JSON Lines files carry whole records (key, vector, payload). The others carry only vectors;
/// their records get integer keys counted up from a first key, in row order.
public enum RecordFileFormat: String, Sendable, CaseIterable {
    /// One JSON object per line: `{"key": 7 | "id-7", "vector": [0.1, …], "payload": {…}}`.
    case jsonLines
    /// The ANN benchmarks' `.fvecs`: per vector, its dimension (Int32) then Float32 components.
    case fvecs
    /// `.bvecs`: per vector, its dimension (Int32) then byte components.
    case bvecs
    /// A one- or two-dimensional NumPy `.npy` array of float32, float64, int32 or int64.
    case npy
    /// Comma-separated numbers, one vector per line, with an optional header line (`.csv`, `.csv.gz`).
    case csv
    /// IDX image files (`*-ubyte`), one image per vector.
    case idx

    /// The format a file's name gives: `.jsonl` or `.json`, `.fvecs`, `.bvecs`, `.npy`, `.csv`
    /// or `.csv.gz`, or a name containing `ubyte`.
    ///
    /// The extension is matched without regard to case.
    ///
    /// - Parameter path: the file's path; the file is not opened.
    /// - Throws: `VecDBError` with code `unsupported` when the name gives no known format.
    public init(path: String) throws {
        let lower = path.lowercased()
        if lower.hasSuffix(".jsonl") || lower.hasSuffix(".json") {
            self = .jsonLines
        } else if lower.hasSuffix(".fvecs") {
            self = .fvecs
        } else if lower.hasSuffix(".bvecs") {
            self = .bvecs
        } else if lower.hasSuffix(".npy") {
            self = .npy
        } else if lower.hasSuffix(".csv") || lower.hasSuffix(".csv.gz") {
            self = .csv
        } else if lower.contains("ubyte") {
            self = .idx
        } else {
            throw VecDBError(
                .unsupported, "cannot tell the format of \(path); expected .fvecs, .bvecs, .npy, .csv or an IDX file",
                path: path)
        }
    }

    /// Whether the file's records carry their own keys (JSON Lines) rather than row numbers.
    public var carriesKeys: Bool { self == .jsonLines }
}
