import ArgumentParser
import Foundation

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
            do { words = try Self.split(line) } catch {
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

    /// Splits a line into words, honouring single and double quotes and backslash escapes.
    static func split(_ line: String) throws -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escape = false
        for ch in line {
            if escape {
                current.append(ch)
                escape = false
                inWord = true
                continue
            }
            if ch == "\\" && quote != "'" {
                escape = true
                continue
            }
            if let q = quote {
                if ch == q { quote = nil } else { current.append(ch) }
                continue
            }
            if ch == "'" || ch == "\"" {
                quote = ch
                inWord = true
                continue
            }
            if ch == " " || ch == "\t" {
                if inWord {
                    words.append(current)
                    current = ""
                    inWord = false
                }
                continue
            }
            current.append(ch)
            inWord = true
        }
        if quote != nil { throw ValidationError("unterminated quote") }
        if inWord { words.append(current) }
        return words
    }
}
