import Foundation
import VecDBKernels

/// Runs `Benchmarks/peers.sh` (FAISS, hnswlib, USearch, NumPy in a virtualenv the script makes)
/// on the same files, appending its rows to the same output. `vecdb recommend eval --peers` uses
/// it too, with ``recommendArguments(train:test:dataset:seed:output:threads:)``.
package enum Peers {
    /// The repository's `Benchmarks/peers.sh`: `VECDB_ROOT`, else found upward from the working
    /// directory, else next to the sources this binary was built from.
    package static func script() throws -> String {
        var candidates: [String] = []
        if let root = ProcessInfo.processInfo.environment["VECDB_ROOT"] { candidates.append(root) }
        var dir = FileManager.default.currentDirectoryPath
        while dir != "/" && !dir.isEmpty {
            candidates.append(dir)
            dir = (dir as NSString).deletingLastPathComponent
        }
        // Sources/VecDBBench/Peers.swift -> the repository root.
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        candidates.append(source)
        for c in candidates where FileManager.default.fileExists(atPath: c + "/Benchmarks/peers.sh") {
            return c + "/Benchmarks/peers.sh"
        }
        throw VecDBError(.notFound, "cannot find Benchmarks/peers.sh; run from the repository or set VECDB_ROOT")
    }

    /// Runs the peers script with `arguments` and waits for it.
    ///
    /// - Throws: `VecDBError` with code `notFound` without the script, `io` when it fails.
    package static func run(_ arguments: [String]) throws {
        let path = try script()
        fflush(nil)  // what this process printed comes before the script's output
        printError("running peers: \(path) \(arguments.joined(separator: " "))")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [path] + arguments
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw VecDBError(.io, "the peers script failed with exit status \(p.terminationStatus)")
        }
    }

    /// The arguments of the recommender peers (`peers.sh --kind recommend`, which runs
    /// `peers_recommend.py` in its own virtualenv) on the split files VecDB wrote.
    package static func recommendArguments(
        train: String, test: String, dataset: String, seed: UInt64, output: String, threads: Int
    ) -> [String] {
        [
            "--kind", "recommend", "--train", train, "--test", test, "--dataset", dataset, "--seed", String(seed),
            "--output", output, "--threads", String(threads),
        ]
    }

    /// The arguments of the sequence-model peers (`peers.sh --kind sequence`, which runs
    /// `peers_sequence.py`, Keras's SASRec and GRU4Rec, in the recommender peers' virtualenv) on
    /// the next-item split file VecDB wrote.
    package static func sequenceArguments(
        sequences: String, dataset: String, seed: UInt64, models: [String], output: String, threads: Int
    ) -> [String] {
        [
            "--kind", "sequence", "--sequences", sequences, "--dataset", dataset, "--seed", String(seed), "--models",
            models.joined(separator: ","), "--output", output, "--threads", String(threads),
        ]
    }
}
