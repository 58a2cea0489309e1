import Foundation
import Testing
import VecDB
import VecDBDatasets
import VecDBImport
import VecDBKernels
import VecDBTestSupport

/// The record importers: small generated files read back as the exact records they hold, in
/// batches, and malformed files rejected with the exact error naming the file and line.
@Suite("record import")
struct RecordReaderTests {
    let dir = TemporaryDirectory(prefix: "vecdb-import")

    func write(_ name: String, _ text: String) throws -> String {
        let p = dir.file(name)
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    func write(_ name: String, _ data: Data) throws -> String {
        let p = dir.file(name)
        try data.write(to: URL(fileURLWithPath: p))
        return p
    }

    /// The error `body` throws, or nil.
    func error(_ body: () throws -> Void) -> VecDBError? {
        do { try body() } catch let e as VecDBError { return e } catch { Issue.record("not a VecDBError: \(error)") }
        return nil
    }

    func readAll(_ path: String, firstKey: UInt64 = 0) throws -> [Record] {
        var reader = try RecordReader(path: path, firstKey: firstKey)
        return try reader.readAll()
    }

    @Test("JSON Lines: integer and string keys, payloads, null payload, blank lines")
    func jsonLines() throws {
        let path = try write(
            "r.jsonl",
            """
            {"key": 1, "vector": [0, 0.5, -2], "payload": {"genre": "comedy", "year": 1990}}

            {"key": "b", "vector": [1, 0, 0], "payload": null}
              {"key": 3, "vector": [3, 0, 0]}\t
            """)
        let records = try readAll(path)
        #expect(
            records == [
                Record(key: .int(1), vector: [0, 0.5, -2], payload: .object(["genre": .string("comedy"), "year": .number(1990)])),
                Record(key: .string("b"), vector: [1, 0, 0]),
                Record(key: .int(3), vector: [3, 0, 0]),
            ])
        #expect(try QueryVectors.read(contentsOf: path) == [[0, 0.5, -2], [1, 0, 0], [3, 0, 0]])
    }

    @Test("batches: at most maxCount records each, in file order, then nil", arguments: ["jsonl", "fvecs", "csv", "npy"])
    func batches(ext: String) throws {
        let rows: [[Float]] = (0..<5).map { i in [Float(i), Float(i) / 2] }
        let path: String
        switch ext {
        case "jsonl":
            let lines = rows.enumerated().map { i, r in "{\"key\": \(i + 7), \"vector\": [\(r[0]), \(r[1])]}" }
            path = try write("b.jsonl", lines.joined(separator: "\n") + "\n")
        case "csv":
            path = try write("b.csv", "x,y\n" + rows.map { "\($0[0]),\($0[1])" }.joined(separator: "\n"))
        default:
            let m = VectorMatrix(values: rows.flatMap { $0 }, count: rows.count, dimension: 2)
            path = try write("b.\(ext)", ext == "npy" ? NumpyFormat.encode(m) : VecsFormat.encodeFvecs(m))
        }
        var reader = try RecordReader(path: path, firstKey: 7)
        var sizes: [Int] = []
        var all: [Record] = []
        while let batch = try reader.next(maxCount: 2) {
            sizes.append(batch.count)
            all += batch
        }
        #expect(sizes == [2, 2, 1])
        #expect(try reader.next(maxCount: 2) == nil)
        #expect(reader.recordsRead == 5)
        #expect(all == rows.enumerated().map { i, r in Record(key: .int(UInt64(i + 7)), vector: r) })
        var again = try RecordReader(path: path, firstKey: 7)
        var handed: [[Record]] = []
        let count = try again.forEachBatch(size: 3) { handed.append($0) }
        #expect(count == 5 && handed.map(\.count) == [3, 2] && handed.flatMap { $0 } == all)
    }

    @Test("formats from file names")
    func formats() throws {
        #expect(try RecordFileFormat(path: "a.JSONL") == .jsonLines)
        #expect(try RecordFileFormat(path: "a.json") == .jsonLines)
        #expect(try RecordFileFormat(path: "a.fvecs") == .fvecs)
        #expect(try RecordFileFormat(path: "a.npy") == .npy)
        #expect(try RecordFileFormat(path: "a.csv.gz") == .csv)
        #expect(try RecordFileFormat(path: "train-images-idx3-ubyte") == .idx)
        let e = error { _ = try RecordFileFormat(path: "/x/a.txt") }
        #expect(e?.code == .unsupported)
        #expect(e?.message == "cannot tell the format of /x/a.txt; expected .fvecs, .bvecs, .npy, .csv or an IDX file")
    }

    @Test(
        "malformed JSON Lines: the exact error, naming file and line",
        arguments: [
            (#"{"key": 1, "vector": [1, 2]}"# + "\n\n" + #"{"key": 2}"#, "3: missing \"vector\" (an array of numbers)"),
            (#"{"vector": [1]}"#, "1: missing \"key\" (a non-negative integer or a string)"),
            (#"{"key": -1, "vector": [1]}"#, "1: key -1 is negative; keys are integers from 0 to 18446744073709551615, or strings"),
            (
                #"{"key": 1.5, "vector": [1]}"#,
                "1: key 1.5 is not an integer from 0 to 18446744073709551615 (a fraction, an exponent, or too large)"
            ),
            (#"{"key": 1, "vector": [1, "x"]}"#, "1: vector component 1 is not a number"),
            (#"{"key": 1, "vector": 1}"#, "1: missing \"vector\" (an array of numbers)"),
            ("[1, 2]", "1: expected a JSON object"),
        ])
    func malformedJSONLines(text: String, expected: String) throws {
        let path = try write("bad.jsonl", text)
        let e = error { _ = try readAll(path) }
        #expect(e?.code == .malformedFile)
        #expect(e?.message == "\(path):\(expected)")
        #expect(e?.path == path)
    }

    @Test("JSON that does not parse names the file and line")
    func notJSON() throws {
        let path = try write("x.jsonl", "{\"key\": 1, \"vector\": [1]}\n{\"key\": 1, \"vector\": [1, NaN]}\n")
        let e = error { _ = try readAll(path) }
        #expect(e?.code == .malformedFile)
        #expect(e?.message.hasPrefix("\(path):2: ") == true, "\(String(describing: e))")
    }

    @Test("unreadable and non-UTF-8 files")
    func unreadable() throws {
        let missing = dir.file("missing.jsonl")
        let e1 = error { _ = try readAll(missing) }
        #expect(e1?.code == .notFound && e1?.message == "cannot read \(missing)")
        let binary = try write("bin.jsonl", Data([0x7B, 0xFF, 0xFE, 0x7D, 0x0A]))
        let e2 = error { _ = try readAll(binary) }
        #expect(e2?.code == .malformedFile && e2?.message == "\(binary) is not UTF-8 text")
        let e3 = error { _ = try readAll(dir.file("missing.fvecs")) }
        #expect(e3?.code == .notFound && e3?.message == "file not found: \(dir.file("missing.fvecs"))")
    }

    @Test("malformed vector files: the exact error")
    func malformedVectors() throws {
        let csv = try write("bad.csv", "1,2\n3,4\n5\n")
        let e1 = error { _ = try readAll(csv) }
        #expect(e1?.code == .malformedFile && e1?.message == "\(csv): line 3 has 1 fields, expected 2")
        let csvText = try write("text.csv", "a,b\n1,2\nx,4\n")
        let e2 = error { _ = try readAll(csvText) }
        #expect(e2?.message == "\(csvText): line 3 has a field that is not a number")
        var bytes = VecsFormat.encodeFvecs(VectorMatrix(values: [1, 2, 3, 4], count: 2, dimension: 2))
        let truncated = try write("t.fvecs", bytes.dropLast(2))
        let e3 = error { _ = try RecordReader(path: truncated) }
        #expect(e3?.code == .malformedFile)
        #expect(e3?.message == "\(truncated) is truncated: 22 bytes is not a whole number of 12-byte vectors of dimension 2")
        bytes[12] = 3  // vector 1 declares dimension 3
        let mixed = try write("m.fvecs", bytes)
        let e4 = error { _ = try readAll(mixed) }
        #expect(e4?.code == .malformedFile && e4?.message == "\(mixed): vector 1 has dimension 3, vector 0 has 2")
    }

    @Test("keys past UInt64.max are an error, not a trap")
    func keyOverflow() throws {
        let path = try write("k.fvecs", VecsFormat.encodeFvecs(VectorMatrix(values: [1, 2], count: 2, dimension: 1)))
        let e = error { _ = try readAll(path, firstKey: .max) }
        #expect(e?.code == .invalidArgument)
        #expect(e?.message == "row 1 of \(path) would get a key past \(UInt64.max) (first key \(UInt64.max))")
        var reader = try RecordReader(path: path)
        #expect(error { _ = try reader.next(maxCount: 0) }?.code == .invalidArgument)
    }

    @Test("query vectors from text")
    func queryText() throws {
        #expect(try QueryVectors.parse("0.5, 1,\t-2") == [0.5, 1, -2])
        let e = error { _ = try QueryVectors.parse("1,x") }
        #expect(e?.code == .invalidArgument && e?.message == "--vector component 1 ('x') is not a number")
    }
}
