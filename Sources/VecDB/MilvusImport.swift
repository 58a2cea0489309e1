import Foundation
import VecDBKernels
import VecDBStorage

extension MilvusExport {
    /// Reads `directory/schema.json`: decoded and checked.
    /// - Throws: `notFound` without it; `malformedFile` for another format or version, or a
    ///   schema that does not hold together.
    public static func readSchema(_ directory: String) throws(VecDBError) -> Schema {
        let path = directory + "/schema.json"
        guard FileSystem.system.exists(path) else {
            throw VecDBError(.notFound, "\(path) does not exist: not a Milvus export directory", path: path)
        }
        let bytes = try FileSystem.system.readAll(path)
        let schema: Schema
        do {
            schema = try JSONDecoder().decode(Schema.self, from: Data(bytes))
        } catch {
            throw VecDBError(.malformedFile, "\(path): not a VecDB Milvus schema (\(error))", path: path)
        }
        guard schema.format == format else {
            throw VecDBError(.malformedFile, "\(path): format '\(schema.format)', expected '\(format)'", path: path)
        }
        guard schema.formatVersion == formatVersion else {
            throw VecDBError(
                .malformedFile, "\(path): format version \(schema.formatVersion); this build reads version \(formatVersion)", path: path)
        }
        guard let dim = schema.vectorField.dim, dim > 0, dim <= 65_536,
            ["FloatVector", "Float16Vector"].contains(schema.vectorField.dataType),
            ["Int64", "VarChar"].contains(schema.primaryField.dataType),
            ["int64", "text", "tagged"].contains(schema.keyEncoding),
            schema.parts.allSatisfy({ !$0.name.contains("/") && !$0.name.hasPrefix(".") && $0.rows >= 0 })
        else {
            throw VecDBError(.malformedFile, "\(path): the vector field, primary field, key encoding or part list is invalid", path: path)
        }
        return schema
    }

    /// Creates collection `name` in `database` from an export in `directory` and fills it:
    /// the schema's dimension, metric and element type, every row as a record (columns and
    /// dynamic fields back into one payload object), and the suggested HNSW or IVF index.
    /// - Parameters:
    ///   - directory: the export directory (`schema.json` and its parts).
    ///   - database: where the collection is created.
    ///   - name: the new collection's name.
    ///   - threads: index build threads.
    ///   - progress: called with (rows imported, rows in all) after each part.
    /// - Returns: the new collection.
    /// - Throws: `notFound`/`malformedFile` as ``readSchema(_:)``; `corruptFile` when a part's
    ///   checksum fails; `malformedFile` naming the part and row for a row that does not fit
    ///   the schema; `alreadyExists` when the collection does. A failed import drops the
    ///   collection it created.
    @discardableResult
    public static func read(
        _ directory: String, into database: Database, name: String, threads: Int = 1, progress: (Int, Int) -> Void = { _, _ in }
    ) throws(VecDBError) -> Collection {
        let schema = try readSchema(directory)
        // The checksums first, so a damaged export creates nothing (parts are read again below,
        // one at a time, to keep memory bounded).
        for part in schema.parts { _ = try readPart(directory, part) }
        let metric = try Metric(parsing: schema.vecdbMetric)
        let element: ElementType =
            ElementType(rawValue: schema.vecdbElementType) ?? (schema.vectorField.dataType == "Float16Vector" ? .float16 : .float32)
        let dimension = schema.vectorField.dim ?? 0
        let collection = try database.createCollection(name, dimension: dimension, metric: metric, elementType: element)
        do {
            try fill(collection, from: directory, schema: schema, threads: threads, progress: progress)
        } catch {
            // The collection is new: a failed import leaves nothing behind.
            try? database.dropCollection(name)
            throw error
        }
        return collection
    }

    static func fill(
        _ collection: Collection, from directory: String, schema: Schema, threads: Int, progress: (Int, Int) -> Void
    ) throws(VecDBError) {
        let dimension = collection.dimension
        var done = 0
        for part in schema.parts {
            let path = directory + "/" + part.name
            let bytes = try readPart(directory, part)
            var batch: [Record] = []
            var row = 0
            try forEachRow(bytes, path: path) { (value: Payload) throws(VecDBError) in
                batch.append(try record(value, schema: schema, dimension: dimension, at: "\(path) row \(row)"))
                row += 1
                if batch.count == 1000 {
                    try collection.upsert(batch)
                    batch.removeAll(keepingCapacity: true)
                }
            }
            if !batch.isEmpty { try collection.upsert(batch) }
            done += row
            progress(done, schema.rowCount)
        }
        switch schema.index.indexType {
        case "HNSW":
            try collection.createIndex(
                .hnsw(HNSWIndexOptions(m: schema.index.params["M"] ?? 16, efConstruction: schema.index.params["efConstruction"] ?? 200)),
                threads: threads)
        case "IVF_FLAT", "IVF_SQ8", "IVF_PQ":
            let nlist = schema.index.params["nlist"] ?? 1024
            let encoding: IVFEncoding =
                schema.index.indexType == "IVF_FLAT"
                ? .flat : schema.index.indexType == "IVF_SQ8" ? .sq8 : .pq(subquantizers: schema.index.params["m"] ?? 16)
            // IVF needs at least nlist rows to train; a smaller import stays exact.
            if collection.count >= max(nlist, 256) {
                try collection.createIndex(.ivf(IVFIndexOptions(encoding: encoding, nlist: nlist)), threads: threads)
            }
        default: break
        }
    }

    /// A part's bytes, its checksum checked when the schema gives one (Milvus's own exports,
    /// or files written by another tool, carry none).
    static func readPart(_ directory: String, _ part: Part) throws(VecDBError) -> [UInt8] {
        let path = directory + "/" + part.name
        let bytes = try FileSystem.system.readAll(path)
        if let crc = part.crc32c, CRC32C.checksum(bytes) != crc {
            throw VecDBError(.corruptFile, "\(path): checksum mismatch; the export is damaged", path: path)
        }
        return bytes
    }

    /// Calls `body` with each row of a part: our layout (`[`, one row a line, `]`) is read a
    /// line at a time; any other JSON list, or `{"rows": [...]}`, is parsed whole.
    static func forEachRow(_ bytes: [UInt8], path: String, _ body: (Payload) throws(VecDBError) -> Void) throws(VecDBError) {
        let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: true)
        if lines.first.map({ Array($0) == [0x5B] }) == true, lines.last.map({ Array($0) == [0x5D] }) == true {
            for line in lines.dropFirst().dropLast() {
                var text = line
                if text.last == 0x2C { text = text.dropLast() }
                try body(try Payload(jsonText: String(decoding: text, as: UTF8.self)))
            }
            return
        }
        let whole = try Payload(jsonText: String(decoding: bytes, as: UTF8.self))
        switch whole {
        case .array(let rows): for r in rows { try body(r) }
        case .object(let o):
            guard case .array(let rows)? = o["rows"] else {
                throw VecDBError(.malformedFile, "\(path): a JSON object without a \"rows\" list", path: path)
            }
            for r in rows { try body(r) }
        default: throw VecDBError(.malformedFile, "\(path): neither a JSON list of rows nor {\"rows\": [...]}", path: path)
        }
    }

    /// One row back as a record.
    static func record(_ value: Payload, schema: Schema, dimension: Int, at place: String) throws(VecDBError) -> Record {
        guard case .object(var o) = value else { throw VecDBError(.malformedFile, "\(place): a row is not a JSON object") }
        let key: Key
        switch (o.removeValue(forKey: schema.primaryField.name), schema.keyEncoding) {
        case (.integer(let v)?, "int64") where v >= 0: key = .int(UInt64(v))
        case (.unsigned(let v)?, "int64") where v <= UInt64(Int64.max): key = .int(v)
        case (.integer(let v)?, "int64"): throw VecDBError(.malformedFile, "\(place): key \(v) is negative; VecDB keys are unsigned")
        case (.string(let s)?, "text"): key = Key(parsing: s)
        case (.string(let s)?, "tagged") where s.hasPrefix("i:"):
            guard let v = UInt64(s.dropFirst(2)) else { throw VecDBError(.malformedFile, "\(place): key '\(s)' is not i:<integer>") }
            key = .int(v)
        case (.string(let s)?, "tagged") where s.hasPrefix("s:"): key = .string(String(s.dropFirst(2)))
        default:
            throw VecDBError(
                .malformedFile, "\(place): the key field '\(schema.primaryField.name)' is missing or not a \(schema.keyEncoding) key")
        }
        guard case .array(let components)? = o.removeValue(forKey: schema.vectorField.name), components.count == dimension else {
            throw VecDBError(
                .malformedFile, "\(place): the vector field '\(schema.vectorField.name)' is missing or not \(dimension) numbers")
        }
        var vector = [Float](repeating: 0, count: dimension)
        for (j, c) in components.enumerated() {
            switch c {
            case .number(let x): vector[j] = Float(x)
            case .integer(let x): vector[j] = Float(x)
            case .unsigned(let x): vector[j] = Float(x)
            default: throw VecDBError(.malformedFile, "\(place): vector component \(j) is not a number")
            }
        }
        if case .object(let meta)? = o.removeValue(forKey: "$meta") {
            for (k, v) in meta where o[k] == nil { o[k] = v }
        }
        var payload: Payload? = o.isEmpty ? nil : .object(o)
        if let wrappedKey = schema.wrappedPayloadKey, o.count == 1, let inner = o[wrappedKey] { payload = inner }
        return Record(key: key, vector: vector, payload: payload)
    }
}
