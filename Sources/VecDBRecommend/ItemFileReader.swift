import VecDBKernels
import VecDBStorage

/// An item's (or a user's) side information, as read from an item or user file.
public struct EntityRecord: Sendable, Equatable {
    /// The item's or user's key.
    public var key: Key
    /// The title, when the file has one.
    public var title: String?
    /// Genres or classes (multi-hot), in file order.
    public var genres: [String]
    /// Every other column, by name, as text.
    public var attributes: [String: String]

    /// Creates a record.
    public init(key: Key, title: String? = nil, genres: [String] = [], attributes: [String: String] = [:]) {
        self.key = key
        self.title = title
        self.genres = genres
        self.attributes = attributes
    }
}

/// Reads item and user side information: RecBole's `.item` and `.user` atomic files, and
/// MovieLens-style item CSVs (`movieId,title,genres`, genres `|`-separated).
///
/// A file is parsed whole before anything is returned; a bad row is an error naming the file,
/// line and column.
public enum ItemFileReader {
    /// Reads `path` by its extension: `.item` or `.user` as RecBole atomic files, else as CSV.
    ///
    /// - Parameters:
    ///   - path: the file.
    ///   - keyColumn: the CSV's key column (`movieId` by default; ignored for RecBole files).
    /// - Returns: one record per row, in file order.
    /// - Throws: ``VecDBError/Code/malformedFile`` naming the file, line and column.
    /// - Complexity: O(file size).
    public static func read(_ path: String, keyColumn: String = "movieId") throws(VecDBError) -> [EntityRecord] {
        if path.hasSuffix(".item") || path.hasSuffix(".user") { return try readRecBole(path) }
        return try readCSV(path, keyColumn: keyColumn)
    }

    /// Reads a RecBole `.item` or `.user` file.
    ///
    /// The key is the `item_id` (or `user_id`) column. A column whose name contains `title`
    /// becomes the title; a `token_seq` column named `class`, `genre` or `genres` becomes the
    /// genres (split at spaces). Every other column goes into ``EntityRecord/attributes``.
    ///
    /// - Throws: ``VecDBError/Code/malformedFile`` naming the file, line and column.
    public static func readRecBole(_ path: String) throws(VecDBError) -> [EntityRecord] {
        try readRecBole(path, fileSystem: .system)
    }

    package static func readRecBole(_ path: String, fileSystem fs: FileSystem) throws(VecDBError) -> [EntityRecord] {
        let rows = try DelimitedText.rows(
            DelimitedText.read(path, fileSystem: fs), separator: UInt8(ascii: "\t"), quoting: false, path: path)
        let header = try RecBoleHeader(rows.first, path: path)
        let keyName = header.index("item_id") != nil ? "item_id" : "user_id"
        let key = try header.require(keyName)
        let title = header.names.firstIndex { $0.contains("title") }
        let genres = header.names.indices.first { ["class", "genre", "genres"].contains(header.names[$0]) }
        return try records(
            rows.dropFirst(), names: header.names, key: key, title: title, genres: genres,
            genreSeparator: " ", path: path)
    }

    /// Reads an item CSV with a header row: a key column (`movieId`), and optionally `title`
    /// and `genres` (`|`-separated; MovieLens's `(no genres listed)` means none). Fields may be
    /// quoted.
    ///
    /// - Throws: ``VecDBError/Code/malformedFile`` naming the file, line and column.
    public static func readCSV(_ path: String, keyColumn: String = "movieId") throws(VecDBError) -> [EntityRecord] {
        try readCSV(path, keyColumn: keyColumn, fileSystem: .system)
    }

    package static func readCSV(_ path: String, keyColumn: String, fileSystem fs: FileSystem) throws(VecDBError) -> [EntityRecord] {
        let rows = try DelimitedText.rows(DelimitedText.read(path, fileSystem: fs), separator: UInt8(ascii: ","), quoting: true, path: path)
        guard let header = rows.first else { throw VecDBError(.malformedFile, "\(path) is empty; expected a header row", path: path) }
        let names = header.fields.map { $0.trimmingSpaces }
        guard let key = names.firstIndex(of: keyColumn) else {
            throw VecDBError(
                .malformedFile, "\(path): the header has no column '\(keyColumn)'; columns: \(names.joined(separator: ", "))",
                path: path)
        }
        return try records(
            rows.dropFirst(), names: names, key: key, title: names.firstIndex(of: "title"),
            genres: names.firstIndex(of: "genres"), genreSeparator: "|", path: path)
    }

    static func records(
        _ rows: ArraySlice<DelimitedRow>, names: [String], key: Int, title: Int?, genres: Int?,
        genreSeparator: Character, path: String
    ) throws(VecDBError) -> [EntityRecord] {
        var out: [EntityRecord] = []
        out.reserveCapacity(rows.count)
        for row in rows {
            guard row.fields.count == names.count else { throw DelimitedText.widthError(path, row: row, expected: names.count) }
            let keyText = row.fields[key].trimmingSpaces
            guard !keyText.isEmpty else {
                throw DelimitedText.fieldError(path, line: row.line, column: key + 1, name: names[key], "the key is empty")
            }
            var r = EntityRecord(key: Key(parsing: keyText))
            do throws(VecDBError) {
                try r.key.validate()
            } catch {
                throw DelimitedText.fieldError(path, line: row.line, column: key + 1, name: names[key], error.message)
            }
            for (c, field) in row.fields.enumerated() where c != key {
                if c == title {
                    r.title = field.trimmingSpaces
                } else if c == genres {
                    let text = field.trimmingSpaces
                    if text != "(no genres listed)" {
                        r.genres = text.split(separator: genreSeparator).map { String($0).trimmingSpaces }.filter { !$0.isEmpty }
                    }
                } else {
                    r.attributes[names[c]] = field
                }
            }
            out.append(r)
        }
        return out
    }
}
