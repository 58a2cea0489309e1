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

    @Test("sequence peers get the next-item split file and only the sequence models")
    func sequenceArguments() {
        let arguments = Peers.sequenceArguments(
            sequences: "o.jsonl.split/sequences.tsv", dataset: "ml-100k", seed: 7, models: ["sasrec", "gru4rec"], output: "o.jsonl",
            threads: 1)
        #expect(
            arguments == [
                "--kind", "sequence", "--sequences", "o.jsonl.split/sequences.tsv", "--dataset", "ml-100k", "--seed", "7", "--models",
                "sasrec,gru4rec", "--output", "o.jsonl", "--threads", "1",
            ])
    }
}
