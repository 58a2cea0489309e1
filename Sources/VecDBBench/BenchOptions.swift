import Foundation

/// What `vecdb bench` measures.
package enum BenchKind: String, CaseIterable, Sendable {
    /// Exact search against the flat kernel, and its scan bandwidth.
    case exact
    /// An HNSW graph, sweeping ef.
    case hnsw
    /// IVF-Flat, IVF-SQ8 and IVF-PQ, sweeping nprobe.
    case ivf
    /// The storage engine: ingest, payloads, open and compaction.
    case storage
    /// Single-precision GEMM through the BLAS binding.
    case gemm
    /// A small CNN trained on Fashion-MNIST.
    case cnn
    /// The recommender's query latency (`vecdb bench recommend`; run by the shell, which links
    /// `VecDBRecommend`).
    case recommend
    /// The text encoder (all-MiniLM-L6-v2): sentences per second.
    case embed
    /// Filtered search through payload indexes, at 50 % to 0.1 % selectivity.
    case filter

    /// Whether the kind measures searches and so needs vectors (`dataset`, or `base` and `queries`).
    package var needsVectors: Bool { ![.storage, .gemm, .cnn, .recommend, .embed].contains(self) }
}

/// The settings of one `vecdb bench` run, as the shell's flags give them.
///
/// The defaults are the shell's. Lists (`efSweep`, `nprobeSweep`, `sizes`) stay the
/// comma-separated text of the flags, since the peers script is handed that text unchanged.
package struct BenchOptions: Sendable {
    /// What to measure.
    package var kind: BenchKind
    /// A data set name (see `vecdb dataset list`).
    package var dataset: String?
    /// Base vectors (.fvecs or .npy), instead of `dataset`.
    package var base: String?
    /// Query vectors (.fvecs or .npy), with `base`.
    package var queries: String?
    /// Metric for `base`/`queries`: l2, ip or cosine (default l2).
    package var metric: String?
    /// embed: an extra UTF-8 file of texts, one a line.
    package var texts: String?
    /// Threads.
    package var threads = 1
    /// JSON Lines file the rows are appended to.
    package var output: String
    /// Neighbours per query.
    package var k = 10
    /// Queries measured (the first N of the query file); nil: 1,000 for exact, 10,000 otherwise.
    package var maxQueries: Int?
    /// Passes over the query set; the median pass gives qps.
    package var repeats = 3
    /// HNSW: links per node.
    package var hnswM = 16
    /// HNSW: candidate list size while building.
    package var efConstruction = 200
    /// HNSW: the ef values swept, comma-separated.
    package var efSweep = "10,16,24,32,48,64,96,128,192,256,384,512"
    /// IVF: inverted lists; nil follows the base set's size (``defaultNlist(rows:)``).
    package var nlist: Int?
    /// IVF: the nprobe values swept, comma-separated.
    package var nprobeSweep = "1,2,4,8,16,32,64,128"
    /// IVF-PQ: sub-quantisers of 8 bits.
    package var pqM = 16
    /// storage: rows ingested (128-d).
    package var rows = 1_000_000
    /// gemm: the square matrix sizes, comma-separated.
    package var sizes = "64,128,256,512,1024,2048"
    /// cnn: training epochs over Fashion-MNIST.
    package var epochs = 5
    /// cnn: mini-batch size.
    package var batchSize = 64
    /// cnn: also save the trained weights to this safetensors file.
    package var checkpoint: String?
    /// Also run the peers on the same data and append their rows.
    package var peers = false
    /// filter: which peers run with `peers` (comma-separated; nil runs them all).
    package var peerSystems: String?
    /// hnsw: store the vectors in half precision.
    package var float16 = false
    /// hnsw: also measure batched search (implied by more than one thread).
    package var batch = false
    /// hnsw: walk a half-precision copy and re-rank exactly.
    package var float16Traversal = false

    /// Options with the shell's defaults.
    ///
    /// - Parameters:
    ///   - kind: what to measure.
    ///   - output: the JSON Lines file rows are appended to.
    package init(kind: BenchKind, output: String) {
        self.kind = kind
        self.output = output
    }
}
