import ArgumentParser

/// `vecdb recommend …`: the recommender layer's commands.
struct RecommendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recommend",
        abstract: "Train and evaluate recommenders over interactions.",
        subcommands: [Eval.self]
    )
}
