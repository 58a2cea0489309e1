import VecDBKernels
import VecDBStorage

extension HoldoutSplit {
    /// Writes `train.tsv` and `test.tsv` into `directory` (created when missing), so that peers
    /// evaluate on exactly this split.
    ///
    /// Each file is tab-separated with a header line `user_id<TAB>item_id`, then one line per
    /// user–item pair, users in index order and items ascending, keys as written in the input.
    /// Each file is written atomically (temporary file, fsync, rename).
    ///
    /// - Throws: ``VecDBError/Code/io`` when a file cannot be written.
    package func writeTSV(directory: String, fileSystem fs: FileSystem = .system) throws(VecDBError) {
        try fs.makeDirectories(directory)
        try fs.replaceAtomically(directory + "/train.tsv", with: Self.tsv(train))
        try fs.replaceAtomically(directory + "/test.tsv", with: Self.tsv(test))
    }

    static func tsv(_ m: InteractionMatrix) -> [UInt8] {
        var out: [UInt8] = Array("user_id\titem_id\n".utf8)
        out.reserveCapacity(m.pairCount * 12 + 16)
        for u in 0..<m.userCount {
            let user = Array(m.userKeys[u].description.utf8)
            for i in m.items(ofUser: u) {
                out.append(contentsOf: user)
                out.append(UInt8(ascii: "\t"))
                out.append(contentsOf: m.itemKeys[Int(i)].description.utf8)
                out.append(UInt8(ascii: "\n"))
            }
        }
        return out
    }
}

extension NextItemSplit {
    /// Writes `sequences.tsv` into `directory` (created when missing), so that peers train and
    /// evaluate on exactly this split.
    ///
    /// The file is tab-separated with a header line `user_id<TAB>item_id<TAB>role`, then each
    /// user's items in time order, users in index order; `role` is `train`, `validation` or
    /// `test`. Users too short to be evaluated have `train` lines only. Written atomically
    /// (temporary file, fsync, rename).
    ///
    /// - Throws: ``VecDBError/Code/io`` when the file cannot be written.
    package func writeTSV(directory: String, fileSystem fs: FileSystem = .system) throws(VecDBError) {
        try fs.makeDirectories(directory)
        var out: [UInt8] = Array("user_id\titem_id\trole\n".utf8)
        func line(_ u: Int, _ item: Int32, _ role: String) {
            out.append(contentsOf: userKeys[u].description.utf8)
            out.append(UInt8(ascii: "\t"))
            out.append(contentsOf: itemKeys[Int(item)].description.utf8)
            out.append(UInt8(ascii: "\t"))
            out.append(contentsOf: role.utf8)
            out.append(UInt8(ascii: "\n"))
        }
        for u in 0..<userCount {
            for i in train[u] { line(u, i, "train") }
            if let v = validation[u] { line(u, v, "validation") }
            if let t = test[u] { line(u, t, "test") }
        }
        try fs.replaceAtomically(directory + "/sequences.tsv", with: out)
    }
}
