import Foundation

// The JSON Lines schema of `vecdb bench --output FILE`: one object per line, keys sorted.
//
// Search rows (exact, hnsw, ivf; the peers write the same keys):
//
//   {"build_seconds":…,"dataset":…,"index":…,"k":…,"memory_bytes":…,"params":{…},
//    "qps":…,"recall":…,"system":…,"threads":…}
//
// Figure rows (scan-bandwidth, ingest, payload, open, compaction): "benchmark", "params",
// "system", and figures named with their unit ("vectors_per_second", "get_p50_us", …) at the
// top level. sgemm rows add "threads" and "gflops"; cnn rows one row per epoch with
// "epoch_seconds", "eval_seconds", "images_per_second", "test_accuracy", "train_loss".
//
// Benchmarks/peers.py and the scripts under Benchmarks/ read these rows by key.

/// One measured configuration of a search benchmark: recall and throughput at one setting.
package struct SearchRow<Params: Codable & Sendable>: Codable, Sendable {
    /// `"vecdb"`, or a peer's name.
    package var system: String
    /// The data set's name.
    package var dataset: String
    /// The index family, e.g. `"flat"`, `"HNSW"`, `"IVF-PQ"`.
    package var index: String
    /// The index's build and search settings.
    package var params: Params
    /// Neighbours per query.
    package var k: Int
    /// Recall@k against the ground truth, rounded to 4 digits.
    package var recall: Double
    /// Queries per second of the median pass, rounded to 2 digits.
    package var qps: Double
    /// Seconds to build the index, rounded to 4 digits.
    package var buildSeconds: Double
    /// Bytes the index and the vectors it reads take.
    package var memoryBytes: Int
    /// Threads used.
    package var threads: Int

    enum CodingKeys: String, CodingKey {
        case system, dataset, index, params, k, recall, qps, threads
        case buildSeconds = "build_seconds"
        case memoryBytes = "memory_bytes"
    }
}

/// The exact (flat) search's settings.
package struct FlatSearchParams: Codable, Sendable, Equatable {
    /// Queries per call: 1, or the whole query set for batched rows.
    package var batch: Int
    /// The distance kernel's instruction set, e.g. `"avx512"`.
    package var isa: String
    /// Passes over the query set.
    package var repeats: Int
}

/// An HNSW graph's build and search settings.
package struct HNSWSearchParams: Codable, Sendable, Equatable {
    /// Links per node.
    package var m: Int
    /// Candidate list size while building.
    package var efConstruction: Int
    /// Candidate list size while searching.
    package var ef: Int
    /// Queries per call: 1, or the whole query set for batched rows.
    package var batch: Int
    /// Passes over the query set.
    package var repeats: Int
    /// How the measured graph was opened (`"mmap"`).
    package var openedBy: String

    enum CodingKeys: String, CodingKey {
        case m = "M"
        case efConstruction, ef, batch, repeats
        case openedBy = "opened_by"
    }
}

/// An IVF index's build and search settings; `m` and `nbits` only for IVF-PQ.
package struct IVFSearchParams: Codable, Sendable, Equatable {
    /// Inverted lists.
    package var nlist: Int
    /// Lists probed per query.
    package var nprobe: Int
    /// Queries per call: 1, or the whole query set for batched rows.
    package var batch: Int
    /// Passes over the query set.
    package var repeats: Int
    /// Seconds of k-means training (not rounded).
    package var trainSeconds: Double
    /// Seconds to add every row (not rounded).
    package var addSeconds: Double
    /// How the measured index was opened (`"mmap"`).
    package var openedBy: String
    /// IVF-PQ: sub-quantisers; absent otherwise.
    package var m: Int?
    /// IVF-PQ: bits per code; absent otherwise.
    package var nbits: Int?

    enum CodingKeys: String, CodingKey {
        case nlist, nprobe, batch, repeats, m, nbits
        case trainSeconds = "train_seconds"
        case addSeconds = "add_seconds"
        case openedBy = "opened_by"
    }
}

/// A benchmark that reports named figures: `system`, `benchmark`, `params`, and the fields of
/// `Figures` side by side with them at the top level of the row.
package struct FigureRow<Params: Codable & Sendable, Figures: Codable & Sendable>: Codable, Sendable {
    /// `"vecdb"`.
    package var system: String
    /// What was measured, e.g. `"ingest"` or `"scan-bandwidth"`.
    package var benchmark: String
    /// The settings measured.
    package var params: Params
    /// The measured figures, rounded to 4 digits, encoded at the row's top level.
    package var figures: Figures

    enum CodingKeys: String, CodingKey {
        case system, benchmark, params
    }

    /// Creates a row.
    package init(system: String, benchmark: String, params: Params, figures: Figures) {
        self.system = system
        self.benchmark = benchmark
        self.params = params
        self.figures = figures
    }

    /// Decodes a row; the figures come from the same object as the other keys.
    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        system = try c.decode(String.self, forKey: .system)
        benchmark = try c.decode(String.self, forKey: .benchmark)
        params = try c.decode(Params.self, forKey: .params)
        figures = try Figures(from: decoder)
    }

    /// Encodes a row; the figures go into the same object as the other keys.
    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(system, forKey: .system)
        try c.encode(benchmark, forKey: .benchmark)
        try c.encode(params, forKey: .params)
        try figures.encode(to: encoder)
    }
}

/// The figures of a ``FigureRow``: numbers named with their unit.
package protocol BenchFigures: Codable, Sendable {
    /// Every figure rounded to `digits` decimal places.
    func rounded(_ digits: Int) -> Self
}

/// `scan-bandwidth`: the exact kernel's scan rate against a plain memory read.
package struct ScanBandwidthParams: Codable, Sendable, Equatable {
    /// The data set's name.
    package var dataset: String
    /// Bytes of the rows scanned per query.
    package var rowsBytes: Int
    /// Threads (always 1).
    package var threads: Int

    enum CodingKeys: String, CodingKey {
        case dataset, threads
        case rowsBytes = "rows_bytes"
    }
}

/// `scan-bandwidth` figures, in GB/s and as a fraction.
package struct ScanBandwidthFigures: BenchFigures, Equatable {
    /// The exact kernel's scan rate.
    package var kernelGBPerSecond: Double
    /// A plain single-thread memory read's rate.
    package var memoryReadGBPerSecond: Double
    /// The first over the second.
    package var fractionOfReadBandwidth: Double

    enum CodingKeys: String, CodingKey {
        case kernelGBPerSecond = "kernel_gb_per_s"
        case memoryReadGBPerSecond = "memory_read_gb_per_s"
        case fractionOfReadBandwidth = "fraction_of_read_bandwidth"
    }
}

/// `ingest`: upserts of one batch size with fsync durability.
package struct IngestParams: Codable, Sendable, Equatable {
    /// The vectors' dimension.
    package var dim: Int
    /// Records per upsert.
    package var batch: Int
    /// Durability mode (`"fsync"`).
    package var durability: String
    /// Records ingested.
    package var rows: Int
}

/// `ingest` figures.
package struct IngestFigures: BenchFigures, Equatable {
    /// Records upserted per second.
    package var vectorsPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case vectorsPerSecond = "vectors_per_second"
    }
}

/// `payload`: payload compression and read latency.
package struct PayloadParams: Codable, Sendable, Equatable {
    /// Records stored.
    package var rows: Int
    /// Point reads timed.
    package var reads: Int
    /// Where the payloads come from.
    package var source: String
}

/// `payload` figures.
package struct PayloadFigures: BenchFigures, Equatable {
    /// Raw over stored payload bytes.
    package var compressionRatio: Double
    /// Median `get` latency in microseconds.
    package var getP50Microseconds: Double
    /// 99th-percentile `get` latency in microseconds.
    package var getP99Microseconds: Double

    enum CodingKeys: String, CodingKey {
        case compressionRatio = "compression_ratio"
        case getP50Microseconds = "get_p50_us"
        case getP99Microseconds = "get_p99_us"
    }
}

/// `open`: reopening the database.
package struct OpenParams: Codable, Sendable, Equatable {
    /// Records stored.
    package var rows: Int
    /// The vectors' dimension.
    package var dim: Int
}

/// `open` figures.
package struct OpenFigures: BenchFigures, Equatable {
    /// Median open time in milliseconds.
    package var openMillisecondsMedian: Double
    /// The first search after opening, in milliseconds.
    package var firstSearchMilliseconds: Double

    enum CodingKeys: String, CodingKey {
        case openMillisecondsMedian = "open_ms_median"
        case firstSearchMilliseconds = "first_search_ms"
    }
}

/// `compaction`: compacting after deleting a tenth of the rows.
package struct CompactionParams: Codable, Sendable, Equatable {
    /// Rows before compaction.
    package var rows: Int
    /// Rows deleted before compaction.
    package var deleted: Int
}

/// `compaction` figures.
package struct CompactionFigures: BenchFigures, Equatable {
    /// Rows compacted per second.
    package var rowsPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case rowsPerSecond = "rows_per_second"
    }
}

/// One matrix size of the `sgemm` benchmark (the NumPy peer writes the same keys).
package struct GemmRow: Codable, Sendable, Equatable {
    /// `"vecdb"` or `"numpy"`.
    package var system: String
    /// `"sgemm"`.
    package var benchmark: String
    /// BLAS threads.
    package var threads: Int
    /// GFLOP/s of the median run, rounded to 3 digits.
    package var gflops: Double
    /// The product measured.
    package var params: GemmParams
}

/// The `sgemm` product measured.
package struct GemmParams: Codable, Sendable, Equatable {
    /// Rows of A and C.
    package var m: Int
    /// Columns of B and C.
    package var n: Int
    /// Columns of A, rows of B.
    package var k: Int
    /// `"float32"`.
    package var dtype: String
    /// Timed runs.
    package var runs: Int
    /// Seconds of the median run (not rounded).
    package var medianSeconds: Double
    /// The BLAS library and core type.
    package var blas: String

    enum CodingKeys: String, CodingKey {
        case m, n, k, dtype, runs, blas
        case medianSeconds = "median_seconds"
    }
}

/// One epoch of the Fashion-MNIST CNN benchmark.
package struct CNNEpochRow: Codable, Sendable, Equatable {
    /// `"vecdb"`.
    package var system: String
    /// `"cnn-fashion-mnist"`.
    package var benchmark: String
    /// BLAS threads.
    package var threads: Int
    /// The model and training settings.
    package var params: CNNParams
    /// Training seconds of the epoch, rounded to 3 digits.
    package var epochSeconds: Double
    /// Training images per second, rounded to 1 digit.
    package var imagesPerSecond: Double
    /// Test accuracy after the epoch, rounded to 4 digits.
    package var testAccuracy: Double
    /// Mean training loss of the epoch, rounded to 4 digits.
    package var trainLoss: Double
    /// Seconds of the test pass, rounded to 3 digits.
    package var evalSeconds: Double

    enum CodingKeys: String, CodingKey {
        case system, benchmark, threads, params
        case epochSeconds = "epoch_seconds"
        case imagesPerSecond = "images_per_second"
        case testAccuracy = "test_accuracy"
        case trainLoss = "train_loss"
        case evalSeconds = "eval_seconds"
    }
}

/// The CNN benchmark's model and training settings.
package struct CNNParams: Codable, Sendable, Equatable {
    /// This epoch, from 1.
    package var epoch: Int
    /// Epochs in the run.
    package var epochs: Int
    /// Mini-batch size.
    package var batch: Int
    /// `"adam"`.
    package var optimizer: String
    /// The base learning rate.
    package var learningRate: Double
    /// The learning-rate schedule, in words.
    package var schedule: String
    /// The layers, in words.
    package var model: String
    /// Training images.
    package var trainImages: Int
    /// Test images.
    package var testImages: Int
    /// The seed of the weights, dropout and shuffling.
    package var seed: Int
    /// The BLAS library and core type.
    package var blas: String

    enum CodingKeys: String, CodingKey {
        case epoch, epochs, batch, optimizer, schedule, model, seed, blas
        case learningRate = "learning_rate"
        case trainImages = "train_images"
        case testImages = "test_images"
    }
}

extension ScanBandwidthFigures {
    /// Every figure rounded to `digits` decimal places.
    package func rounded(_ digits: Int) -> Self {
        func r(_ v: Double) -> Double { BenchOutput.round(v, digits) }
        return Self(
            kernelGBPerSecond: r(kernelGBPerSecond), memoryReadGBPerSecond: r(memoryReadGBPerSecond),
            fractionOfReadBandwidth: r(fractionOfReadBandwidth))
    }
}

extension IngestFigures {
    /// Every figure rounded to `digits` decimal places.
    package func rounded(_ digits: Int) -> Self {
        func r(_ v: Double) -> Double { BenchOutput.round(v, digits) }
        return Self(vectorsPerSecond: r(vectorsPerSecond))
    }
}

extension PayloadFigures {
    /// Every figure rounded to `digits` decimal places.
    package func rounded(_ digits: Int) -> Self {
        func r(_ v: Double) -> Double { BenchOutput.round(v, digits) }
        return Self(
            compressionRatio: r(compressionRatio), getP50Microseconds: r(getP50Microseconds),
            getP99Microseconds: r(getP99Microseconds))
    }
}

extension OpenFigures {
    /// Every figure rounded to `digits` decimal places.
    package func rounded(_ digits: Int) -> Self {
        func r(_ v: Double) -> Double { BenchOutput.round(v, digits) }
        return Self(openMillisecondsMedian: r(openMillisecondsMedian), firstSearchMilliseconds: r(firstSearchMilliseconds))
    }
}

extension CompactionFigures {
    /// Every figure rounded to `digits` decimal places.
    package func rounded(_ digits: Int) -> Self {
        func r(_ v: Double) -> Double { BenchOutput.round(v, digits) }
        return Self(rowsPerSecond: r(rowsPerSecond))
    }
}
