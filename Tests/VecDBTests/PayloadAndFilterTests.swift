import Testing
import VecDBKernels
import VecDBTestSupport

@testable import VecDB

func randomPayload(_ g: inout SeededGenerator, depth: Int = 0) -> Payload {
    switch Int.random(in: 0..<(depth > 2 ? 4 : 6), using: &g) {
    case 0: return .null
    case 1: return .bool(Bool.random(using: &g))
    case 2:
        return .number(
            Int.random(in: 0..<3, using: &g) == 0 ? Double(Int.random(in: -50...50, using: &g)) : Double.random(in: -1e6...1e6, using: &g))
    case 3: return .string(["", "a", "héllo", "tab\tquote\"back\\slash", "日本", "\u{1}"].randomElement(using: &g) ?? "")
    case 4: return .array((0..<Int.random(in: 0..<4, using: &g)).map { _ in randomPayload(&g, depth: depth + 1) })
    default:
        var o: [String: Payload] = [:]
        for _ in 0..<Int.random(in: 0..<4, using: &g) {
            o[["a", "b", "c", "lang", "n"].randomElement(using: &g) ?? "a"] = randomPayload(&g, depth: depth + 1)
        }
        return .object(o)
    }
}

@Suite struct PayloadTests {
    @Test func binaryAndJSONRoundTrips() throws {
        var g = SeededGenerator(seed: 21)
        for _ in 0..<500 {
            let p = randomPayload(&g)
            #expect(try Payload(encoded: p.encoded()) == p)
            let text = p.jsonText
            let back = try Payload(jsonText: text)
            // JSON prints integers exactly and other doubles with Swift's shortest round-trip form.
            #expect(back == p, "\(text)")
        }
    }

    @Test func parsesJSONText() throws {
        let p = try Payload(jsonText: #" {"a": [1, 2.5, -3e2, true, false, null], "s": "x\u00e9\n", "o": {"k": {}}} "#)
        #expect(p == ["a": [1, 2.5, -300, true, false, nil], "s": "xé\n", "o": ["k": .object([:])]])
        #expect(p.jsonText == #"{"a":[1,2.5,-300,true,false,null],"o":{"k":{}},"s":"xé\n"}"#)
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "tru", "1 2", "\"abc", "01x", "[\"\\q\"]"] {
            let e = #expect(throws: VecDBError.self) { try Payload(jsonText: bad) }
            #expect(e?.code == .invalidArgument)
            #expect(e?.message.contains("position") == true)
        }
    }

    @Test func damagedBinaryIsAnErrorNotATrap() {
        var g = SeededGenerator(seed: 22)
        for _ in 0..<300 {
            var bytes = randomPayload(&g).encoded()
            if bytes.isEmpty { continue }
            let i = Int.random(in: 0..<bytes.count, using: &g)
            bytes[i] = UInt8.random(in: 0...255, using: &g)
            _ = try? Payload(encoded: bytes)
            _ = try? Payload(encoded: Array(bytes.prefix(i)))
        }
    }
}

@Suite struct FilterTests {
    /// Hand-written oracles for the same expressions, evaluated on plain Swift values.
    static let cases: [(String, @Sendable (Payload?) -> Bool)] = [
        ("lang = 'en'", { $0?["lang"] == .string("en") }),
        ("lang != \"en\"", { $0?["lang"] != .string("en") }),
        (
            "n < 10",
            {
                if case .number(let x)? = $0?["n"] { return x < 10 }
                return false
            }
        ),
        (
            "n <= 10",
            {
                if case .number(let x)? = $0?["n"] { return x <= 10 }
                return false
            }
        ),
        (
            "n > -5.5",
            {
                if case .number(let x)? = $0?["n"] { return x > -5.5 }
                return false
            }
        ),
        (
            "n >= 1e1",
            {
                if case .number(let x)? = $0?["n"] { return x >= 10 }
                return false
            }
        ),
        ("lang in ['en', 'fr', 3]", { [.string("en"), .string("fr"), .number(3)].contains($0?["lang"] ?? .array([.null])) }),
        ("exists meta.score", { $0?[path: ["meta", "score"]] != nil }),
        (
            "meta.score > 0.5 and not (lang = 'en' or flag = true)",
            { p in
                guard case .number(let s)? = p?[path: ["meta", "score"]], s > 0.5 else { return false }
                return !(p?["lang"] == .string("en") || p?["flag"] == .bool(true))
            }
        ),
        ("flag = false or n = null", { $0?["flag"] == .bool(false) || $0?["n"] == .null }),
        (
            "NOT exists lang AND n > 3 OR lang = 'de'",
            { p in
                let a: Bool = {
                    if p?["lang"] == nil, case .number(let x)? = p?["n"] { return x > 3 }
                    return false
                }()
                return a || p?["lang"] == .string("de")
            }
        ),
        (
            "lang < 'f'",
            {
                if case .string(let s)? = $0?["lang"] { return s < "f" }
                return false
            }
        ),
    ]

    static func samplePayload(_ g: inout SeededGenerator) -> Payload? {
        if Int.random(in: 0..<10, using: &g) == 0 { return nil }
        var o: [String: Payload] = [:]
        if Bool.random(using: &g) {
            o["lang"] = [.string("en"), .string("fr"), .string("de"), .string("zz"), .number(3)].randomElement(using: &g)
        }
        if Bool.random(using: &g) {
            o["n"] = Int.random(in: 0..<5, using: &g) == 0 ? .null : .number(Double(Int.random(in: -10...20, using: &g)))
        }
        if Bool.random(using: &g) { o["flag"] = .bool(Bool.random(using: &g)) }
        if Bool.random(using: &g) { o["meta"] = ["score": .number(Double.random(in: 0...1, using: &g))] }
        return .object(o)
    }

    @Test func evaluationMatchesOracle() throws {
        var g = SeededGenerator(seed: 31)
        let payloads = (0..<400).map { _ in Self.samplePayload(&g) }
        for (text, oracle) in Self.cases {
            let f = try Filter(parsing: text)
            for p in payloads { #expect(f.matches(p) == oracle(p), "\(text) on \(p?.jsonText ?? "nil")") }
            // The printed form parses back to the same filter.
            #expect(try Filter(parsing: f.description) == f)
        }
    }

    @Test func precedenceAndStructure() throws {
        #expect(
            try Filter(parsing: "a = 1 or b = 2 and c = 3")
                == .or(.compare(["a"], .equal, 1), .and(.compare(["b"], .equal, 2), .compare(["c"], .equal, 3))))
        #expect(try Filter(parsing: "not not x.y.z in []") == .not(.not(.isIn(["x", "y", "z"], []))))
        #expect(try Filter(parsing: #"(a == 'it\'s')"#) == .compare(["a"], .equal, "it's"))
    }

    @Test(arguments: [
        ("", 0), ("a", 1), ("a =", 3), ("a = = 1", 4), ("(a = 1", 6), ("a in [1 2]", 8), ("a = 'x", 4),
        ("a = 1 b", 6), ("exists", 6), ("a.= 1", 2), ("a = 1 and", 9), ("a # 1", 2),
    ])
    func parseErrorsGiveThePosition(_ input: (String, Int)) {
        let e = #expect(throws: VecDBError.self) { try Filter(parsing: input.0) }
        #expect(e?.code == .invalidArgument)
        #expect(e?.message.hasSuffix("at position \(input.1)") == true, "\(input.0): \(e?.message ?? "")")
    }
}

@Suite struct KeyTests {
    @Test func parsing() {
        #expect(Key(parsing: "42") == .int(42))
        #expect(Key(parsing: "18446744073709551615") == .int(.max))
        #expect(Key(parsing: "18446744073709551616") == .string("18446744073709551616"))
        #expect(Key(parsing: "-1") == .string("-1"))
        #expect(Key(parsing: "a1") == .string("a1"))
        #expect(Key(parsing: "") == .string(""))
        #expect(Key(parsing: "+5") == .string("+5"))
        let k: Key = 7
        let s: Key = "seven"
        #expect(k == .int(7) && s == .string("seven"))
    }
}
