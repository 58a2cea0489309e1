import Foundation
import VecDB
import VecDBDatasets
import VecDBKernels

/// Reads the records of a JSON Lines, CSV, `.fvecs`, `.bvecs`, `.npy` or IDX file, a batch at
/// a time.
///
/// A service imports a large file without holding all of it: JSON Lines and `.fvecs` files are
/// memory-mapped and parsed one batch at a time, so memory holds the mapping's resident pages
/// and one batch of records. CSV, `.bvecs`, `.npy` and IDX files are read whole on the first
/// batch, then handed out a batch at a time.
///
/// ```swift
/// var reader = try RecordReader(path: "items.jsonl")
/// while let batch = try reader.next(maxCount: 10_000) {
///     try collection.upsert(batch)
/// }
/// ```
///
/// Records of vector files get integer keys from `firstKey` upward, in row order. Errors name
/// the file, and for JSON Lines and CSV the line (`items.jsonl:7: missing "vector" …`).
public struct RecordReader: Sendable {
    /// The file read.
    public let path: String
    /// The file's format.
    public let format: RecordFileFormat
    /// The key of a vector file's first row.
    public let firstKey: UInt64
    /// For JSON Lines, the file line of each record read so far, in order (blank lines are
    /// skipped, so record i is not always line i + 1); empty for other formats.
    public private(set) var lineNumbers: [Int] = []
    /// Records returned so far.
    public private(set) var recordsRead = 0

    var source: Source

    /// Where the next records come from.
    enum Source: Sendable {
        /// A JSON Lines file, parsed line by line.
        case jsonLines(JSONLinesCursor)
        /// An `.fvecs` file, read a range of rows at a time.
        case fvecs(VecsFormat.FvecsRows)
        /// A vector file not read yet.
        case unread
        /// A vector file read whole.
        case matrix(VectorMatrix<Float>)
    }

    /// Opens a file of records or vectors.
    ///
    /// JSON Lines files are checked to be UTF-8 text, and `.fvecs` files to have a valid first
    /// header and a whole number of vectors, before any record is read. Other vector files are
    /// read by the first call to ``next(maxCount:)``.
    ///
    /// - Parameters:
    ///   - path: the file.
    ///   - format: the file's format; nil: the one its name gives (``RecordFileFormat/init(path:)``).
    ///   - firstKey: the key of a vector file's first row (ignored for JSON Lines).
    /// - Throws: `VecDBError`: `unsupported` when the name gives no format, `notFound` when the
    ///   file cannot be read, `malformedFile` when it is not UTF-8 text or not a valid `.fvecs` file.
    public init(path: String, format: RecordFileFormat? = nil, firstKey: UInt64 = 0) throws {
        self.path = path
        self.format = try format ?? RecordFileFormat(path: path)
        self.firstKey = firstKey
        switch self.format {
        case .jsonLines: source = .jsonLines(try JSONLinesCursor(path: path))
        case .fvecs: source = .fvecs(try VecsFormat.FvecsRows(path: path))
        default: source = .unread
        }
    }

    /// The next records of the file, at most `maxCount` of them.
    ///
    /// - Parameter maxCount: the largest batch returned; at least 1.
    /// - Returns: the next records in file order, or nil after the last.
    /// - Throws: `VecDBError` with code `malformedFile` naming the file (and line) of a malformed
    ///   record, `invalidArgument` when `maxCount` is below 1 or keys would pass `UInt64.max`.
    public mutating func next(maxCount: Int) throws -> [Record]? {
        guard maxCount >= 1 else { throw VecDBError(.invalidArgument, "a batch must hold at least 1 record, got \(maxCount)") }
        switch source {
        case .jsonLines(var cursor):
            let batch = try cursor.next(maxCount: maxCount)
            lineNumbers += cursor.lastLines
            source = .jsonLines(cursor)
            return finish(batch)
        case .fvecs(let rows):
            let range = recordsRead..<min(recordsRead + maxCount, rows.count)
            guard !range.isEmpty else { return nil }
            return finish(try records(rows.rows(range), dimension: rows.dimension, first: range.lowerBound))
        case .unread:
            source = .matrix(try readVectors())
            return try next(maxCount: maxCount)
        case .matrix(let m):
            let range = recordsRead..<min(recordsRead + maxCount, m.count)
            guard !range.isEmpty else { return nil }
            let values = Array(m.values[(range.lowerBound * m.dimension)..<(range.upperBound * m.dimension)])
            return finish(try records(values, dimension: m.dimension, first: range.lowerBound))
        }
    }

    /// Every remaining record of the file.
    ///
    /// - Returns: the records in file order.
    /// - Throws: as ``next(maxCount:)``.
    public mutating func readAll() throws -> [Record] {
        var all: [Record] = []
        while let batch = try next(maxCount: 65_536) { all += batch }
        return all
    }

    /// Reads the remaining records in batches and hands each to `body`, in file order.
    ///
    /// A malformed record ends the reading with its error; the batches before it have been
    /// handed over already.
    ///
    /// - Parameters:
    ///   - size: records per batch (the last may hold fewer); at least 1.
    ///   - body: receives each batch; an error it throws ends the reading.
    /// - Returns: the number of records handed over.
    /// - Throws: as ``next(maxCount:)``, or what `body` throws.
    @discardableResult
    public mutating func forEachBatch(size: Int, _ body: ([Record]) throws -> Void) throws -> Int {
        var count = 0
        while let batch = try next(maxCount: size) {
            try body(batch)
            count += batch.count
        }
        return count
    }

    /// Counts a batch; nil for an empty one (the end of the file).
    mutating func finish(_ batch: [Record]) -> [Record]? {
        guard !batch.isEmpty else { return nil }
        recordsRead += batch.count
        return batch
    }

    /// Records for rows `first…` of a vector file, keyed from `firstKey + first`.
    func records(_ values: [Float], dimension: Int, first: Int) throws -> [Record] {
        let n = dimension == 0 ? 0 : values.count / dimension
        var out: [Record] = []
        out.reserveCapacity(n)
        for i in 0..<n {
            let (key, overflow) = firstKey.addingReportingOverflow(UInt64(first + i))
            guard !overflow else {
                throw VecDBError(
                    .invalidArgument,
                    "row \(first + i) of \(path) would get a key past \(UInt64.max) "
                        + "(first key \(firstKey))", path: path)
            }
            out.append(Record(key: .int(key), vector: Array(values[(i * dimension)..<((i + 1) * dimension)])))
        }
        return out
    }

    /// The whole of a CSV, `.bvecs`, `.npy` or IDX file.
    func readVectors() throws -> VectorMatrix<Float> {
        switch format {
        case .bvecs: try VecsFormat.readBvecs(path)
        case .npy: try NumpyFormat.readMatrix(path)
        case .csv: try CSVFormat.readFloats(path)
        case .idx: try IDXFormat.readImages(path)
        case .fvecs: try VecsFormat.readFvecs(path)
        case .jsonLines: throw VecDBError(.unsupported, "\(path) holds records, not vectors", path: path)
        }
    }
}
