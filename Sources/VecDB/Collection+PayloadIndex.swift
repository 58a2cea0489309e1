import VecDBKernels
import VecDBStorage

extension Collection {
    /// Creates an index of the payload field `field` (a dotted path such as `meta.cat`), so
    /// that filters on it are answered from the index instead of every row's payload. Searches,
    /// `count(where:)` and `delete(where:)` use it without being asked.
    ///
    /// The index of every segment is built (and written) before this returns; segments sealed
    /// later get theirs when a filter first needs it, and the memtable's is kept in memory. A
    /// field's value that is not of `kind` (another type, `null`, a number the kind cannot
    /// hold exactly) is still found: such rows are listed apart and checked one by one.
    ///
    /// - Parameters:
    ///   - field: 1 to 16 names of `[A-Za-z_][A-Za-z0-9_-]*` joined by `.`.
    ///   - kind: `keyword` for strings, `integer` or `float` for numbers, `bool`.
    /// - Returns: the index's definition. Creating an index that exists does nothing; one of
    ///   another kind on the same field is replaced.
    /// - Throws: `VecDBError.Code.invalidArgument` for a bad field name,
    ///   `VecDBError.Code.readOnly`, `VecDBError.Code.corruptFile` for a damaged payload
    ///   block, I/O errors.
    /// - Complexity: O(rows × payload size) to decode every payload, plus O(rows log rows).
    @discardableResult
    public func createPayloadIndex(field: String, kind: PayloadIndexKind) throws(VecDBError) -> PayloadIndexDefinition {
        if store.isReadOnly { throw VecDBError(.readOnly, "\(what) was opened read-only") }
        let path = try Self.payloadPath(field)
        let (d, replaced) = try payloadIndexes.add(path: path, kind: kind)
        let snap = store.snapshot()
        if replaced != nil { payloadIndexes.removeOrphans(live: Set(snap.segments.map(\.segment.id))) }
        for v in snap.segments { _ = try payloadIndexes.index(d, segment: v.segment) }
        return d
    }

    /// Drops the payload index of `field` and its files.
    ///
    /// - Returns: whether there was one.
    /// - Throws: `VecDBError.Code.invalidArgument` for a bad field name,
    ///   `VecDBError.Code.readOnly`, I/O errors.
    @discardableResult
    public func dropPayloadIndex(field: String) throws(VecDBError) -> Bool {
        if store.isReadOnly { throw VecDBError(.readOnly, "\(what) was opened read-only") }
        guard try payloadIndexes.remove(path: try Self.payloadPath(field)) else { return false }
        payloadIndexes.removeOrphans(live: Set(store.snapshot().segments.map(\.segment.id)))
        return true
    }

    /// The collection's payload indexes, by field.
    public var payloadIndexDefinitions: [PayloadIndexDefinition] { payloadIndexes.definitions.sorted { $0.field < $1.field } }

    /// Checks every payload index file of every segment (its checksum, and that it was made for
    /// that segment, field and kind), and rebuilds each that is damaged or missing: a writer
    /// rewrites the file, a read-only handle keeps the rebuilt index in memory.
    ///
    /// - Returns: one `corruptFile` error per damaged file, naming it; empty when all are sound.
    /// - Throws: `VecDBError.Code.corruptFile` for a damaged payload block, I/O errors.
    public func checkPayloadIndexes() throws(VecDBError) -> [VecDBError] {
        try payloadIndexes.checkAll(store.snapshot())
    }

    static func payloadPath(_ field: String) throws(VecDBError) -> [String] {
        let names = field.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let valid =
            names.count <= 16
            && names.allSatisfy { n in
                guard let first = n.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else {
                    return false
                }
                return n.unicodeScalars.allSatisfy {
                    $0 == "_" || $0 == "-" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)))
                }
            }
        guard valid else {
            throw VecDBError(.invalidArgument, "payload field '\(field)' must be names of [A-Za-z_][A-Za-z0-9_-]* joined by '.'")
        }
        return names
    }
}
