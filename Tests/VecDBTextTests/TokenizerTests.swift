import Foundation
import Testing
import VecDBKernels
import VecDBTestSupport

@testable import VecDBText

@Suite("WordPiece tokenizer")
struct TokenizerTests {
    /// Token ids equal those of Hugging Face's `tokenizers` on the model's tokenizer.json, for
    /// every MovieLens-100K title and the tricky strings of the fixture
    /// (`scripts/make-minilm-fixture.sh` wrote it).
    @Test func idsEqualTheTokenizersLibraryOnTheFixture() throws {
        let e = try MiniLM.load()
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources/minilm-token-ids.json")
            .path
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(root["max_length"] as? Int == e.tokenizer.maxLength)
        let cases = try #require(root["cases"] as? [[String: Any]])
        var titles = 0
        var mismatches: [String] = []
        for c in cases {
            let text = try #require(c["text"] as? String)
            let expected = try #require(c["ids"] as? [Int]).map(Int32.init)
            if c["source"] as? String == "ml-100k" { titles += 1 }
            let got = e.tokenizer.encode(text)
            if got != expected {
                mismatches.append("\(text.debugDescription): \(e.tokenizer.tokens(got)) vs \(e.tokenizer.tokens(expected))")
            }
        }
        #expect(titles == 1682)
        #expect(cases.count > 1700)
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(5).joined(separator: "; "))")
    }

    /// The steps on a vocabulary small enough to check by hand.
    @Test func greedyLongestMatchWithContinuations() throws {
        let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "una", "##ff", ",", "hello", "!", "日", "cafe"]
        let t = try WordPieceTokenizer(vocabulary: vocab, maxLength: 8)
        func words(_ s: String) -> [String] { Array(t.tokens(t.encode(s)).dropFirst().dropLast()) }
        #expect(words("unaffable") == ["una", "##ff", "##able"])  // longest first piece wins, not "un"
        #expect(words("UNAFFABLE, Hello!") == ["una", "##ff", "##able", ",", "hello", "!"])
        #expect(words("Café") == ["cafe"])  // accent stripped, lower-cased
        #expect(words("hello日hello") == ["hello", "日", "hello"])  // CJK is a word of its own
        #expect(words("unx") == ["[UNK]"])  // one unmatched part makes the whole word unknown
        #expect(words("hel\u{0}lo\u{200B}") == ["hello"])  // NUL and zero-width space removed
        #expect(words("hello\u{00A0}!") == ["hello", "!"])  // no-break space is whitespace
        #expect(words("[CLS]hello") == ["[CLS]", "hello"])  // special tokens matched verbatim
        #expect(words(String(repeating: "una", count: 34)).count == 1)  // 102 characters: [UNK]
        #expect(t.encode("hello hello hello hello hello hello hello").count == 8)  // truncated to maxLength
        #expect(t.encode("") == [2, 3] && t.encode("   \t\n ") == [2, 3])
    }

    @Test func malformedVocabulariesAreRefused() throws {
        expectVecDBError(.malformedFile, containing: "no [SEP]") { try WordPieceTokenizer(vocabulary: ["[PAD]", "[UNK]", "[CLS]"]) }
        expectVecDBError(.malformedFile, containing: "appears twice") {
            try WordPieceTokenizer(vocabulary: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "a"])
        }
        expectVecDBError(.invalidArgument, containing: "at least 2") {
            try WordPieceTokenizer(vocabulary: ["[PAD]", "[UNK]", "[CLS]", "[SEP]"], maxLength: 1)
        }
        let dir = TemporaryDirectory()
        try "[PAD]\n[UNK]\n[CLS]\n[SEP]\n".write(toFile: dir.file("vocab.txt"), atomically: true, encoding: .utf8)
        try #"{"model": {"type": "BPE"}}"#.write(toFile: dir.file("tokenizer.json"), atomically: true, encoding: .utf8)
        expectVecDBError(.malformedFile, containing: "not WordPiece") {
            try WordPieceTokenizer(vocabularyFile: dir.file("vocab.txt"), tokenizerFile: dir.file("tokenizer.json"))
        }
        expectVecDBError(.notFound) { try WordPieceTokenizer(vocabularyFile: dir.file("absent.txt")) }
    }
}
