// The line parser of the `vecdb repl` shell: splits a typed line into the words of a `vecdb`
// command line, the way a POSIX shell would for the common cases.
//
//   - Words are separated by spaces and tabs.
//   - 'single quotes' keep everything literally, including backslashes.
//   - "double quotes" keep spaces; a backslash inside them escapes the next character.
//   - Outside quotes a backslash escapes the next character (so `\ ` is a space in a word).
//   - A quoted empty string ('' or "") is an empty word.
//
// It lives here, not in the shell's executable target, so the fuzz target can reach it.
import VecDBKernels

/// Splits shell lines into words; see the rules at the top of this file.
package enum ShellLine {
    /// Splits `line` into words, honouring single and double quotes and backslash escapes.
    ///
    /// - Throws: ``VecDBError/Code/invalidArgument`` ("unterminated quote") when a quote is
    ///   left open at the end of the line.
    package static func split(_ line: String) throws(VecDBError) -> [String] {
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
        if quote != nil { throw VecDBError(.invalidArgument, "unterminated quote") }
        if inWord { words.append(current) }
        return words
    }
}
