import Testing
import VecDBKernels
import VecDBRecommend
import VecDBStorage
import VecDBTestSupport

@Suite("Interaction and item readers")
struct ReaderTests {
    static func write(_ dir: TemporaryDirectory, _ name: String, _ text: String) throws -> String {
        let path = dir.file(name)
        try FileSystem.system.replaceAtomically(path, with: Array(text.utf8))
        return path
    }

    @Test func recBoleInteractions() throws {
        let dir = TemporaryDirectory()
        let path = try Self.write(
            dir, "x.inter",
            """
            user_id:token\titem_id:token\trating:float\ttimestamp:float
            196\t242\t3\t881250949
            186\t302\t3.5\t891717742.0
            u7\tabc\t1\t0

            """)
        let rows = try InteractionFileReader.read(path)
        #expect(
            rows == [
                Interaction(user: 196, item: 242, weight: 3, timestamp: 881_250_949),
                Interaction(user: 186, item: 302, weight: 3.5, timestamp: 891_717_742),
                Interaction(user: "u7", item: "abc", weight: 1, timestamp: 0),
            ])
    }

    @Test func recBoleWithoutRatingOrTimestamp() throws {
        let dir = TemporaryDirectory()
        let path = try Self.write(dir, "y.inter", "item_id:token\tuser_id:token\n5\t1\n6\t2\n")
        #expect(try InteractionFileReader.readRecBole(path) == [Interaction(user: 1, item: 5), Interaction(user: 2, item: 6)])
    }

    @Test func recBoleErrorsNameLineAndColumn() throws {
        let dir = TemporaryDirectory()
        let bad = try Self.write(dir, "bad.inter", "user_id:token\titem_id:token\trating:float\n1\t2\t4\n1\t3\tfive\n")
        expectVecDBError(.malformedFile, containing: "\(bad): line 3, column 3 ('rating'): 'five' is not a number") {
            try InteractionFileReader.read(bad)
        }
        let short = try Self.write(dir, "short.inter", "user_id:token\titem_id:token\n1\t2\n1\n")
        expectVecDBError(.malformedFile, containing: "\(short): line 3 has 1 fields, the header has 2") {
            try InteractionFileReader.read(short)
        }
        let untyped = try Self.write(dir, "untyped.inter", "user_id\titem_id\n1\t2\n")
        expectVecDBError(.malformedFile, containing: "\(untyped): line 1, column 1 ('user_id'): a RecBole header field must be") {
            try InteractionFileReader.read(untyped)
        }
        let noItem = try Self.write(dir, "noitem.inter", "user_id:token\tthing:token\n1\t2\n")
        expectVecDBError(.malformedFile, containing: "the header has no column 'item_id'; columns: user_id, thing") {
            try InteractionFileReader.read(noItem)
        }
    }

    @Test func csvWithDefaultsAndQuotes() throws {
        let dir = TemporaryDirectory()
        let path = try Self.write(
            dir, "ratings.csv",
            "\u{FEFF}userId,movieId,rating,timestamp\r\n1,31,2.5,1260759144\r\n"
                + "\"2\",\"a,b\",4,5\r\n\r\n3,\"say \"\"hi\"\"\",1,7")
        #expect(
            try InteractionFileReader.read(path) == [
                Interaction(user: 1, item: 31, weight: 2.5, timestamp: 1_260_759_144),
                Interaction(user: 2, item: "a,b", weight: 4, timestamp: 5),
                Interaction(user: 3, item: "say \"hi\"", weight: 1, timestamp: 7),
            ])
    }

    @Test func csvWithOtherColumns() throws {
        let dir = TemporaryDirectory()
        let path = try Self.write(dir, "events.csv", "when,customer,sku\n10,alice,X1\n11,bob,X2\n")
        let columns = InteractionColumns(user: "customer", item: "sku")
        #expect(
            try InteractionFileReader.readCSV(path, columns: columns) == [
                Interaction(user: "alice", item: "X1"), Interaction(user: "bob", item: "X2"),
            ])
        expectVecDBError(
            .malformedFile,
            containing: "\(path): the header has no column 'userId' (set it with --user-column); "
                + "columns: when, customer, sku"
        ) { try InteractionFileReader.readCSV(path) }
    }

    @Test func csvErrorsNameLineAndColumn() throws {
        let dir = TemporaryDirectory()
        let rating = try Self.write(dir, "r.csv", "userId,movieId,rating\n1,2,3\n1,3,nan\n")
        expectVecDBError(.malformedFile, containing: "\(rating): line 3, column 3 ('rating'): 'nan' is not a finite number") {
            try InteractionFileReader.readCSV(rating)
        }
        let empty = try Self.write(dir, "e.csv", "userId,movieId\n1,2\n,3\n")
        expectVecDBError(.malformedFile, containing: "\(empty): line 3, column 1 ('userId'): the user key is empty") {
            try InteractionFileReader.readCSV(empty)
        }
        let time = try Self.write(dir, "t.csv", "userId,movieId,timestamp\n1,2,yesterday\n")
        expectVecDBError(.malformedFile, containing: "\(time): line 2, column 3 ('timestamp'): 'yesterday' is not a timestamp") {
            try InteractionFileReader.readCSV(time)
        }
        let quote = try Self.write(dir, "q.csv", "userId,movieId\n1,2\n3,\"open\n4,5\n")
        expectVecDBError(.malformedFile, containing: "\(quote): line 3, column 2: a quoted field is never closed") {
            try InteractionFileReader.readCSV(quote)
        }
        expectVecDBError(.notFound) { try InteractionFileReader.readCSV(dir.file("missing.csv")) }
    }

    @Test func itemCSV() throws {
        let dir = TemporaryDirectory()
        let path = try Self.write(
            dir, "movies.csv",
            """
            movieId,title,genres
            1,Toy Story (1995),Adventure|Animation|Children
            2,"American President, The (1995)",Comedy|Drama|Romance
            3,Nothing,(no genres listed)

            """)
        #expect(
            try ItemFileReader.read(path) == [
                EntityRecord(key: 1, title: "Toy Story (1995)", genres: ["Adventure", "Animation", "Children"]),
                EntityRecord(key: 2, title: "American President, The (1995)", genres: ["Comedy", "Drama", "Romance"]),
                EntityRecord(key: 3, title: "Nothing", genres: []),
            ])
        let bad = try Self.write(dir, "bad.csv", "movieId,title,genres\n1,A,B\n2,B\n")
        expectVecDBError(.malformedFile, containing: "\(bad): line 3 has 2 fields, the header has 3") { try ItemFileReader.read(bad) }
    }

    @Test func recBoleItemsAndUsers() throws {
        let dir = TemporaryDirectory()
        let items = try Self.write(
            dir, "x.item",
            """
            item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq
            1\tToy Story\t1995\tAnimation Children's Comedy
            267\tunkonwn\t\tunknown

            """)
        #expect(
            try ItemFileReader.read(items) == [
                EntityRecord(
                    key: 1, title: "Toy Story", genres: ["Animation", "Children's", "Comedy"], attributes: ["release_year": "1995"]),
                EntityRecord(key: 267, title: "unkonwn", genres: ["unknown"], attributes: ["release_year": ""]),
            ])
        let users = try Self.write(dir, "x.user", "user_id:token\tage:token\tgender:token\n1\t24\tM\n")
        #expect(try ItemFileReader.read(users) == [EntityRecord(key: 1, attributes: ["age": "24", "gender": "M"])])
    }

    @Test func rejectedFileRecordsNothing() throws {
        let dir = TemporaryDirectory()
        let path = try Self.write(dir, "r.csv", "userId,movieId,rating\n1,2,3\n1,3,x\n")
        let log = try InteractionLog.open(directory: dir.file("db"))
        expectVecDBError(.malformedFile) { try log.record(try InteractionFileReader.read(path)) }
        #expect(log.count == 0)
    }
}
