import Foundation
import Testing
import VecDBKernels
import VecDBTestSupport

@testable import VecDB

/// A deterministic stand-in for a text model: each text maps to a pseudo-random unit vector
/// seeded by its bytes, so equal texts get equal vectors and different texts almost orthogonal ones.
struct HashEmbedder: TextEmbedder {
    var modelName = "hash-test"
    var modelChecksum = "00c0ffee"
    var dimension = 16
    var calls = Counter()

    final class Counter: @unchecked Sendable {
        let lock = NSLock()
        var texts = 0
        func add(_ n: Int) {
            lock.lock()
            texts += n
            lock.unlock()
        }
    }

    func embed(_ texts: [String]) throws(VecDBError) -> [[Float]] {
        calls.add(texts.count)
        return texts.map { t in
            var g = SeededGenerator(seed: t.utf8.reduce(UInt64(1_469_598_103_934_665_603)) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 })
            return (0..<dimension).map { _ in g.nextGaussian() }
        }
    }
}

@Suite("Collections with a text embedder")
struct TextCollectionTests {
    @Test func textsAreEmbeddedStoredAndSearched() throws {
        let dir = TemporaryDirectory()
        let db = try Database.open(at: dir.path)
        let embedder = HashEmbedder()
        let c = try db.createCollection("docs", embedder: embedder)
        #expect(c.dimension == 16 && c.metric == .cosine && c.embedderIdentity == EmbedderIdentity(embedder))
        // 600 texts: three batches of 256, the next embedded while the last is written.
        let records = (0..<600).map {
            TextRecord(key: .int(UInt64($0)), text: "document number \($0)", payload: ["n": .number(Double($0))])
        }
        try c.upsert(texts: records)
        #expect(c.count == 600 && embedder.calls.texts == 600)
        for probe in [0, 255, 256, 599] {
            let hits = try c.search(text: "document number \(probe)", k: 3)
            #expect(hits.first?.key == .int(UInt64(probe)) && abs(hits.first?.distance ?? 1) < 1e-5)
            #expect(hits.first?.payload == ["n": .number(Double(probe)), "text": .string("document number \(probe)")])
        }
        // The vector stored is the embedder's, normalised for cosine.
        let stored = try #require(try c.get(.int(7)))
        let want = ExactSearch.normalized(try embedder.embed(["document number 7"])[0])
        #expect(zip(stored.vector, want).allSatisfy { abs($0 - $1) < 1e-6 })
        db.close()

        // Reopened: the identity is on disk; the same model attaches, another is refused.
        let again = try Database.open(at: dir.path)
        defer { again.close() }
        let plainHandle = try again.collection("docs")
        #expect(plainHandle.embedderIdentity == EmbedderIdentity(embedder))
        expectVecDBError(.invalidArgument, containing: "open it with that embedder") { try plainHandle.search(text: "x", k: 1) }
        var other = HashEmbedder()
        other.modelChecksum = "deadbeef"
        expectVecDBError(.invalidArgument, containing: "refusing hash-test (checksum deadbeef") {
            try again.collection("docs", embedder: other)
        }
        var wider = HashEmbedder()
        wider.dimension = 32
        expectVecDBError(.invalidArgument, containing: "refusing") { try again.collection("docs", embedder: wider) }
        let reopened = try again.collection("docs", embedder: embedder)
        #expect(try reopened.search(text: "document number 42", k: 1).first?.key == .int(42))
    }

    @Test func badTextInputChangesNothing() throws {
        let dir = TemporaryDirectory()
        let db = try Database.open(at: dir.path)
        defer { db.close() }
        let c = try db.createCollection("docs", embedder: HashEmbedder())
        try c.upsert(key: .int(1), text: "kept")
        expectVecDBError(.invalidArgument, containing: "must be an object") {
            try c.upsert(texts: [TextRecord(key: .int(2), text: "a"), TextRecord(key: .int(3), text: "b", payload: .number(3))])
        }
        #expect(c.count == 1)
        let plain = try db.createCollection("plain", dimension: 16, metric: .cosine)
        expectVecDBError(.invalidArgument, containing: "created without an embedder") { try plain.attach(HashEmbedder()) }
        expectVecDBError(.invalidArgument, containing: "created without an embedder") { try plain.upsert(key: .int(1), text: "x") }
        #expect(plain.count == 0)
    }

    @Test func aDamagedEmbedderFileIsReportedByName() throws {
        let dir = TemporaryDirectory()
        do {
            let db = try Database.open(at: dir.path)
            try db.createCollection("docs", embedder: HashEmbedder())
            db.close()
        }
        let path = dir.file("docs/EMBEDDER")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[20] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))
        let db = try Database.open(at: dir.path)
        defer { db.close() }
        expectVecDBError(.corruptFile, containing: "EMBEDDER") { try db.collection("docs") }
    }
}
