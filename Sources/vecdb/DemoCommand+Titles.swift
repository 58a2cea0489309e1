import Foundation
import VecDB
import VecDBDatasets
import VecDBText

extension DemoCommand {
    /// Films that are near by the embedding of their titles alone: a collection created with
    /// the all-MiniLM-L6-v2 embedder, filled with the MovieLens-100K titles and searched by text.
    func runTitles(in database: Database) throws(VecDBError) {
        print("\n-- Text: MovieLens-100K titles embedded in Swift by all-MiniLM-L6-v2, searched by title --")
        let catalog = DatasetCatalog()
        let encoder = try TextEncoder.miniLM(catalog: catalog, threads: ProcessInfo.processInfo.activeProcessorCount)
        let items = try catalog.fetch("ml-100k") + "/ml-100k.item"
        guard let data = FileManager.default.contents(atPath: items) else {
            throw VecDBError(.notFound, "cannot read \(items)", path: items)
        }
        var records: [TextRecord] = []
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n").dropFirst() {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count > 1, let id = UInt64(fields[0]) else { continue }
            records.append(TextRecord(key: .int(id), text: String(fields[1])))
        }
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
