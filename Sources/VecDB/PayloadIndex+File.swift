import VecDBKernels
import VecDBStorage

// The payload index file of one field over one segment, `pidx-<segment>.<number>.pix`
// (docs/file-format.md, "Payload index"). Little-endian; sections start on 8-byte boundaries.
//
//   offset  size  field
//   0       8     magic "VECDBPIX"
//   8       4     format version (1)
//   12      4     kind (1 keyword, 2 integer, 3 float, 4 bool)
//   16      8     segment id
//   24      8     segment row count R
//   32      4     typed rows T (rows whose value is of the kind)
//   36      4     irregular rows I (present, of another type)
//   40      4     distinct values D (keyword; 0 otherwise)
//   44      4     string bytes S (keyword; 0 otherwise)
//   48      4     path length P, then P bytes of the dotted path, padded to 8
//   …             integer, float, bool: T × 8-byte values, ascending (Int64; Double for float;
//                 0/1 for bool), then T × u32 rows in the same order, padded to 8
//                 keyword: (D + 1) × u32 string offsets, S bytes of UTF-8, padded to 8,
//                 (D + 1) × u32 posting starts, T × u32 rows grouped by value, padded to 8
//   …             I × u32 irregular rows (ascending), padded to 8
//   end − 8 4     CRC-32C of every byte before it
//   end − 4 4     zero

/// Where the sections of a payload index file lie, computed from its counts.
struct PayloadIndexLayout {
    var typedCount: Int
    var irregularCount: Int
    var distinctCount: Int
    var stringByteCount: Int
    var pathLength: Int
    var valuesOffset = 0
    var rowsOffset = 0
    var stringOffsetsOffset = 0
    var stringBytesOffset = 0
    var postingStartsOffset = 0
    var irregularOffset = 0
    var totalSize = 0

    static let headerSize = 52
    static func aligned(_ x: Int) -> Int { (x + 7) & ~7 }

    init(kind: PayloadIndexKind, typed: Int, irregular: Int, distinct: Int, stringBytes: Int, pathLength: Int) {
        typedCount = typed
        irregularCount = irregular
        distinctCount = distinct
        stringByteCount = stringBytes
        self.pathLength = pathLength
        var at = Self.aligned(Self.headerSize + pathLength)
        if kind == .keyword {
            stringOffsetsOffset = at
            stringBytesOffset = at + 4 * (distinct + 1)
            at = Self.aligned(stringBytesOffset + stringBytes)
            postingStartsOffset = at
            rowsOffset = at + 4 * (distinct + 1)
            at = Self.aligned(rowsOffset + 4 * typed)
            valuesOffset = rowsOffset
        } else {
            valuesOffset = at
            rowsOffset = at + 8 * typed
            at = Self.aligned(rowsOffset + 4 * typed)
            stringOffsetsOffset = at
            stringBytesOffset = at
            postingStartsOffset = at
        }
        irregularOffset = at
        totalSize = Self.aligned(at + 4 * irregular) + 8
    }
}

/// An index file's bytes held in memory (built for a read-only database, or read back).
final class ByteStorage: @unchecked Sendable {
    // Sendable: never written after init.
    let pointer: UnsafeMutableRawPointer
    let count: Int

    init(_ bytes: [UInt8]) {
        count = bytes.count
        pointer = .allocate(byteCount: max(8, bytes.count), alignment: 8)
        bytes.withUnsafeBytes { if let b = $0.baseAddress { pointer.copyMemory(from: b, byteCount: bytes.count) } }
    }

    deinit { pointer.deallocate() }
}

extension SegmentPayloadIndex {
    static let magic = Array("VECDBPIX".utf8)
    static let version: UInt32 = 1

    /// Builds the index of `path` over `payloads` (one per row; nil for a row without one, or
    /// whose field is missing) and returns the file's bytes.
    static func build(kind: PayloadIndexKind, path: [String], segmentID: UInt64, values: [Payload?]) -> [UInt8] {
        var ints: [(Int64, UInt32)] = []
        var doubles: [(Double, UInt32)] = []
        var strings: [[UInt8]: [UInt32]] = [:]
        var irregular: [UInt32] = []
        for (row, v) in values.enumerated() {
            guard let v else { continue }
            switch IndexedValue(v, kind: kind) {
            case .int(let x): ints.append((x, UInt32(row)))
            case .double(let d): doubles.append((d, UInt32(row)))
            case .string(let s): strings[Array(s.utf8), default: []].append(UInt32(row))
            case .irregular: irregular.append(UInt32(row))
            }
        }
        // Equal values keep their rows ascending.
        ints.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        doubles.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        // Distinct strings in Swift's order, which filters' `=` agrees with; byte order breaks ties.
        let distinct = strings.keys.map { (String(decoding: $0, as: UTF8.self), $0) }.sorted {
            $0.0 != $1.0 ? $0.0 < $1.0 : $0.1.lexicographicallyPrecedes($1.1)
        }
        let pathBytes = Array(path.joined(separator: ".").utf8)
        let typed = kind == .keyword ? strings.values.reduce(0) { $0 + $1.count } : (kind == .float ? doubles.count : ints.count)
        let stringBytes = distinct.reduce(0) { $0 + $1.1.count }
        let layout = PayloadIndexLayout(
            kind: kind, typed: typed, irregular: irregular.count, distinct: kind == .keyword ? distinct.count : 0,
            stringBytes: kind == .keyword ? stringBytes : 0, pathLength: pathBytes.count)
        var w = ByteWriter(capacity: layout.totalSize)
        w.append(magic)
        w.u32(version)
        w.u32(UInt32(kind.code))
        w.u64(segmentID)
        w.u64(UInt64(values.count))
        w.u32(UInt32(layout.typedCount))
        w.u32(UInt32(layout.irregularCount))
        w.u32(UInt32(layout.distinctCount))
        w.u32(UInt32(layout.stringByteCount))
        w.u32(UInt32(pathBytes.count))
        w.append(pathBytes)
        func pad() { while w.bytes.count % 8 != 0 { w.u8(0) } }
        pad()
        switch kind {
        case .keyword:
            var offset: UInt32 = 0
            w.u32(0)
            for (_, b) in distinct {
                offset += UInt32(b.count)
                w.u32(offset)
            }
            for (_, b) in distinct { w.append(b) }
            pad()
            var start: UInt32 = 0
            w.u32(0)
            for (_, b) in distinct {
                start += UInt32(strings[b]?.count ?? 0)
                w.u32(start)
            }
            for (_, b) in distinct { for r in strings[b] ?? [] { w.u32(r) } }
        case .float:
            for (d, _) in doubles { w.f64(d) }
            for (_, r) in doubles { w.u32(r) }
        case .integer, .bool:
            for (x, _) in ints { w.u64(UInt64(bitPattern: x)) }
            for (_, r) in ints { w.u32(r) }
        }
        pad()
        for r in irregular { w.u32(r) }
        pad()
        w.u32(CRC32C.checksum(w.bytes))
        w.u32(0)
        return w.bytes
    }

    /// Reads an index file's bytes in place (`bytes` stays valid while `owner` lives).
    ///
    /// - Throws: ``VecDBError/Code/corruptFile`` naming `path` for a wrong magic number,
    ///   version or checksum, counts that do not fit the file, or another segment's index.
    static func open(
        _ bytes: UnsafeRawBufferPointer, owner: AnyObject, path: String, expectSegment: UInt64, rowCount: Int,
        definition: PayloadIndexDefinition
    ) throws(VecDBError) -> SegmentPayloadIndex {
        func damaged(_ why: String) -> VecDBError {
            VecDBError(.corruptFile, "payload index \(path) is damaged: \(why)", path: path)
        }
        guard let base = bytes.baseAddress, bytes.count >= PayloadIndexLayout.headerSize + 8 else {
            throw damaged("\(bytes.count) bytes is shorter than the header")
        }
        guard Array(bytes[0..<8]) == magic else { throw damaged("wrong magic number") }
        let n = bytes.count
        let stored = bytes.loadUnaligned(fromByteOffset: n - 8, as: UInt32.self).littleEndian
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<(n - 8)])) == stored else {
            throw damaged("checksum mismatch")
        }
        var r = ByteReader(bytes, offset: 8, what: "payload index", path: path)
        let found = try r.u32()
        guard found == version else { throw damaged("format version \(found), this build reads \(version)") }
        guard let kind = PayloadIndexKind(code: UInt8(truncatingIfNeeded: try r.u32())), kind == definition.kind else {
            throw damaged("it is not a \(definition.kind.rawValue) index")
        }
        let segment = try r.u64()
        let rows = try r.u64()
        guard segment == expectSegment, rows == UInt64(rowCount) else {
            throw damaged("it indexes segment \(segment) of \(rows) rows, not segment \(expectSegment) of \(rowCount)")
        }
        let typed = Int(try r.u32())
        let irregular = Int(try r.u32())
        let distinct = Int(try r.u32())
        let stringBytes = Int(try r.u32())
        let pathLength = Int(try r.u32())
        let pathText = String(decoding: try r.bytes(pathLength), as: UTF8.self)
        guard pathText == definition.field else { throw damaged("it indexes '\(pathText)', not '\(definition.field)'") }
        guard typed + irregular <= rowCount, distinct <= typed, stringBytes <= n else { throw damaged("counts beyond the segment") }
        let layout = PayloadIndexLayout(
            kind: kind, typed: typed, irregular: irregular, distinct: distinct, stringBytes: stringBytes, pathLength: pathLength)
        guard layout.totalSize == n else { throw damaged("file is \(n) bytes, its counts make \(layout.totalSize)") }
        // Every row number, string offset and posting start must lie in range, so queries can
        // read without checks.
        func u32s(_ at: Int, _ count: Int) -> UnsafeBufferPointer<UInt32> {
            UnsafeBufferPointer(start: (base + at).assumingMemoryBound(to: UInt32.self), count: count)
        }
        guard u32s(layout.rowsOffset, typed).allSatisfy({ Int($0) < rowCount }),
            u32s(layout.irregularOffset, irregular).allSatisfy({ Int($0) < rowCount })
        else { throw damaged("a row number beyond the segment") }
        if kind == .keyword {
            let offsets = u32s(layout.stringOffsetsOffset, distinct + 1)
            let starts = u32s(layout.postingStartsOffset, distinct + 1)
            guard offsets[0] == 0, Int(offsets[distinct]) == stringBytes, starts[0] == 0, Int(starts[distinct]) == typed,
                zip(offsets.dropFirst(), offsets).allSatisfy({ $0 >= $1 }), zip(starts.dropFirst(), starts).allSatisfy({ $0 >= $1 })
            else { throw damaged("string or posting offsets out of order") }
        }
        return SegmentPayloadIndex(
            kind: kind, path: definition.path, segmentID: segment, rowCount: rowCount, layout: layout, base: base, byteCount: n,
            owner: owner)
    }

    /// An index built in memory, not written (a read-only database).
    static func inMemory(
        _ bytes: [UInt8], segmentID: UInt64, rowCount: Int, definition: PayloadIndexDefinition
    ) throws(VecDBError) -> SegmentPayloadIndex {
        let storage = ByteStorage(bytes)
        return try open(
            UnsafeRawBufferPointer(start: storage.pointer, count: storage.count), owner: storage, path: "(memory)",
            expectSegment: segmentID, rowCount: rowCount, definition: definition)
    }
}
