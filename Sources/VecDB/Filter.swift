import VecDBKernels

/// A predicate on payload fields, used by `search` and `delete(where:)`.
///
/// Grammar (keywords are case-insensitive):
///
/// ```
/// expr       := or
/// or         := and ( "or" and )*
/// and        := unary ( "and" unary )*
/// unary      := "not" unary | primary
/// primary    := "(" expr ")" | "exists" path | path op value | path "in" "[" [value ("," value)*] "]"
/// op         := "=" | "==" | "!=" | "<" | "<=" | ">" | ">="
/// value      := 'string' | "string" | number | true | false | null
/// path       := name ( "." name )*        name := [A-Za-z_][A-Za-z0-9_-]*
/// ```
///
/// Semantics: a path walks nested objects. `=` compares numbers numerically and other values
/// exactly; `!=` is `not =`, so it holds when the field is missing. `<`, `<=`, `>`, `>=` hold
/// only between two numbers or two strings (strings by Unicode scalar order). `in` holds when
/// the field equals a listed value. `exists` holds when the field is present, even if null.
/// A record without a payload has no fields.
public indirect enum Filter: Hashable, Sendable, CustomStringConvertible {
    /// How a field is compared with a value.
    public enum Comparison: String, Hashable, Sendable {
        /// `=`: numbers compared numerically, other values exactly.
        case equal = "="
        /// `!=`: `not =`, so it holds when the field is missing.
        case notEqual = "!="
        /// `<`: between two numbers or two strings (by Unicode scalar order).
        case less = "<"
        /// `<=`
        case lessOrEqual = "<="
        /// `>`
        case greater = ">"
        /// `>=`
        case greaterOrEqual = ">="
    }

    /// The field at the path (object keys, outermost first) compared with a value.
    case compare([String], Comparison, Payload)
    /// The field equals one of the values.
    case isIn([String], [Payload])
    /// The field is present, even if `null`.
    case exists([String])
    /// Both filters match.
    case and(Filter, Filter)
    /// Either filter matches.
    case or(Filter, Filter)
    /// The filter does not match.
    case not(Filter)

    /// Parses filter text.
    ///
    /// - Throws: `VecDBError.Code.invalidArgument` with the 0-based character position, as in
    ///   "filter: expected a value at position 7".
    public init(parsing text: String) throws(VecDBError) {
        var p = FilterParser(text)
        self = try p.parse()
    }

    /// Whether a record with this payload passes.
    public func matches(_ payload: Payload?) -> Bool {
        switch self {
        case .compare(let path, let op, let v):
            let f = payload?[path: path]
            switch op {
            case .equal: return f.map { Self.equal($0, v) } ?? false
            case .notEqual: return !(f.map { Self.equal($0, v) } ?? false)
            case .less: return f.flatMap { Self.order($0, v) }.map { $0 < 0 } ?? false
            case .lessOrEqual: return f.flatMap { Self.order($0, v) }.map { $0 <= 0 } ?? false
            case .greater: return f.flatMap { Self.order($0, v) }.map { $0 > 0 } ?? false
            case .greaterOrEqual: return f.flatMap { Self.order($0, v) }.map { $0 >= 0 } ?? false
            }
        case .isIn(let path, let values):
            guard let f = payload?[path: path] else { return false }
            return values.contains { Self.equal(f, $0) }
        case .exists(let path):
            return payload?[path: path] != nil
        case .and(let a, let b): return a.matches(payload) && b.matches(payload)
        case .or(let a, let b): return a.matches(payload) || b.matches(payload)
        case .not(let a): return !a.matches(payload)
        }
    }

    static func equal(_ a: Payload, _ b: Payload) -> Bool { a == b }

    /// -1, 0, 1, or nil when the two are not comparable. Numbers compare exactly, whatever
    /// their case (an Int64 beyond 2⁵³ against a Double is not rounded).
    static func order(_ a: Payload, _ b: Payload) -> Int? {
        if let n = Payload.compareNumbers(a, b) { return n }
        switch (a, b) {
        case (.string(let x), .string(let y)):
            if x == y { return 0 }
            return x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars) ? -1 : 1
        default: return nil
        }
    }

    /// The filter in the syntax ``init(parsing:)`` reads.
    public var description: String {
        func path(_ p: [String]) -> String { p.joined(separator: ".") }
        func value(_ v: Payload) -> String { v.jsonText }
        switch self {
        case .compare(let p, let op, let v): return "\(path(p)) \(op.rawValue) \(value(v))"
        case .isIn(let p, let vs): return "\(path(p)) in [\(vs.map(value).joined(separator: ", "))]"
        case .exists(let p): return "exists \(path(p))"
        case .and(let a, let b): return "(\(a) and \(b))"
        case .or(let a, let b): return "(\(a) or \(b))"
        case .not(let a): return "not (\(a))"
        }
    }
}

struct FilterParser {
    enum Token: Equatable {
        case name(String)
        case string(String)
        case number(Payload)
        case symbol(String)
        case end
    }

    let chars: [Character]
    var i = 0
    var token: Token = .end
    var tokenStart = 0
    var nesting = 0

    init(_ text: String) { chars = Array(text) }

    func fail(_ why: String, at position: Int? = nil) -> VecDBError {
        VecDBError(.invalidArgument, "filter: \(why) at position \(position ?? tokenStart)")
    }

    mutating func parse() throws(VecDBError) -> Filter {
        try advance()
        if token == .end { throw fail("expected an expression") }
        let f = try orExpr()
        guard token == .end else { throw fail("unexpected \(describe(token))") }
        return f
    }

    func describe(_ t: Token) -> String {
        switch t {
        case .name(let n): return "'\(n)'"
        case .string(let s): return "string '\(s)'"
        case .number(let x): return "number \(x.jsonText)"
        case .symbol(let s): return "'\(s)'"
        case .end: return "end of filter"
        }
    }

    func isKeyword(_ word: String) -> Bool {
        if case .name(let n) = token { return n.lowercased() == word }
        return false
    }

    mutating func advance() throws(VecDBError) {
        while i < chars.count, chars[i].isWhitespace { i += 1 }
        tokenStart = i
        guard i < chars.count else {
            token = .end
            return
        }
        let c = chars[i]
        if c.isLetter || c == "_" {
            var s = ""
            while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" || chars[i] == "-" {
                s.append(chars[i])
                i += 1
            }
            token = .name(s)
        } else if c == "'" || c == "\"" {
            i += 1
            var s = ""
            while true {
                guard i < chars.count else { throw fail("unterminated string", at: tokenStart) }
                let d = chars[i]
                i += 1
                if d == c { break }
                if d == "\\" {
                    guard i < chars.count else { throw fail("unterminated string", at: tokenStart) }
                    let e = chars[i]
                    i += 1
                    switch e {
                    case "n": s.append("\n")
                    case "t": s.append("\t")
                    default: s.append(e)
                    }
                } else {
                    s.append(d)
                }
            }
            token = .string(s)
        } else if c.isNumber
            || ((c == "-" || c == "+" || c == ".") && i + 1 < chars.count && (chars[i + 1].isNumber || chars[i + 1] == "."))
        {
            var s = String(c)
            i += 1
            while i < chars.count,
                chars[i].isNumber || chars[i] == "." || chars[i] == "e" || chars[i] == "E"
                    || ((chars[i] == "-" || chars[i] == "+") && (s.last == "e" || s.last == "E"))
            {
                s.append(chars[i])
                i += 1
            }
            guard let x = Payload(numberText: s) else { throw fail("invalid number '\(s)'", at: tokenStart) }
            token = .number(x)
        } else {
            let two = i + 1 < chars.count ? String([c, chars[i + 1]]) : ""
            if ["<=", ">=", "!=", "==", "&&", "||"].contains(two) {
                i += 2
                token = .symbol(two)
            } else if "=<>()[],.!".contains(c) {
                i += 1
                token = .symbol(String(c))
            } else {
                throw fail("unexpected character '\(c)'", at: tokenStart)
            }
        }
    }

    /// The most parentheses and `not`s one filter may nest: the parser and every evaluation
    /// recurse once per level, and a hostile filter must not exhaust a thread's stack.
    static let maxNesting = 64

    mutating func orExpr() throws(VecDBError) -> Filter {
        var terms = [try andExpr()]
        while isKeyword("or") || token == .symbol("||") {
            try advance()
            terms.append(try andExpr())
        }
        return Self.balanced(terms[...], Filter.or)
    }

    mutating func andExpr() throws(VecDBError) -> Filter {
        var terms = [try unary()]
        while isKeyword("and") || token == .symbol("&&") {
            try advance()
            terms.append(try unary())
        }
        return Self.balanced(terms[...], Filter.and)
    }

    /// A chain of `and` (or `or`) terms as a balanced tree, so that its depth grows with the
    /// logarithm of its length (the operators are associative).
    static func balanced(_ terms: ArraySlice<Filter>, _ join: (Filter, Filter) -> Filter) -> Filter {
        if terms.count == 1, let only = terms.first { return only }
        let mid = terms.startIndex + terms.count / 2
        return join(balanced(terms[..<mid], join), balanced(terms[mid...], join))
    }

    mutating func nested(_ body: (inout Self) throws(VecDBError) -> Filter) throws(VecDBError) -> Filter {
        nesting += 1
        defer { nesting -= 1 }
        guard nesting <= Self.maxNesting else { throw fail("parentheses and 'not' nested deeper than \(Self.maxNesting) levels") }
        return try body(&self)
    }

    mutating func unary() throws(VecDBError) -> Filter {
        if isKeyword("not") || token == .symbol("!") {
            try advance()
            return try nested { (p: inout Self) throws(VecDBError) in .not(try p.unary()) }
        }
        return try primary()
    }

    mutating func primary() throws(VecDBError) -> Filter {
        if token == .symbol("(") {
            try advance()
            let f = try nested { (p: inout Self) throws(VecDBError) in try p.orExpr() }
            guard token == .symbol(")") else { throw fail("expected ')'") }
            try advance()
            return f
        }
        if isKeyword("exists") {
            try advance()
            return .exists(try path())
        }
        let p = try path()
        if isKeyword("in") {
            try advance()
            guard token == .symbol("[") else { throw fail("expected '[' after 'in'") }
            try advance()
            var values: [Payload] = []
            if token == .symbol("]") {
                try advance()
                return .isIn(p, values)
            }
            while true {
                values.append(try value())
                if token == .symbol(",") {
                    try advance()
                    continue
                }
                guard token == .symbol("]") else { throw fail("expected ',' or ']'") }
                try advance()
                return .isIn(p, values)
            }
        }
        let op: Filter.Comparison
        switch token {
        case .symbol("="), .symbol("=="): op = .equal
        case .symbol("!="): op = .notEqual
        case .symbol("<"): op = .less
        case .symbol("<="): op = .lessOrEqual
        case .symbol(">"): op = .greater
        case .symbol(">="): op = .greaterOrEqual
        default: throw fail("expected a comparison (=, !=, <, <=, >, >=) or 'in' after '\(p.joined(separator: "."))'")
        }
        try advance()
        return .compare(p, op, try value())
    }

    mutating func path() throws(VecDBError) -> [String] {
        guard case .name(let first) = token, !["and", "or", "not", "in", "exists"].contains(first.lowercased()) else {
            throw fail("expected a field name, found \(describe(token))")
        }
        var p = [first]
        try advance()
        while token == .symbol(".") {
            try advance()
            guard case .name(let n) = token else { throw fail("expected a field name after '.'") }
            p.append(n)
            try advance()
        }
        return p
    }

    mutating func value() throws(VecDBError) -> Payload {
        let v: Payload
        switch token {
        case .string(let s): v = .string(s)
        case .number(let x): v = x
        case .name(let n) where n.lowercased() == "true": v = .bool(true)
        case .name(let n) where n.lowercased() == "false": v = .bool(false)
        case .name(let n) where n.lowercased() == "null": v = .null
        default: throw fail("expected a value (string, number, true, false or null), found \(describe(token))")
        }
        try advance()
        return v
    }
}
