import Foundation
import VecDBKernels
import VecDBStorage

/// The layout `vecdb export --format milvus` writes and `vecdb import --format milvus` reads:
/// Milvus's row-based JSON bulk-import files plus a `schema.json` that says how to create the
/// collection there.
///
/// ```
/// DIR/schema.json          the Milvus schema, index suggestion, file list with CRC-32C
/// DIR/part-00000.json      [ {"id": 1, "vector": [...], "color": "red", ...},
/// DIR/part-00001.json        ... one row a line ... ]
/// ```
///
/// Row-based JSON is the one layout of Milvus's bulk import that carries the dynamic field
/// (payload fields that are not columns) and nested payloads without a Parquet writer, and
/// that pymilvus's `insert` takes as it is. Each part holds at most ``partBytes`` bytes, so an
/// export and an import run in bounded memory whatever the collection's size. See
/// `docs/scale-out.md`.
public enum MilvusExport {
    /// The `format` of `schema.json`.
    public static let format = "vecdb-milvus-export"
    public static let formatVersion = 1
    /// About the most bytes of JSON in one part file.
    public static let partBytes = 16 << 20
    /// Payload fields that become typed columns at most (Milvus allows 64 fields by default).
    static let maxScalarFields = 32

    /// One column of the Milvus schema.
    public struct Field: Codable, Sendable, Equatable {
        public var name: String
        /// Milvus's name of the type: `Int64`, `VarChar`, `Double`, `Bool`, `FloatVector`, `Float16Vector`.
        public var dataType: String
        public var maxLength: Int?
        public var dim: Int?

        enum CodingKeys: String, CodingKey {
            case name
            case dataType = "data_type"
            case maxLength = "max_length"
            case dim
        }
    }

    /// The index Milvus should build, carried over from the collection's.
    public struct IndexSuggestion: Codable, Sendable, Equatable {
        public var indexType: String
        public var metricType: String
        public var params: [String: Int]

        enum CodingKeys: String, CodingKey {
            case indexType = "index_type"
            case metricType = "metric_type"
            case params
        }
    }

    /// One data file and its checksum (CRC-32C of the whole file; absent in files another
    /// tool wrote, which are then read unchecked).
    public struct Part: Codable, Sendable, Equatable {
        public var name: String
        public var rows: Int
        public var crc32c: UInt32?
    }

    /// `schema.json`.
    public struct Schema: Codable, Sendable, Equatable {
        public var format: String
        public var formatVersion: Int
        public var collectionName: String
        public var primaryField: Field
        public var vectorField: Field
        public var scalarFields: [Field]
        public var enableDynamicField: Bool
        public var metricType: String
        public var index: IndexSuggestion
        public var rowCount: Int
        public var parts: [Part]
        /// How VecDB keys are written in the primary field: `int64` (the number), `text`
        /// (decimal for integer keys, the string for string keys) or `tagged` (`i:` or `s:`
        /// before either, when a string key is all digits and would read back as an integer).
        public var keyEncoding: String
        /// VecDB's metric and element type, so an import gives back the same collection.
        public var vecdbMetric: String
        public var vecdbElementType: String
        /// The dynamic key that holds a payload that is not a JSON object, if any record has one.
        public var wrappedPayloadKey: String?

        enum CodingKeys: String, CodingKey {
            case format
            case formatVersion = "format_version"
            case collectionName = "collection_name"
            case primaryField = "primary_field"
            case vectorField = "vector_field"
            case scalarFields = "scalar_fields"
            case enableDynamicField = "enable_dynamic_field"
            case metricType = "metric_type"
            case index
            case rowCount = "row_count"
            case parts
            case keyEncoding = "key_encoding"
            case vecdbMetric = "vecdb_metric"
            case vecdbElementType = "vecdb_element_type"
            case wrappedPayloadKey = "wrapped_payload_key"
        }
    }

    /// Milvus's name of a metric.
    public static func milvusMetric(_ m: Metric) -> String {
        switch m {
        case .l2: return "L2"
        case .ip: return "IP"
        case .cosine: return "COSINE"
        }
    }

    /// A Milvus field name: letters, digits and underscores, not starting with a digit.
    static func isFieldName(_ s: String) -> Bool {
        guard let first = s.utf8.first, s.utf8.count <= 255, !(0x30...0x39).contains(first) else { return false }
        return s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }
    }

    /// What one pass over the records learns about a top-level payload field.
    struct FieldStats {
        var count = 0
        var type: String?
        var mixed = false
        var maxBytes = 0
    }

    /// Writes `collection` (one snapshot of it) into `directory` (created; it must not exist or
    /// be empty). Two passes: the first types the payload fields and the keys, the second writes
    /// the parts.
    /// - Parameters:
    ///   - collection: the collection to export.
    ///   - directory: where the files go.
    ///   - progress: called with (rows written, rows in all) after each part.
    /// - Returns: the schema written.
    /// - Throws: `invalidArgument` when `directory` holds files, or a key is a string longer
    ///   than Milvus's 65,535-byte VarChar; `io` when a file cannot be written.
    @discardableResult
    public static func write(
        _ collection: Collection, to directory: String, progress: (Int, Int) -> Void = { _, _ in }
    ) throws(VecDBError) -> Schema {
        let fs = FileSystem.system
        if fs.exists(directory) {
            guard fs.isDirectory(directory), try fs.list(directory).isEmpty else {
                throw VecDBError(.invalidArgument, "\(directory) exists and is not an empty directory", path: directory)
            }
        }
        try fs.makeDirectories(directory)
        let snapshot = collection.snapshot()
        let total = snapshot.count

        // Pass 1: key kinds, payload field types, names in use.
        var fields: [String: FieldStats] = [:]
        var objects = 0
        var wrapped = false
        var allInt64 = true
        var digitStrings = false
        var longestKey = 1
        try snapshot.forEachRecord { (r: Record) throws(VecDBError) in
            switch r.key {
            case .int(let v):
                if v > UInt64(Int64.max) { allInt64 = false }
                longestKey = max(longestKey, String(v).utf8.count)
            case .string(let s):
                allInt64 = false
                if Key(parsing: s) != r.key { digitStrings = true }
                longestKey = max(longestKey, s.utf8.count)
            }
            switch r.payload {
            case .object(let o)?:
                objects += 1
                for (name, value) in o {
                    var f = fields[name] ?? FieldStats()
                    f.count += 1
                    let t: String?
                    switch value {
                    case .bool: t = "Bool"
                    case .integer: t = "Int64"
                    case .unsigned(let u): t = u <= UInt64(Int64.max) ? "Int64" : nil
                    case .number: t = "Double"
                    case .string(let s):
                        t = "VarChar"
                        f.maxBytes = max(f.maxBytes, s.utf8.count)
                    default: t = nil
                    }
                    if t == nil || (f.type != nil && f.type != t) { f.mixed = true }
                    f.type = f.type ?? t
                    fields[name] = f
                }
            case nil: break
            default: wrapped = true
            }
        }
        let keyEncoding = allInt64 ? "int64" : (digitStrings ? "tagged" : "text")
        if keyEncoding == "tagged" { longestKey += 2 }
        guard longestKey <= 65_535 else {
            throw VecDBError(.invalidArgument, "a key is \(longestKey) bytes long; Milvus's VarChar primary key holds at most 65,535")
        }
        func unused(_ candidates: [String]) -> String {
            for c in candidates where fields[c] == nil { return c }
            var i = 0
            while fields["\(candidates[0])_\(i)"] != nil { i += 1 }
            return "\(candidates[0])_\(i)"
        }
        let primaryName = unused(["id", "pk", "vecdb_key"])
        let vectorName = unused(["vector", "embedding", "vecdb_vector"])
        let wrappedKey = wrapped ? unused(["vecdb_payload"]) : nil
        // A column: in every record, one scalar type, a Milvus name, not one of ours.
        var scalars: [Field] = []
        for name in fields.keys.sorted() where scalars.count < maxScalarFields {
            guard let f = fields[name], let type = f.type, !f.mixed, f.count == total, objects == total, isFieldName(name),
                name != "$meta", !(type == "VarChar" && f.maxBytes > 65_535)
            else { continue }
            scalars.append(Field(name: name, dataType: type, maxLength: type == "VarChar" ? max(1, f.maxBytes) : nil))
        }
        let scalarNames = Set(scalars.map(\.name))
        let vectorType = collection.elementType == .float16 ? "Float16Vector" : "FloatVector"
        let metric = milvusMetric(collection.metric)
        let index: IndexSuggestion
        switch collection.index {
        case .hnsw(let o)?:
            index = IndexSuggestion(indexType: "HNSW", metricType: metric, params: ["M": o.m, "efConstruction": o.efConstruction])
        case .ivf(let o)?:
            switch o.encoding {
            case .flat: index = IndexSuggestion(indexType: "IVF_FLAT", metricType: metric, params: ["nlist": o.nlist])
            case .sq8: index = IndexSuggestion(indexType: "IVF_SQ8", metricType: metric, params: ["nlist": o.nlist])
            case .pq(let m):
                index = IndexSuggestion(indexType: "IVF_PQ", metricType: metric, params: ["nlist": o.nlist, "m": m, "nbits": 8])
            }
        case nil: index = IndexSuggestion(indexType: "FLAT", metricType: metric, params: [:])
        }

        // Pass 2: the parts.
        var parts: [Part] = []
        var buffer: [UInt8] = []
        var rows = 0
        var written = 0
        func flush() throws(VecDBError) {
            guard rows > 0 else { return }
            buffer += Array("\n]\n".utf8)
            let name = String(format: "part-%05d.json", parts.count)
            try fs.replaceAtomically(directory + "/" + name, with: buffer)
            parts.append(Part(name: name, rows: rows, crc32c: CRC32C.checksum(buffer)))
            written += rows
            progress(written, total)
            buffer.removeAll(keepingCapacity: true)
            rows = 0
        }
        try snapshot.forEachRecord { (r: Record) throws(VecDBError) in
            var line = rows == 0 ? "[\n{" : ",\n{"
            Payload.writeString(primaryName, to: &line)
            line += ":"
            switch (r.key, keyEncoding) {
            case (.int(let v), "int64"): line += String(v)
            case (.int(let v), "tagged"): Payload.writeString("i:\(v)", to: &line)
            case (.string(let s), "tagged"): Payload.writeString("s:" + s, to: &line)
            case (.int(let v), _): Payload.writeString(String(v), to: &line)
            case (.string(let s), _): Payload.writeString(s, to: &line)
            }
            line += ","
            Payload.writeString(vectorName, to: &line)
            line += ":["
            for (j, x) in r.vector.enumerated() {
                if j > 0 { line += "," }
                line += x.description
            }
            line += "]"
            switch r.payload {
            case .object(let o)?:
                for name in o.keys.sorted() where name != "$meta" {
                    guard let v = o[name] else { continue }
                    line += ","
                    Payload.writeString(name, to: &line)
                    line += ":"
                    v.write(to: &line)
                }
                // Milvus reads a top-level "$meta" as the dynamic field itself: a payload key of
                // that name goes inside it.
                if let meta = o["$meta"] {
                    line += ",\"$meta\":"
                    Payload.object(["$meta": meta]).write(to: &line)
                }
            case let other?:
                line += ","
                Payload.writeString(wrappedKey ?? "vecdb_payload", to: &line)
                line += ":"
                other.write(to: &line)
            case nil: break
            }
            line += "}"
            buffer += Array(line.utf8)
            rows += 1
            if buffer.count >= partBytes { try flush() }
        }
        try flush()
        let schema = Schema(
            format: format, formatVersion: formatVersion, collectionName: collection.name,
            primaryField: allInt64
                ? Field(name: primaryName, dataType: "Int64") : Field(name: primaryName, dataType: "VarChar", maxLength: longestKey),
            vectorField: Field(name: vectorName, dataType: vectorType, dim: collection.dimension), scalarFields: scalars,
            enableDynamicField: true, metricType: metric, index: index, rowCount: written, parts: parts, keyEncoding: keyEncoding,
            vecdbMetric: collection.metric.rawValue, vecdbElementType: collection.elementType.rawValue, wrappedPayloadKey: wrappedKey)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            try fs.replaceAtomically(directory + "/schema.json", with: Array(try encoder.encode(schema)) + [0x0A])
        } catch let e as VecDBError {
            throw e
        } catch {
            throw VecDBError(.io, "cannot encode \(directory)/schema.json: \(error)")
        }
        return schema
    }
}

extension MilvusExport {
    /// `filter` in Milvus's expression language, against a collection created from `schema`:
    /// `=` becomes `==`, `in [..]`, `and`/`or`/`not`, and a dotted path into the dynamic field
    /// its JSON access (`a.b` → `a["b"]`); a comparison on the dynamic field is guarded by
    /// `exists` so that a record without the field behaves as in VecDB (`!=` matches it);
    /// `exists` becomes Milvus's `exists` (always true for a column, which every row has).
    /// - Throws: `unsupported` for a comparison with null, an array or an object, and for a path
    ///   into a column (columns hold scalars).
    public static func expression(_ filter: Filter, schema: Schema) throws(VecDBError) -> String {
        let columns = Dictionary(uniqueKeysWithValues: schema.scalarFields.map { ($0.name, $0) })
        func path(_ p: [String]) throws(VecDBError) -> (text: String, column: Bool) {
            guard let head = p.first else { throw VecDBError(.unsupported, "an empty field path has no Milvus form") }
            if columns[head] != nil {
                guard p.count == 1 else {
                    throw VecDBError(.unsupported, "'\(p.joined(separator: "."))' goes inside column '\(head)', which holds a scalar")
                }
                return (head, true)
            }
            // A dynamic key: by name when it is a Milvus identifier, else through $meta.
            var text =
                isFieldName(head) && head != schema.primaryField.name && head != schema.vectorField.name ? head : "$meta[\(quoted(head))]"
            for part in p.dropFirst() { text += "[\(quoted(part))]" }
            return (text, false)
        }
        func literal(_ v: Payload) throws(VecDBError) -> String {
            switch v {
            case .string(let s): return quoted(s)
            case .integer(let x): return String(x)
            case .unsigned(let x): return String(x)
            case .number(let x):
                guard x.isFinite else { throw VecDBError(.unsupported, "Milvus has no literal for \(x)") }
                return x == x.rounded() && abs(x) < 1e15 ? String(format: "%.1f", x) : "\(x)"
            case .bool(let b): return b ? "true" : "false"
            case .null, .array, .object:
                throw VecDBError(.unsupported, "a comparison with \(v.jsonText) has no Milvus form")
            }
        }
        switch filter {
        // Milvus compares a missing JSON key as null, and `not null` is null: a comparison on the
        // dynamic field is guarded by `exists`, so that it is false without the field, as in
        // VecDB, and `not` of it true.
        case .compare(let p, let op, let v):
            let (field, column) = try path(p)
            let value = try literal(v)
            switch (op, column) {
            case (.equal, true): return "\(field) == \(value)"
            case (.equal, false): return "(exists \(field) and \(field) == \(value))"
            case (.notEqual, true): return "\(field) != \(value)"
            case (.notEqual, false): return "not (exists \(field) and \(field) == \(value))"
            case (_, true): return "\(field) \(op.rawValue) \(value)"
            case (_, false): return "(exists \(field) and \(field) \(op.rawValue) \(value))"
            }
        case .isIn(let p, let values):
            let (field, column) = try path(p)
            var items: [String] = []
            for v in values { items.append(try literal(v)) }
            let test = "\(field) in [\(items.joined(separator: ", "))]"
            return column ? test : "(exists \(field) and \(test))"
        case .exists(let p):
            let (field, column) = try path(p)
            return column ? "(\(field) == \(field))" : "exists \(field)"
        case .and(let a, let b): return "(\(try expression(a, schema: schema)) and \(try expression(b, schema: schema)))"
        case .or(let a, let b): return "(\(try expression(a, schema: schema)) or \(try expression(b, schema: schema)))"
        case .not(let a): return "not (\(try expression(a, schema: schema)))"
        }
    }

    /// A Milvus string literal: double quotes, with JSON's escapes.
    static func quoted(_ s: String) -> String {
        var out = ""
        Payload.writeString(s, to: &out)
        return out
    }
}
