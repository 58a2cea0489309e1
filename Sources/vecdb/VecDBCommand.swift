import ArgumentParser
import Foundation
import VecDBKernels

/// The `vecdb` shell.
@main
struct VecDBCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vecdb",
        abstract: "An embedded vector database with a recommender layer.",
        subcommands: [
            CreateCommand.self,
            ImportCommand.self,
            InsertCommand.self,
            SearchCommand.self,
            IndexCommand.self,
            GetCommand.self,
            CountCommand.self,
            ExportCommand.self,
            DeleteCommand.self,
            CompactCommand.self,
            StatsCommand.self,
            CheckCommand.self,
            TortureCommand.self,
            TortureWriterCommand.self,
            RepairCommand.self,
            DatasetCommand.self,
            BenchCommand.self,
            RecommendCommand.self,
            DemoCommand.self,
            EmbedCommand.self,
            ReplCommand.self,
        ]
    )
}

/// Writes a line to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

extension VecDBError {
    /// ArgumentParser prints this text and exits non-zero.
    var exit: ValidationError { ValidationError(description) }
}
