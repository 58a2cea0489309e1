// swift-tools-version: 6.1
//
// VecDB: an embedded vector database with a recommender layer, for Swift on Linux.
//
// Modules are layered; arrows point one way only:
//
//   CVecDBKernels (C) -> VecDBKernels -> VecDBStorage -> VecDBIndex -> VecDBEngine -> VecDB (facade)
//   CLZ4 (system), CVecDBStorage (C: hardware CRC-32C) -> VecDBStorage
//   VecDBKernels, VecDBStorage -> VecDBDatasets (file readers, data-set fetcher)
//   VecDB, VecDBDatasets -> VecDBImport (records from JSON Lines, CSV, .fvecs, .npy)
//   CVecDBKernels, VecDBKernels, VecDBStorage -> VecDBNN (tensors, layers, losses, optimisers)
//   CPNG, CJPEG (system) -> CVecDBImage (C) ; CVecDBImage, VecDBNN, VecDBDatasets -> VecDBVision (image
//     reading, the image encoder CNN, visual-similarity evaluation)
//   VecDB, VecDBNN, VecDBDatasets -> VecDBText (WordPiece tokenizer, BERT sentence encoder such as
//     all-MiniLM-L6-v2, the facade's TextEmbedder)
//   VecDB, VecDBIndex, VecDBDatasets, VecDBNN, VecDBText -> VecDBBench (the benchmark harness)
//   VecDB, VecDBNN, VecDBVision, VecDBText, VecDBKernels, CVecDBKernels, VecDBStorage -> VecDBRecommend (interactions,
//     readers, baselines, evaluation; its own library product)
//   everything -> vecdb (the shell)
//
// See docs/architecture.md.
//
// Nothing lower imports anything higher.
import PackageDescription

let package = Package(
    name: "VecDB",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "VecDB", targets: ["VecDB", "VecDBImport"]),
        .library(name: "VecDBText", targets: ["VecDBText"]),
        .library(name: "VecDBRecommend", targets: ["VecDBRecommend", "VecDBVision", "VecDBText"]),
        .executable(name: "vecdb", targets: ["vecdb"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
    ],
    targets: [
        // System libraries.
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]
        ),
        // C kernels: SIMD distances with runtime ISA dispatch, and a BLAS shim that loads
        // OpenBLAS at run time with the right core type for this CPU.
        .target(
            name: "CVecDBKernels",
            linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("m")]
        ),
        // Kernels: distances, top-k, exact search, quantisation. No I/O.
        .target(name: "VecDBKernels", dependencies: ["CVecDBKernels"]),
        // Storage: file layer, WAL, segments, manifest, LZ4 payloads.
        .target(name: "CVecDBStorage"),
        .target(name: "VecDBStorage", dependencies: ["VecDBKernels", "CVecDBStorage", "CLZ4"]),
        // Indexes: HNSW (and IVF), persisted and opened by mmap.
        .target(name: "VecDBIndex", dependencies: ["VecDBKernels", "CVecDBKernels", "VecDBStorage"]),
        // Query engine: plans a search (exact, graph or lists; filter selectivity), runs it over
        // a snapshot's segments and memtable, merges the hits; owns the indexes' life cycle.
        .target(name: "VecDBEngine", dependencies: ["VecDBKernels", "VecDBStorage", "VecDBIndex"]),
        // Facade: Database, Collection, options, filters, payloads: the public API.
        .target(name: "VecDB", dependencies: ["VecDBKernels", "VecDBStorage", "VecDBIndex", "VecDBEngine"]),
        // Record importers (JSON Lines, CSV, .fvecs, .npy) for services and the shell.
        .target(name: "VecDBImport", dependencies: ["VecDB", "VecDBKernels", "VecDBDatasets"]),
        // Data-set readers and fetchers (fvecs, npy, IDX, CSV), used by the CLI and benchmarks.
        .target(name: "VecDBDatasets", dependencies: ["VecDBKernels", "VecDBStorage"]),
        // Neural-network core: tensors over BLAS, layers with hand-written backward passes,
        // losses, optimisers and safetensors checkpoints. Above the facade; uses storage for files.
        .target(name: "VecDBNN", dependencies: ["VecDBKernels", "CVecDBKernels", "VecDBStorage"]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg62-turbo-dev"])]),
        // Image decoding in C over libpng and libjpeg-turbo (errors caught there, never
        // longjmp'd into Swift).
        .target(name: "CVecDBImage", dependencies: ["CPNG", "CJPEG"]),
        // Vision: PNG/JPEG/.npy/IDX image reading, the image encoder CNN, visual similarity.
        .target(name: "VecDBVision", dependencies: ["CVecDBImage", "VecDBNN", "VecDBKernels", "VecDBDatasets"]),
        // Text: the WordPiece tokenizer and BERT sentence encoder (all-MiniLM-L6-v2), a TextEmbedder.
        .target(
            name: "VecDBText",
            dependencies: ["VecDB", "VecDBNN", "VecDBKernels", "CVecDBKernels", "VecDBStorage", "VecDBDatasets"]
        ),
        // The benchmark harness: measures VecDB and runs the peers; Codable JSON Lines rows.
        .target(
            name: "VecDBBench",
            dependencies: ["VecDB", "VecDBImport", "VecDBKernels", "VecDBIndex", "VecDBDatasets", "VecDBNN", "VecDBText"]
        ),
        // The recommender layer: the durable interaction log, interaction and item readers,
        // baseline models (popularity, item-kNN, EASE) and the ranking evaluation protocol.
        .target(
            name: "VecDBRecommend",
            dependencies: ["VecDB", "VecDBNN", "VecDBVision", "VecDBText", "VecDBKernels", "CVecDBKernels", "VecDBStorage"]
        ),
        // The shell.
        .executableTarget(
            name: "vecdb",
            dependencies: [
                "VecDB", "VecDBImport", "VecDBBench", "VecDBKernels", "VecDBDatasets", "VecDBNN", "VecDBRecommend", "VecDBVision",
                "VecDBText", "VecDBCrashData",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Test support: temporary directories, seeded data, a fault-injecting file layer.
        .target(name: "VecDBTestSupport", dependencies: ["VecDBKernels", "VecDBStorage"]),
        // A writer that the SIGKILL durability test starts and kills.
        // The deterministic records that writer writes and the durability test checks.
        .target(name: "VecDBCrashData", dependencies: ["VecDB"]),
        .executableTarget(name: "vecdb-crash-writer", dependencies: ["VecDB", "VecDBCrashData"]),

        .testTarget(name: "VecDBKernelsTests", dependencies: ["VecDBKernels", "CVecDBKernels", "VecDBTestSupport"]),
        .testTarget(name: "VecDBDatasetsTests", dependencies: ["VecDBDatasets", "VecDBTestSupport"]),
        .testTarget(name: "VecDBStorageTests", dependencies: ["VecDBStorage", "VecDBTestSupport"]),
        .testTarget(name: "VecDBIndexTests", dependencies: ["VecDBIndex", "VecDBStorage", "VecDBTestSupport"]),
        .testTarget(
            name: "VecDBEngineTests", dependencies: ["VecDBEngine", "VecDBIndex", "VecDBStorage", "VecDBKernels", "VecDBTestSupport"]),
        .testTarget(
            name: "VecDBTests",
            dependencies: ["VecDB", "VecDBEngine", "VecDBStorage", "VecDBKernels", "VecDBCrashData", "VecDBTestSupport"]
        ),
        .testTarget(
            name: "VecDBImportTests",
            dependencies: ["VecDBImport", "VecDB", "VecDBKernels", "VecDBDatasets", "VecDBTestSupport"]
        ),
        .testTarget(name: "VecDBBenchTests", dependencies: ["VecDB", "VecDBBench", "VecDBKernels", "VecDBDatasets", "VecDBTestSupport"]),
        .testTarget(name: "VecDBCLITests", dependencies: ["VecDBTestSupport"]),
        .testTarget(
            name: "VecDBNNTests",
            dependencies: ["VecDBNN", "VecDBKernels", "VecDBDatasets", "VecDBTestSupport"],
            exclude: ["Resources"]
        ),
        .testTarget(
            name: "VecDBVisionTests", dependencies: ["VecDBVision", "VecDBNN", "VecDBKernels", "VecDBTestSupport"], exclude: ["Resources"]
        ),
        .testTarget(
            name: "VecDBTextTests",
            dependencies: ["VecDBText", "VecDB", "VecDBNN", "VecDBKernels", "CVecDBKernels", "VecDBDatasets", "VecDBTestSupport"],
            exclude: ["Resources"]
        ),
        .testTarget(
            name: "VecDBRecommendTests",
            dependencies: [
                "VecDBRecommend", "VecDB", "VecDBVision", "VecDBStorage", "VecDBKernels", "CVecDBKernels", "VecDBTestSupport",
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// The libFuzzer targets of the file readers and parsers (docs/reliability.md, "Fuzzing"), only
// when VECDB_FUZZ=1, so ordinary builds and CI never see them. scripts/fuzz.sh builds them with
// `--sanitize=fuzzer`, which supplies `main`.
if Context.environment["VECDB_FUZZ"] == "1" {
    package.products.append(.executable(name: "vecdb-fuzz", targets: ["vecdb-fuzz"]))
    package.targets.append(
        .executableTarget(
            name: "vecdb-fuzz",
            dependencies: ["VecDB", "VecDBImport", "VecDBDatasets", "VecDBIndex", "VecDBStorage", "VecDBKernels"],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ))
}
