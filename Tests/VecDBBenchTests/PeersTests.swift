import Testing

@testable import VecDBBench

/// `vecdb recommend eval --peers` hands peers.sh the split files VecDB wrote.
@Suite("peers")
struct PeersTests {
    @Test("recommend peers get the split files, data set, seed, output and threads")
    func recommendArguments() {
        let arguments = Peers.recommendArguments(
            train: "out.jsonl.split/train.tsv", test: "out.jsonl.split/test.tsv", dataset: "ml-100k", seed: 42,
            output: "out.jsonl", threads: 2)
        #expect(
            arguments == [
                "--kind", "recommend", "--train", "out.jsonl.split/train.tsv", "--test", "out.jsonl.split/test.tsv",
                "--dataset", "ml-100k", "--seed", "42", "--output", "out.jsonl", "--threads", "2",
            ])
    }
}
