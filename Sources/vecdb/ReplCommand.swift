import ArgumentParser
import Foundation
import VecDBImport

/// `vecdb repl`: an interactive shell. Each line is parsed as a `vecdb` command line; errors are
/// printed and the shell goes on.
struct ReplCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "repl", abstract: "An interactive shell for vecdb commands.")

    func run() throws {
        let interactive = isatty(STDIN_FILENO) != 0
        if interactive { print("vecdb shell: type a command without 'vecdb' (help, exit)") }
        while true {
            if interactive {
                print("vecdb> ", terminator: "")
                fflush(nil)
            }
            guard let line = readLine() else { break }
            let words: [String]
            do { words = try ShellLine.split(line) } catch {
                print("error: \(error)")
                continue
            }
            if words.isEmpty { continue }
            if words == ["exit"] || words == ["quit"] { break }
            if words.first == "repl" {
                print("error: already in the shell")
                continue
            }
            do {
                var command = try VecDBCommand.parseAsRoot(words == ["help"] ? ["--help"] : words)
                try command.run()
            } catch {
                let message = VecDBCommand.fullMessage(for: error)
                if !message.isEmpty { print(message) }
            }
            fflush(nil)
        }
    }
}
