import Foundation
import VecDBKernels

/// BERT's WordPiece tokenizer: the normaliser, the pre-tokeniser and the greedy
/// longest-match vocabulary lookup of Hugging Face's `tokenizers` library (`BertNormalizer`,
/// `BertPreTokenizer`, `WordPiece`), read from a `vocab.txt` and the settings of a
/// `tokenizer.json`.
///
/// For one text, ``encode(_:)``:
/// 1. cleans it: removes NUL, U+FFFD and control, format, private-use and unassigned
///    characters (tab, newline and carriage return excepted), and turns every whitespace
///    character into a space;
/// 2. puts spaces around CJK ideographs, so each is a word of its own;
/// 3. strips accents (canonical decomposition, then nonspacing marks dropped) and lower-cases
///    each character, when the settings say so (`strip_accents` follows `lowercase` when unset);
/// 4. splits on whitespace, and splits every punctuation character (ASCII punctuation and the
///    Unicode P* categories) into a word of its own;
/// 5. maps each word to the longest vocabulary entry that starts it, then the longest `##`
///    continuation that starts the rest, and so on; a word with a part no entry matches, or
///    of more than `max_input_chars_per_word` characters, becomes `[UNK]`;
/// 6. keeps the first `maxLength − 2` pieces between `[CLS]` and `[SEP]`.
///
/// Before all that, special tokens written in the text (`[CLS]`, `[SEP]`, `[MASK]`, … as the
/// `added_tokens` of `tokenizer.json` list them) are matched exactly and become their ids, as
/// in the `tokenizers` library; only the text between them goes through steps 1 to 5.
public struct WordPieceTokenizer: Sendable {
    /// Token ids by vocabulary entry.
    public let vocabulary: [String: Int32]
    /// How many entries the vocabulary has; ids run from 0 to `vocabularySize − 1`.
    public let vocabularySize: Int
    /// Whether text is lower-cased.
    public let lowercase: Bool
    /// Whether accents are stripped.
    public let stripAccents: Bool
    /// Whether CJK ideographs become words of their own.
    public let handleChineseCharacters: Bool
    /// Whether control characters are removed and whitespace made spaces.
    public let cleanText: Bool
    /// Words longer than this (in Unicode scalars) become `[UNK]`.
    public let maxInputCharactersPerWord: Int
    /// The prefix of pieces that continue a word.
    public let continuingPrefix: String
    /// The most tokens ``encode(_:)`` returns, `[CLS]` and `[SEP]` included.
    public let maxLength: Int
    /// Ids of the special tokens.
    public let unknownID: Int32, classID: Int32, separatorID: Int32, paddingID: Int32
    /// Special tokens matched verbatim in the text, longest first, with their ids.
    let addedTokens: [(scalars: [Unicode.Scalar], id: Int32)]

    /// Reads a vocabulary (one entry per line; the line number is the id) and, when given, the
    /// normaliser and model settings of a `tokenizer.json`.
    ///
    /// - Throws: ``VecDBError/Code/notFound`` for a missing file; ``VecDBError/Code/malformedFile``
    ///   for a vocabulary without `[UNK]`, `[CLS]`, `[SEP]` or `[PAD]`, a repeated entry, or a
    ///   `tokenizer.json` that is not a WordPiece tokenizer with a BERT normaliser.
    public init(vocabularyFile: String, tokenizerFile: String? = nil, maxLength: Int = 256) throws(VecDBError) {
        let text = try Self.readText(vocabularyFile)
        var entries = text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0.hasSuffix("\r") ? $0.dropLast() : $0) }
        if entries.last == "" { entries.removeLast() }
        var settings = Settings()
        if let tokenizerFile { settings = try Settings(json: try Self.readText(tokenizerFile), path: tokenizerFile) }
        try self.init(vocabulary: entries, settings: settings, maxLength: maxLength, path: vocabularyFile)
    }

    /// A tokenizer over `vocabulary` (entry i has id i) with BERT's uncased settings.
    public init(vocabulary entries: [String], maxLength: Int = 256) throws(VecDBError) {
        try self.init(vocabulary: entries, settings: Settings(), maxLength: maxLength, path: "<vocabulary>")
    }

    init(vocabulary entries: [String], settings: Settings, maxLength: Int, path: String) throws(VecDBError) {
        guard maxLength >= 2 else { throw VecDBError(.invalidArgument, "tokenizer maxLength must be at least 2, got \(maxLength)") }
        guard entries.count < Int(Int32.max) else { throw VecDBError(.malformedFile, "\(path): too many entries", path: path) }
        var vocabulary: [String: Int32] = [:]
        vocabulary.reserveCapacity(entries.count)
        for (i, e) in entries.enumerated() {
            guard vocabulary.updateValue(Int32(i), forKey: e) == nil else {
                throw VecDBError(.malformedFile, "\(path): entry '\(e)' appears twice (line \(i + 1))", path: path)
            }
        }
        func special(_ token: String) throws(VecDBError) -> Int32 {
            guard let id = vocabulary[token] else {
                throw VecDBError(.malformedFile, "\(path): the vocabulary has no \(token)", path: path)
            }
            return id
        }
        self.vocabulary = vocabulary
        vocabularySize = entries.count
        lowercase = settings.lowercase
        stripAccents = settings.stripAccents ?? settings.lowercase
        handleChineseCharacters = settings.handleChineseCharacters
        cleanText = settings.cleanText
        maxInputCharactersPerWord = settings.maxInputCharactersPerWord
        continuingPrefix = settings.continuingPrefix
        self.maxLength = maxLength
        unknownID = try special(settings.unknownToken)
        classID = try special("[CLS]")
        separatorID = try special("[SEP]")
        paddingID = try special("[PAD]")
        var added: [(scalars: [Unicode.Scalar], id: Int32)] = []
        for token in settings.addedTokens ?? ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] where !token.isEmpty {
            if let id = vocabulary[token] { added.append((Array(token.unicodeScalars), id)) }
        }
        addedTokens = added.sorted { $0.scalars.count > $1.scalars.count }
    }

    /// The token ids of `text`: `[CLS]`, at most `maxLength − 2` pieces, `[SEP]`.
    public func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = [classID]
        let budget = maxLength - 2
        outer: for segment in segments(text) {
            switch segment {
            case .special(let id):
                if ids.count - 1 == budget { break outer }
                ids.append(id)
            case .text(let part):
                for word in words(normalize(part)) {
                    for id in pieces(word) {
                        if ids.count - 1 == budget { break outer }
                        ids.append(id)
                    }
                }
            }
        }
        ids.append(separatorID)
        return ids
    }

    enum Segment {
        case text(String.UnicodeScalarView)
        case special(Int32)
    }

    /// The text cut at the special tokens written in it.
    func segments(_ text: String) -> [Segment] {
        let scalars = Array(text.unicodeScalars)
        guard !addedTokens.isEmpty, scalars.contains(where: { c in addedTokens.contains { $0.scalars[0] == c } }) else {
            return [.text(text.unicodeScalars)]
        }
        var out: [Segment] = []
        var plain = String.UnicodeScalarView()
        var i = 0
        scan: while i < scalars.count {
            for token in addedTokens where token.scalars[0] == scalars[i] && i + token.scalars.count <= scalars.count {
                if scalars[i..<(i + token.scalars.count)].elementsEqual(token.scalars) {
                    if !plain.isEmpty { out.append(.text(plain)) }
                    plain = String.UnicodeScalarView()
                    out.append(.special(token.id))
                    i += token.scalars.count
                    continue scan
                }
            }
            plain.append(scalars[i])
            i += 1
        }
        if !plain.isEmpty { out.append(.text(plain)) }
        return out
    }

    /// The vocabulary entries of `ids`, for display and tests.
    public func tokens(_ ids: [Int32]) -> [String] {
        var byID = [String](repeating: "", count: vocabularySize)
        for (e, i) in vocabulary { byID[Int(i)] = e }
        return ids.map { Int($0) < byID.count && $0 >= 0 ? byID[Int($0)] : "?" }
    }

    // MARK: Normalisation and splitting

    /// Steps 1 to 3: the normalised text as Unicode scalars.
    func normalize(_ text: String.UnicodeScalarView) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        for c in text {
            if cleanText {
                if c.value == 0 || c.value == 0xFFFD || Self.isControl(c) { continue }
                if Self.isWhitespace(c) {
                    out.append(" ")
                    continue
                }
            }
            if handleChineseCharacters && Self.isCJK(c) {
                out.append(" ")
                out.append(c)
                out.append(" ")
            } else {
                out.append(c)
            }
        }
        if stripAccents {
            var s = String.UnicodeScalarView()
            s.append(contentsOf: out)
            let decomposed = String(s).decomposedStringWithCanonicalMapping
            out = decomposed.unicodeScalars.filter { $0.properties.generalCategory != .nonspacingMark }
        }
        if lowercase {
            var lowered: [Unicode.Scalar] = []
            lowered.reserveCapacity(out.count)
            for c in out {
                if c.isASCII {
                    lowered.append(c.value >= 65 && c.value <= 90 ? Unicode.Scalar(UInt8(c.value + 32)) : c)
                } else {
                    lowered.append(contentsOf: c.properties.lowercaseMapping.unicodeScalars)
                }
            }
            out = lowered
        }
        return out
    }

    /// Step 4: words, whitespace dropped and each punctuation character a word of its own.
    func words(_ scalars: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        var words: [ArraySlice<Unicode.Scalar>] = []
        var start = 0
        for (i, c) in scalars.enumerated() {
            if Self.isWhitespace(c) {
                if start < i { words.append(scalars[start..<i]) }
                start = i + 1
            } else if Self.isPunctuation(c) {
                if start < i { words.append(scalars[start..<i]) }
                words.append(scalars[i..<(i + 1)])
                start = i + 1
            }
        }
        if start < scalars.count { words.append(scalars[start...]) }
        return words
    }

    /// Step 5: one word's pieces.
    func pieces(_ word: ArraySlice<Unicode.Scalar>) -> [Int32] {
        guard word.count <= maxInputCharactersPerWord else { return [unknownID] }
        var ids: [Int32] = []
        var start = word.startIndex
        while start < word.endIndex {
            var end = word.endIndex
            var found: Int32?
            while start < end {
                var candidate = start == word.startIndex ? "" : continuingPrefix
                candidate.unicodeScalars.append(contentsOf: word[start..<end])
                if let id = vocabulary[candidate] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else { return [unknownID] }
            ids.append(id)
            start = end
        }
        return ids
    }

    // MARK: Character classes (as the `tokenizers` library defines them)

    static func isWhitespace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09, 0x0A, 0x0D, 0x20: true
        default: c.properties.isWhitespace
        }
    }

    static func isControl(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09, 0x0A, 0x0D: return false
        default:
            switch c.properties.generalCategory {
            case .control, .format, .privateUse, .unassigned, .surrogate: return true
            default: return false
            }
        }
    }

    static func isPunctuation(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII {
            let v = c.value
            return (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v)
        }
        switch c.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
            .finalPunctuation, .otherPunctuation:
            return true
        default: return false
        }
    }

    static func isCJK(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F, 0x2B920...0x2CEAF,
            0xF900...0xFAFF, 0x2F800...0x2FA1F:
            true
        default: false
        }
    }

    // MARK: Files

    static func readText(_ path: String) throws(VecDBError) -> String {
        guard FileManager.default.fileExists(atPath: path) else { throw VecDBError(.notFound, "\(path): no such file", path: path) }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw VecDBError(.malformedFile, "\(path): not readable as UTF-8 text", path: path)
        }
        return text
    }

    /// The settings read from a `tokenizer.json`.
    struct Settings {
        var lowercase = true
        var stripAccents: Bool?
        var handleChineseCharacters = true
        var cleanText = true
        var maxInputCharactersPerWord = 100
        var continuingPrefix = "##"
        var unknownToken = "[UNK]"
        var addedTokens: [String]?

        init() {}

        init(json: String, path: String) throws(VecDBError) {
            func bad(_ why: String) -> VecDBError { VecDBError(.malformedFile, "\(path): \(why)", path: path) }
            guard let data = json.data(using: .utf8),
                let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
            else { throw bad("not a JSON object") }
            guard let model = root["model"] as? [String: Any], model["type"] as? String == "WordPiece" else {
                throw bad("model.type is not WordPiece; only BERT WordPiece tokenizers are supported")
            }
            if let n = root["normalizer"] as? [String: Any] {
                guard n["type"] as? String == "BertNormalizer" else {
                    throw bad("normalizer.type '\(n["type"] as? String ?? "?")' is not BertNormalizer")
                }
                lowercase = n["lowercase"] as? Bool ?? true
                stripAccents = n["strip_accents"] as? Bool
                handleChineseCharacters = n["handle_chinese_chars"] as? Bool ?? true
                cleanText = n["clean_text"] as? Bool ?? true
            }
            if let p = root["pre_tokenizer"] as? [String: Any], p["type"] as? String != "BertPreTokenizer" {
                throw bad("pre_tokenizer.type '\(p["type"] as? String ?? "?")' is not BertPreTokenizer")
            }
            if let added = root["added_tokens"] as? [[String: Any]] {
                addedTokens = added.compactMap { $0["content"] as? String }
            }
            if let m = model["max_input_chars_per_word"] as? Int { maxInputCharactersPerWord = m }
            if let p = model["continuing_subword_prefix"] as? String { continuingPrefix = p }
            if let u = model["unk_token"] as? String { unknownToken = u }
        }
    }
}
