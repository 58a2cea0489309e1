import Foundation
import VecDBKernels
import VecDBRecommend

/// Shows training progress on standard error: on a terminal one line rewritten in place
/// (epoch, loss, validation NDCG, ETA), closed with a newline when a phase ends; elsewhere
/// (a pipe, a log file) only the epochs with a validation measurement and the last one of each
/// phase, one line each.
final class ProgressDisplay: Sendable {
    let terminal: Bool
    let quiet: Bool
    let state = Lock<(phase: String, width: Int)>(("", 0))

    /// - Parameter quiet: show nothing (for `--json` output on a terminal, say).
    init(quiet: Bool = false) {
        terminal = isatty(STDERR_FILENO) == 1
        self.quiet = quiet
    }

    /// The callback to hand a trainer.
    var callback: @Sendable (TrainingProgress) -> Void { { [self] in self.show($0) } }

    func show(_ p: TrainingProgress) {
        guard !quiet else { return }
        let key = "\(p.model) \(p.phase.rawValue) \(p.setting)"
        let last = p.epoch == p.epochs
        state.withLock { s in
            if terminal {
                var out = ""
                if s.phase != key && s.width > 0 { out += "\n" }
                let text = p.line
                out += "\r" + text + String(repeating: " ", count: max(0, s.width - text.count))
                if last { out += "\n" }
                s = (key, last ? 0 : text.count)
                FileHandle.standardError.write(Data(out.utf8))
            } else if p.validationNDCG10 != nil || last {
                FileHandle.standardError.write(Data((p.line + "\n").utf8))
            }
        }
    }

    /// A line of plain progress (an export's or import's rows): rewritten in place on a
    /// terminal, one line each elsewhere.
    func line(_ text: String) {
        guard !quiet else { return }
        state.withLock { s in
            if terminal {
                let out = "\r" + text + String(repeating: " ", count: max(0, s.width - text.count))
                s = ("line", text.count)
                FileHandle.standardError.write(Data(out.utf8))
            } else {
                FileHandle.standardError.write(Data((text + "\n").utf8))
            }
        }
    }

    /// Ends a line left open on the terminal.
    func finish() {
        state.withLock { s in
            if terminal && s.width > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
            s = ("", 0)
        }
    }
}
