import ArgumentParser

/// `vecdb recommend …`: the recommender layer's commands.
struct RecommendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recommend",
        abstract: "Record interactions, train, serve and evaluate recommenders.",
        subcommands: [Ingest.self, Train.self, User.self, Similar.self, History.self, Refresh.self, AddItem.self, Eval.self]
    )
}
