import Testing
import VecDBKernels
import VecDBTestSupport

@testable import VecDB

/// Issue 14, class 1: integers are exact over the whole Int64 and UInt64 ranges, in payloads,
/// filters, the binary form and JSON text; numbers of different cases compare by value.
@Suite struct IntegerPayloadTests {
    @Test func jsonTextReadsIntegersExactlyAndPrintsThemBack() throws {
        let text = #"{"a":9007199254740993,"b":-9223372036854775808,"c":18446744073709551615,"d":1.5,"e":100000000000000000000,"f":-0}"#
        let p = try Payload(jsonText: text)
        #expect(p["a"] == .integer(9_007_199_254_740_993))
        #expect(p["b"] == .integer(Int64.min))
        #expect(p["c"] == .unsigned(UInt64.max))
        #expect(p["d"] == .number(1.5))
        // Beyond UInt64: a Double, as in any JSON reader.
        #expect(p["e"] == .number(1e20))
        #expect(p.jsonText == #"{"a":9007199254740993,"b":-9223372036854775808,"c":18446744073709551615,"d":1.5,"e":1e+20,"f":0}"#)
        // The binary form keeps every case.
        let back = try Payload(encoded: p.encoded())
        #expect(back == p)
        if case .integer(let a)? = back["a"] { #expect(a == 9_007_199_254_740_993) } else { Issue.record("a lost its case") }
        if case .unsigned(let c)? = back["c"] { #expect(c == UInt64.max) } else { Issue.record("c lost its case") }
    }

    @Test func numbersOfDifferentCasesCompareByValueExactly() {
        #expect(Payload.integer(2) == .number(2))
        #expect(Payload.unsigned(2) == .integer(2))
        #expect(Set<Payload>([.integer(2), .number(2), .unsigned(2)]).count == 1)
        // 2⁵³ + 1 is not the Double nearest to it.
        #expect(Payload.integer(9_007_199_254_740_993) != .number(9_007_199_254_740_992))
        #expect(Payload.compareNumbers(.integer(9_007_199_254_740_993), .number(9_007_199_254_740_992)) == 1)
        // Int64.max is below 2⁶³, which Double holds exactly; UInt64.max is below 2⁶⁴.
        #expect(Payload.compareNumbers(.integer(Int64.max), .number(0x1p63)) == -1)
        #expect(Payload.compareNumbers(.unsigned(UInt64.max), .number(0x1p64)) == -1)
        #expect(Payload.compareNumbers(.unsigned(UInt64.max), .integer(Int64.max)) == 1)
        #expect(Payload.compareNumbers(.integer(-3), .number(-2.5)) == -1)
        #expect(Payload.compareNumbers(.integer(-2), .number(-2.5)) == 1)
        #expect(Payload.compareNumbers(.integer(1), .number(.nan)) == nil)
        #expect(Payload.number(.nan) != .number(.nan))
    }

    @Test func filtersAndKeysKeepEveryBit() throws {
        let dir = TemporaryDirectory()
        let db = try Database.open(at: dir.path)
        let c = try db.createCollection("c", dimension: 2, metric: .l2)
        let big: UInt64 = 9_007_199_254_740_992
        try c.upsert([
            Record(key: .int(big), vector: [1, 0], payload: ["n": .integer(Int64(big))]),
            Record(key: .int(big + 1), vector: [0, 1], payload: ["n": .integer(Int64(big) + 1)]),
            Record(key: .int(UInt64.max), vector: [1, 1], payload: ["n": .unsigned(UInt64.max)]),
        ])
        #expect(c.count == 3)
        #expect(try c.get(.int(big + 1))?.payload?["n"] == .integer(Int64(big) + 1))
        func keys(_ f: String) throws -> Set<Key> {
            Set(try c.search([0, 0], k: 10, options: SearchOptions(filter: try Filter(parsing: f))).map(\.key))
        }
        #expect(try keys("n = 9007199254740993") == [.int(big + 1)])
        #expect(try keys("n > 9007199254740992") == [.int(big + 1), .int(UInt64.max)])
        #expect(try keys("n >= 18446744073709551615") == [.int(UInt64.max)])
        #expect(try keys("n in [9007199254740992, 1]") == [.int(big)])
        // Against a Double, exactly: 2⁵³ + 1 is above 2⁵³ although it rounds to it.
        #expect(try keys("n > 9.007199254740992e15") == [.int(big + 1), .int(UInt64.max)])
        db.close()
    }
}
