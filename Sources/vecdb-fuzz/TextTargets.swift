// Fuzz targets for the text parsers (filters, shell lines) and the record and vector files that
// `vecdb import` and the benchmarks read: JSON Lines, CSV, `.npy`, `.fvecs` (and `.ivecs`,
// `.bvecs`, which share its layout) and IDX.
//
// File readers get the bytes through a scratch file, as `RecordReader` takes a path; where a
// reader also has an in-memory entry point, that is fed too.
import Foundation
import VecDB
import VecDBDatasets
import VecDBImport
import VecDBKernels

enum TextTargets {
    /// A payload with nested fields of every kind, for filters to match against.
    static let samplePayload: Payload = [
        "name": "alpha", "year": 1999, "price": 12.5, "tags": ["a", "b"], "active": true, "none": nil,
        "nested": ["depth": ["x": 1, "y": "two"]],
    ]

    /// Filter text: parse, match, print and parse the printed form again.
    static func filter(_ data: [UInt8]) {
        guard let f = try? Filter(parsing: String(decoding: data, as: UTF8.self)) else { return }
        _ = f.matches(samplePayload)
        _ = f.matches(nil)
        _ = try? Filter(parsing: f.description)
    }

    /// A shell line: split into words.
    static func shell(_ data: [UInt8]) {
        _ = try? ShellLine.split(String(decoding: data, as: UTF8.self))
    }

    /// Every record of a file read by `RecordReader`, in batches of 7 (so batches end mid-file).
    static func readAll(_ name: String, _ data: [UInt8], format: RecordFileFormat) {
        let path = Scratch.store(name, data)
        defer { Scratch.remove(path) }
        guard var reader = try? RecordReader(path: path, format: format) else { return }
        while let batch = try? reader.next(maxCount: 7), !batch.isEmpty {}
    }

    /// JSON Lines: the file reader, and each line as a vector record and as a text record.
    static func jsonl(_ data: [UInt8]) {
        readAll("records.jsonl", data, format: .jsonLines)
        for (i, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let text = String(decoding: line, as: UTF8.self)
            _ = try? RecordReader.record(fromJSONLine: text, lineNumber: i + 1, path: "records.jsonl")
            _ = try? RecordReader.textRecord(fromJSONLine: text, lineNumber: i + 1, path: "records.jsonl")
        }
    }

    /// CSV vectors: the file reader.
    static func csv(_ data: [UInt8]) {
        readAll("vectors.csv", data, format: .csv)
    }

    /// `.npy`: the header parser, then the file reader.
    static func npy(_ data: [UInt8]) {
        _ = try? NumpyFormat.parseHeader(Data(data), path: "vectors.npy")
        readAll("vectors.npy", data, format: .npy)
    }

    /// `.fvecs`: the batch reader (`RecordReader`), the whole-file reader, and the `.ivecs`
    /// and `.bvecs` readers on the same bytes.
    static func fvecs(_ data: [UInt8]) {
        readAll("vectors.fvecs", data, format: .fvecs)
        let path = Scratch.store("whole.fvecs", data)
        defer { Scratch.remove(path) }
        _ = try? VecsFormat.readFvecs(path)
        _ = try? VecsFormat.readFvecs(path, limit: 2)
        _ = try? VecsFormat.readIvecs(path)
        _ = try? VecsFormat.readBvecs(path)
    }

    /// IDX: the in-memory parser, then the file reader (images as rows).
    static func idx(_ data: [UInt8]) {
        _ = try? IDXFormat.parse(Data(data), path: "images-idx3-ubyte")
        readAll("images-idx3-ubyte", data, format: .idx)
    }
}
