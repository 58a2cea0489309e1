import Foundation
import VecDB
import VecDBDatasets
import VecDBRecommend
import VecDBText

extension DemoCommand {
    /// Films that are near by the embedding of their titles alone: a collection created with
    /// the all-MiniLM-L6-v2 embedder, filled with the MovieLens-100K titles and searched by text.
    func runTitles(in database: Database) throws(VecDBError) {
        print("\n-- Text: MovieLens-100K titles embedded in Swift by all-MiniLM-L6-v2, searched by title --")
        let catalog = DatasetCatalog()
        let encoder = try TextEncoder.miniLM(catalog: catalog, threads: ProcessInfo.processInfo.activeProcessorCount)
        let items = try ItemFileReader.readRecBole(try catalog.fetch("ml-100k") + "/ml-100k.item")
        let records = items.compactMap { r in r.title.map { TextRecord(key: r.key, text: $0) } }
        let titles = try database.createCollection("titles", embedder: encoder)
        let start = Date()
        try titles.upsert(texts: records)
        print(
            String(
                format: "embedded and stored %d titles in %.1f s (model %@, checksum %@)", records.count, Date().timeIntervalSince(start),
                encoder.modelName, encoder.modelChecksum))
        for query in ["Star Wars", "Toy Story", "Apollo 13", "Scream"] {
            let hits = try titles.search(text: query, k: 6).filter {
                if case .object(let o)? = $0.payload, case .string(let t)? = o[Collection.textField] { return t != query }
                return true
            }
            let names = hits.prefix(4).map { hit -> String in
                if case .object(let o)? = hit.payload, case .string(let t)? = o[Collection.textField] {
                    return String(format: "%@ (%.2f)", t, 1 - hit.distance)
                }
                return "\(hit.key)"
            }
            print("  \(query) -> \(names.joined(separator: ", "))")
        }
    }
}
