import Foundation
import Testing
import VecDBDatasets
import VecDBKernels
import VecDBTestSupport

@testable import VecDBBench

/// The benchmark rows' JSON: each `Codable` row encodes to exactly the keys, value types and
/// values of a line the harness wrote before the rows were typed (Benchmarks/results/*.jsonl).
@Suite("bench rows")
struct BenchRowTests {
    let blas = "libopenblas.so.0 core=SkylakeX (OPENBLAS_CORETYPE=SkylakeX, core type set by vecdb)"

    /// A line's JSON object, for comparing objects whose keys may be ordered differently.
    func object(_ line: String) throws -> NSDictionary {
        try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? NSDictionary)
    }

    /// Expects `row` to encode to `line` byte for byte.
    func expectLine(_ row: some Encodable, _ line: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(try BenchOutput.line(row) == line, sourceLocation: sourceLocation)
    }

    @Test("exact search and scan-bandwidth rows")
    func exact() throws {
        let search = SearchRow(
            system: "vecdb", dataset: "fashion-mnist-784", index: "flat",
            params: FlatSearchParams(batch: 1, isa: "avx512", repeats: 3), k: 10, recall: 1, qps: 120.16,
            buildSeconds: 0, memoryBytes: 188_160_000, threads: 1)
        try expectLine(
            search,
            #"{"build_seconds":0,"dataset":"fashion-mnist-784","index":"flat","k":10,"#
                + #""memory_bytes":188160000,"params":{"batch":1,"isa":"avx512","repeats":3},"qps":120.16,"recall":1,"#
                + #""system":"vecdb","threads":1}"#)
        let scan = FigureRow(
            system: "vecdb", benchmark: "scan-bandwidth",
            params: ScanBandwidthParams(dataset: "fashion-mnist-784", rowsBytes: 188_160_000, threads: 1),
            figures: ScanBandwidthFigures(
                kernelGBPerSecond: 22.609_12, memoryReadGBPerSecond: 25.491_94,
                fractionOfReadBandwidth: 0.886_94
            ).rounded(4))
        try expectLine(
            scan,
            #"{"benchmark":"scan-bandwidth","fraction_of_read_bandwidth":0.8869,"kernel_gb_per_s":22.6091,"#
                + #""memory_read_gb_per_s":25.4919,"params":{"dataset":"fashion-mnist-784","rows_bytes":188160000,"#
                + #""threads":1},"system":"vecdb"}"#)
    }

    @Test("HNSW rows: the same object (keys now sorted by code point, so \"M\" comes first)")
    func hnsw() throws {
        let row = SearchRow(
            system: "vecdb", dataset: "fashion-mnist-784", index: "HNSW",
            params: HNSWSearchParams(m: 16, efConstruction: 200, ef: 16, batch: 1, repeats: 3, openedBy: "mmap"),
            k: 10, recall: 0.9706, qps: 8593.06, buildSeconds: 34.385, memoryBytes: 196_656_852, threads: 1)
        let old =
            #"{"build_seconds":34.385,"dataset":"fashion-mnist-784","index":"HNSW","k":10,"memory_bytes":196656852,"#
            + #""params":{"batch":1,"ef":16,"efConstruction":200,"M":16,"opened_by":"mmap","repeats":3},"qps":8593.06,"#
            + #""recall":0.9706,"system":"vecdb","threads":1}"#
        #expect(try object(BenchOutput.line(row)) == object(old))
        try expectLine(
            row,
            #"{"build_seconds":34.385,"dataset":"fashion-mnist-784","index":"HNSW","k":10,"#
                + #""memory_bytes":196656852,"params":{"M":16,"batch":1,"ef":16,"efConstruction":200,"opened_by":"mmap","#
                + #""repeats":3},"qps":8593.06,"recall":0.9706,"system":"vecdb","threads":1}"#)
    }

    @Test("IVF rows: m and nbits only for IVF-PQ")
    func ivf() throws {
        var params = IVFSearchParams(
            nlist: 1024, nprobe: 1, batch: 1, repeats: 3, trainSeconds: 12.743023838998852,
            addSeconds: 1.6373275380010455, openedBy: "mmap")
        let flat = SearchRow(
            system: "vecdb", dataset: "d", index: "IVF-Flat", params: params, k: 10, recall: 0.5, qps: 2,
            buildSeconds: 1, memoryBytes: 3, threads: 1)
        try expectLine(
            flat,
            #"{"build_seconds":1,"dataset":"d","index":"IVF-Flat","k":10,"memory_bytes":3,"#
                + #""params":{"add_seconds":1.6373275380010455,"batch":1,"nlist":1024,"nprobe":1,"opened_by":"mmap","#
                + #""repeats":3,"train_seconds":12.743023838998852},"qps":2,"recall":0.5,"system":"vecdb","threads":1}"#)
        params.m = 16
        params.nbits = 8
        let pq = SearchRow(
            system: "vecdb", dataset: "fashion-mnist-784", index: "IVF-PQ", params: params, k: 10,
            recall: 0.4157, qps: 23610.54, buildSeconds: 14.3804, memoryBytes: 5_297_600, threads: 1)
        try expectLine(
            pq,
            #"{"build_seconds":14.3804,"dataset":"fashion-mnist-784","index":"IVF-PQ","k":10,"#
                + #""memory_bytes":5297600,"params":{"add_seconds":1.6373275380010455,"batch":1,"m":16,"nbits":8,"#
                + #""nlist":1024,"nprobe":1,"opened_by":"mmap","repeats":3,"train_seconds":12.743023838998852},"#
                + #""qps":23610.54,"recall":0.4157,"system":"vecdb","threads":1}"#)
    }

    @Test("storage rows")
    func storage() throws {
        try expectLine(
            FigureRow(
                system: "vecdb", benchmark: "ingest",
                params: IngestParams(dim: 128, batch: 10_000, durability: "fsync", rows: 1_000_000),
                figures: IngestFigures(vectorsPerSecond: 179_361.146_81).rounded(4)),
            #"{"benchmark":"ingest","params":{"batch":10000,"dim":128,"durability":"fsync","rows":1000000},"#
                + #""system":"vecdb","vectors_per_second":179361.1468}"#)
        try expectLine(
            FigureRow(
                system: "vecdb", benchmark: "payload",
                params: PayloadParams(rows: 1_000_000, reads: 20_000, source: "ml-100k items"),
                figures: PayloadFigures(compressionRatio: 1.7123, getP50Microseconds: 3.616, getP99Microseconds: 12.609)),
            #"{"benchmark":"payload","compression_ratio":1.7123,"get_p50_us":3.616,"get_p99_us":12.609,"#
                + #""params":{"reads":20000,"rows":1000000,"source":"ml-100k items"},"system":"vecdb"}"#)
        try expectLine(
            FigureRow(
                system: "vecdb", benchmark: "open", params: OpenParams(rows: 1_050_000, dim: 128),
                figures: OpenFigures(openMillisecondsMedian: 6.0515, firstSearchMilliseconds: 20.8267)),
            #"{"benchmark":"open","first_search_ms":20.8267,"open_ms_median":6.0515,"#
                + #""params":{"dim":128,"rows":1050000},"system":"vecdb"}"#)
        try expectLine(
            FigureRow(
                system: "vecdb", benchmark: "compaction", params: CompactionParams(rows: 1_050_000, deleted: 100_000),
                figures: CompactionFigures(rowsPerSecond: 454_547.7537)),
            #"{"benchmark":"compaction","params":{"deleted":100000,"rows":1050000},"rows_per_second":454547.7537,"#
                + #""system":"vecdb"}"#)
    }

    @Test("sgemm and cnn rows")
    func gemmAndCNN() throws {
        let gemm = GemmRow(
            system: "vecdb", benchmark: "sgemm", threads: 1, gflops: 115.051,
            params: GemmParams(
                m: 64, n: 64, k: 64, dtype: "float32", runs: 50,
                medianSeconds: 4.556999556371011e-06, blas: blas))
        try expectLine(
            gemm,
            #"{"benchmark":"sgemm","gflops":115.051,"params":{"blas":"\#(blas)","dtype":"float32","k":64,"#
                + #""m":64,"median_seconds":4.556999556371011e-06,"n":64,"runs":50},"system":"vecdb","threads":1}"#)
        let cnn = CNNEpochRow(
            system: "vecdb", benchmark: "cnn-fashion-mnist", threads: 1,
            params: CNNParams(
                epoch: 1, epochs: 5, batch: 64, optimizer: "adam", learningRate: 0.001,
                schedule: "cosine to 0.05x over all epochs", model: "conv32-pool-conv64-pool-fc128-dropout0.25-fc10",
                trainImages: 60_000, testImages: 10_000, seed: 42, blas: blas),
            epochSeconds: 31.225, imagesPerSecond: 1921.5, testAccuracy: 0.8788, trainLoss: 0.4878, evalSeconds: 3.169)
        try expectLine(
            cnn,
            #"{"benchmark":"cnn-fashion-mnist","epoch_seconds":31.225,"eval_seconds":3.169,"#
                + #""images_per_second":1921.5,"params":{"batch":64,"blas":"\#(blas)","epoch":1,"epochs":5,"#
                + #""learning_rate":0.001,"model":"conv32-pool-conv64-pool-fc128-dropout0.25-fc10","optimizer":"adam","#
                + #""schedule":"cosine to 0.05x over all epochs","seed":42,"test_images":10000,"train_images":60000},"#
                + #""system":"vecdb","test_accuracy":0.8788,"threads":1,"train_loss":0.4878}"#)
    }

    @Test("rows read back: ours and a peer's (nested params, floats written as 1.0)")
    func readBack() throws {
        let dir = TemporaryDirectory(prefix: "vecdb-bench-rows")
        let out = try BenchOutput(path: dir.file("sub/rows.jsonl"))
        try out.append(
            GemmRow(
                system: "vecdb", benchmark: "sgemm", threads: 1, gflops: 1.5,
                params: GemmParams(m: 64, n: 64, k: 64, dtype: "float32", runs: 5, medianSeconds: 0.1, blas: "x")))
        let peer =
            #"{"system":"numpy","dataset":"d","index":"bruteforce-l2","params":{"batch":1,"blas":{"num_threads":1}},"#
            + #""k":10,"recall":1.0,"qps":74.85,"build_seconds":0.0088,"memory_bytes":188400000,"threads":1}"#
        let h = try #require(FileHandle(forWritingAtPath: out.path))
        h.seekToEndOfFile()
        h.write(Data((peer + "\nnot json\n").utf8))
        try h.close()
        let rows = out.rows()
        #expect(rows.count == 2)
        #expect(rows[0].system == "vecdb" && rows[0].gflops == 1.5 && rows[0].params["m"]?.integer == 64 && rows[0].threads == 1)
        #expect(rows[1].system == "numpy" && rows[1].recall == 1 && rows[1].qps == 74.85 && rows[1].memoryBytes == 188_400_000)
        #expect(rows[1].params["blas"] == .object(["num_threads": .int(1)]))
    }

    @Test("bench exact end to end on a tiny .fvecs pair: a one-at-a-time and a batched row, both with recall 1")
    func exactEndToEnd() throws {
        let dir = TemporaryDirectory(prefix: "vecdb-bench-exact")
        // The ground truth of a --base/--queries pair is cached under the data cache, keyed by
        // the files' paths, sizes and times (these are fresh). No VECDB_DATA here: the environment is the whole test process's,
        // and other suites fetch their data through it at the same time.
        var rng = SeededGenerator(seed: 7)
        let base = VectorMatrix(values: (0..<(200 * 8)).map { _ in rng.nextGaussian() }, count: 200, dimension: 8)
        let queries = VectorMatrix(values: (0..<(20 * 8)).map { _ in rng.nextGaussian() }, count: 20, dimension: 8)
        try VecsFormat.encodeFvecs(base).write(to: URL(fileURLWithPath: dir.file("tiny.fvecs")))
        try VecsFormat.encodeFvecs(queries).write(to: URL(fileURLWithPath: dir.file("tiny-q.fvecs")))
        var options = BenchOptions(kind: .exact, output: dir.file("out.jsonl"))
        options.base = dir.file("tiny.fvecs")
        options.queries = dir.file("tiny-q.fvecs")
        options.metric = "l2"
        options.threads = 2  // the single-thread run adds a scan-bandwidth row that reads 1 GiB
        options.repeats = 1
        try BenchHarness.run(options)
        let lines = try String(contentsOfFile: options.output, encoding: .utf8).split(separator: "\n")
        try #require(lines.count == 2)
        let row = try object(String(lines[0]))
        let batched = try object(String(lines[1]))
        #expect(batched["recall"] as? Double == 1 && batched["index"] as? String == "flat")
        #expect((batched["params"] as? [String: Any])?["batch"] as? Int == 20)
        #expect(
            Set(row.allKeys.compactMap { $0 as? String }) == [
                "system", "dataset", "index", "params", "k", "recall", "qps", "build_seconds", "memory_bytes", "threads",
            ])
        #expect(row["system"] as? String == "vecdb" && row["dataset"] as? String == "tiny" && row["index"] as? String == "flat")
        #expect(row["recall"] as? Double == 1 && row["k"] as? Int == 10 && row["threads"] as? Int == 2)
        #expect(row["memory_bytes"] as? Int == 200 * 8 * 4)
        let params = try #require(row["params"] as? [String: Any])
        #expect(Set(params.keys) == ["batch", "isa", "repeats"] && params["repeats"] as? Int == 1 && params["batch"] as? Int == 1)
    }
}
