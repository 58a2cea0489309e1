/// The `nlist` inverted lists: owned arrays, or views into a memory-mapped file that are
/// copied out the first time a list is appended to.
struct InvertedLists {
    let codeSize: Int
    var ids: [[UInt32]]
    var codes: [[UInt8]]
    /// Per list, when it still lives in the mapping: ids, codes, count.
    var mapped: [(ids: UnsafePointer<UInt32>, codes: UnsafePointer<UInt8>, count: Int)?]
    /// Keeps the mapping alive.
    var mapping: AnyObject?

    init(nlist: Int, codeSize: Int) {
        self.codeSize = codeSize
        ids = Array(repeating: [], count: nlist)
        codes = Array(repeating: [], count: nlist)
        mapped = Array(repeating: nil, count: nlist)
    }

    func count(of list: Int) -> Int { mapped[list]?.count ?? ids[list].count }

    mutating func append(list: Int, id: UInt32, code: UnsafePointer<UInt8>) {
        if let m = mapped[list] {
            ids[list] = Array(UnsafeBufferPointer(start: m.ids, count: m.count))
            codes[list] = Array(UnsafeBufferPointer(start: m.codes, count: m.count * codeSize))
            mapped[list] = nil
        }
        ids[list].append(id)
        codes[list].append(contentsOf: UnsafeBufferPointer(start: code, count: codeSize))
    }

    /// Calls `body` with the list's ids, codes and count.
    func withList(_ list: Int, _ body: (UnsafePointer<UInt32>, UnsafePointer<UInt8>, Int) -> Void) {
        if let m = mapped[list] {
            body(m.ids, m.codes, m.count)
            return
        }
        ids[list].withUnsafeBufferPointer { ib in
            codes[list].withUnsafeBufferPointer { cb in
                guard let i = ib.baseAddress, let c = cb.baseAddress else { return }
                body(i, c, ib.count)
            }
        }
    }
}
