import VecDBKernels
import VecDBStorage

/// The column names of an interaction CSV.
public struct InteractionColumns: Sendable, Equatable {
    /// The user column (required).
    public var user: String
    /// The item column (required).
    public var item: String
    /// The rating column, used when the header has it; its values become weights.
    public var rating: String
    /// The timestamp column, used when the header has it.
    public var timestamp: String

    /// MovieLens's names by default: `userId`, `movieId`, `rating`, `timestamp`.
    public init(user: String = "userId", item: String = "movieId", rating: String = "rating", timestamp: String = "timestamp") {
        self.user = user
        self.item = item
        self.rating = rating
        self.timestamp = timestamp
    }
}

/// Reads interactions from RecBole atomic files (`.inter`) and from CSV files with a header row.
///
/// A file is parsed whole before anything is returned, so a caller that records the result
/// records nothing of a rejected file. Keys are parsed as ``Key/init(parsing:)`` does: all
/// digits is an integer key, anything else a string key.
public enum InteractionFileReader {
    /// Reads `path` by its extension: `.inter` as a RecBole atomic file, anything else as CSV.
    ///
    /// - Parameters:
    ///   - path: the file.
    ///   - columns: the CSV column names (ignored for `.inter`).
    /// - Returns: the interactions in file order.
    /// - Throws: ``VecDBError/Code/malformedFile`` naming the file, line and column of the
    ///   first bad field; ``VecDBError/Code/notFound`` or ``VecDBError/Code/io``.
    /// - Complexity: O(file size).
    public static func read(_ path: String, columns: InteractionColumns = InteractionColumns()) throws(VecDBError) -> [Interaction] {
        path.hasSuffix(".inter") ? try readRecBole(path) : try readCSV(path, columns: columns)
    }

    /// Reads a RecBole atomic interaction file: tab-separated, with a typed header such as
    /// `user_id:token  item_id:token  rating:float  timestamp:float`.
    ///
    /// `user_id` and `item_id` are required; `rating` (the weight, else 1) and `timestamp`
    /// (else 0) are used when present; other columns are ignored. A `:float` column must hold
    /// numbers.
    ///
    /// - Throws: ``VecDBError/Code/malformedFile`` naming the file, line and column.
    /// - Complexity: O(file size).
    public static func readRecBole(_ path: String) throws(VecDBError) -> [Interaction] {
        try readRecBole(path, fileSystem: .system)
    }

    package static func readRecBole(_ path: String, fileSystem fs: FileSystem) throws(VecDBError) -> [Interaction] {
        let rows = try DelimitedText.rows(
            DelimitedText.read(path, fileSystem: fs), separator: UInt8(ascii: "\t"), quoting: false, path: path)
        let header = try RecBoleHeader(rows.first, path: path)
        let user = try header.require("user_id")
        let item = try header.require("item_id")
        let spec = ColumnSpec(
            user: user, item: item, rating: header.index("rating"), timestamp: header.index("timestamp"),
            names: header.names)
        return try interactions(rows.dropFirst(), spec: spec, floatColumns: header.floatColumns, path: path)
    }

    /// Reads a CSV file with a header row naming its columns.
    ///
    /// The user and item columns are required. The rating column, when the header has it,
    /// gives the weight (else 1); the timestamp column, when present, the timestamp (else 0).
    /// Fields may be quoted (`"…"`, with `""` for a quote).
    ///
    /// - Parameters:
    ///   - path: the file.
    ///   - columns: the column names; MovieLens's by default.
    /// - Throws: ``VecDBError/Code/malformedFile`` naming the file, line and column, or naming
    ///   a required column the header lacks.
    /// - Complexity: O(file size).
    public static func readCSV(_ path: String, columns: InteractionColumns = InteractionColumns()) throws(VecDBError) -> [Interaction] {
        try readCSV(path, columns: columns, fileSystem: .system)
    }

    package static func readCSV(_ path: String, columns: InteractionColumns, fileSystem fs: FileSystem) throws(VecDBError) -> [Interaction]
    {
        let rows = try DelimitedText.rows(DelimitedText.read(path, fileSystem: fs), separator: UInt8(ascii: ","), quoting: true, path: path)
        guard let header = rows.first else { throw VecDBError(.malformedFile, "\(path) is empty; expected a header row", path: path) }
        let names = header.fields.map { $0.trimmingSpaces }
        func require(_ name: String, _ option: String) throws(VecDBError) -> Int {
            guard let i = names.firstIndex(of: name) else {
                throw VecDBError(
                    .malformedFile,
                    "\(path): the header has no column '\(name)' (set it with \(option)); columns: "
                        + names.joined(separator: ", "), path: path)
            }
            return i
        }
        let spec = ColumnSpec(
            user: try require(columns.user, "--user-column"), item: try require(columns.item, "--item-column"),
            rating: names.firstIndex(of: columns.rating), timestamp: names.firstIndex(of: columns.timestamp),
            names: names)
        return try interactions(rows.dropFirst(), spec: spec, floatColumns: [], path: path)
    }

    struct ColumnSpec {
        var user: Int
        var item: Int
        var rating: Int?
        var timestamp: Int?
        var names: [String]
    }

    static func interactions(_ rows: ArraySlice<DelimitedRow>, spec: ColumnSpec, floatColumns: [Int], path: String) throws(VecDBError)
        -> [Interaction]
    {
        var out: [Interaction] = []
        out.reserveCapacity(rows.count)
        let width = spec.names.count
        for row in rows {
            guard row.fields.count == width else { throw DelimitedText.widthError(path, row: row, expected: width) }
            func bad(_ column: Int, _ reason: String) -> VecDBError {
                DelimitedText.fieldError(path, line: row.line, column: column + 1, name: spec.names[column], reason)
            }
            for c in floatColumns {
                let f = row.fields[c].trimmingSpaces
                if !f.isEmpty && Double(f) == nil { throw bad(c, "'\(f)' is not a number") }
            }
            let userText = row.fields[spec.user].trimmingSpaces
            let itemText = row.fields[spec.item].trimmingSpaces
            if userText.isEmpty { throw bad(spec.user, "the user key is empty") }
            if itemText.isEmpty { throw bad(spec.item, "the item key is empty") }
            var x = Interaction(user: Key(parsing: userText), item: Key(parsing: itemText))
            if let c = spec.rating {
                let f = row.fields[c].trimmingSpaces
                guard let v = Float(f), v.isFinite else { throw bad(c, "'\(f)' is not a finite number") }
                x.weight = v
            }
            if let c = spec.timestamp {
                let f = row.fields[c].trimmingSpaces
                guard let t = DelimitedText.timestamp(Substring(f)) else { throw bad(c, "'\(f)' is not a timestamp (seconds)") }
                x.timestamp = t
            }
            do throws(VecDBError) {
                try x.validate(index: out.count)
            } catch {
                throw bad(spec.user, error.message)
            }
            out.append(x)
        }
        return out
    }
}

/// The typed header of a RecBole atomic file: `name:type` fields, tab-separated.
struct RecBoleHeader {
    var names: [String]
    var types: [String]
    let path: String

    init(_ row: DelimitedRow?, path: String) throws(VecDBError) {
        self.path = path
        guard let row else { throw VecDBError(.malformedFile, "\(path) is empty; expected a typed header row", path: path) }
        names = []
        types = []
        for (i, f) in row.fields.enumerated() {
            let parts = f.trimmingSpaces.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw DelimitedText.fieldError(
                    path, line: row.line, column: i + 1, name: f,
                    "a RecBole header field must be 'name:type' (such as 'user_id:token')")
            }
            names.append(String(parts[0]))
            types.append(String(parts[1]))
        }
    }

    func index(_ name: String) -> Int? { names.firstIndex(of: name) }

    func require(_ name: String) throws(VecDBError) -> Int {
        guard let i = index(name) else {
            throw VecDBError(
                .malformedFile, "\(path): the header has no column '\(name)'; columns: \(names.joined(separator: ", "))",
                path: path)
        }
        return i
    }

    /// Columns typed `float`, whose values must parse as numbers.
    var floatColumns: [Int] { types.indices.filter { types[$0] == "float" } }
}

extension String {
    /// The string without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        let u = utf8
        guard let first = u.firstIndex(where: { $0 != 0x20 && $0 != 0x09 }) else { return "" }
        guard let last = u.lastIndex(where: { $0 != 0x20 && $0 != 0x09 }) else { return "" }
        return String(self[first...last])
    }
}
