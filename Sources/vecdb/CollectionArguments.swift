import ArgumentParser
import VecDB

/// Arguments every collection command takes.
struct CollectionArguments: ParsableArguments {
    @Argument(help: "Database directory.")
    var db: String

    @Argument(help: "Collection name.")
    var collection: String

    func open(readOnly: Bool = false) throws -> (Database, Collection) {
        let database = try Database.open(at: db, options: DatabaseOptions(readOnly: readOnly))
        do {
            return (database, try database.collection(collection))
        } catch {
            database.close()
            throw error
        }
    }
}
