// swift-tools-version: 6.1
//
// VecDB: an embedded vector database with a recommender layer, for Swift on Linux.
//
// Modules are layered; arrows point one way only:
//
//   CVecDBKernels (C)  ->  VecDBKernels  ->  VecDBStorage  ->  VecDB (facade)  ->  vecdb (CLI)
//   CLZ4 (system), CVecDBStorage (C: hardware CRC-32C) -> VecDBStorage
//                          VecDBKernels  ->  VecDBDatasets ------------------------>  vecdb
//   CVecDBKernels, VecDBKernels, VecDBStorage  ->  VecDBNN (tensors, layers, losses, optimisers)  ->  vecdb
//
// Nothing lower imports anything higher.
import PackageDescription

let package = Package(
    name: "VecDB",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "VecDB", targets: ["VecDB"]),
        .executable(name: "vecdb", targets: ["vecdb"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
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
        // Facade: Database, Collection, queries and filters.
        .target(name: "VecDB", dependencies: ["VecDBKernels", "VecDBStorage", "VecDBIndex"]),
        // Data-set readers and fetchers (fvecs, npy, IDX, CSV), used by the CLI and benchmarks.
        .target(name: "VecDBDatasets", dependencies: ["VecDBKernels", "VecDBStorage"]),
        // Neural-network core: tensors over BLAS, layers with hand-written backward passes,
        // losses, optimisers and safetensors checkpoints. Above the facade; uses storage for files.
        .target(name: "VecDBNN", dependencies: ["VecDBKernels", "CVecDBKernels", "VecDBStorage"]),
        // The shell.
        .executableTarget(
            name: "vecdb",
            dependencies: [
                "VecDB", "VecDBKernels", "VecDBDatasets", "VecDBNN",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Test support: temporary directories, seeded data, a fault-injecting file layer.
        .target(name: "VecDBTestSupport", dependencies: ["VecDBKernels", "VecDBStorage"]),
        // A writer that the SIGKILL durability test starts and kills.
        .executableTarget(name: "vecdb-crash-writer", dependencies: ["VecDB"]),

        .testTarget(name: "VecDBKernelsTests", dependencies: ["VecDBKernels", "CVecDBKernels", "VecDBTestSupport"]),
        .testTarget(name: "VecDBDatasetsTests", dependencies: ["VecDBDatasets", "VecDBTestSupport"]),
        .testTarget(name: "VecDBStorageTests", dependencies: ["VecDBStorage", "VecDBTestSupport"]),
        .testTarget(name: "VecDBIndexTests", dependencies: ["VecDBIndex", "VecDBStorage", "VecDBTestSupport"]),
        .testTarget(name: "VecDBTests", dependencies: ["VecDB", "VecDBStorage", "VecDBTestSupport"]),
        .testTarget(
            name: "VecDBNNTests",
            dependencies: ["VecDBNN", "VecDBKernels", "VecDBDatasets", "VecDBTestSupport"],
            exclude: ["Resources"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
