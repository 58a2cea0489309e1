import Testing
import VecDBKernels

/// Expects `body` to throw a ``VecDBError`` with `code`, and a message containing `fragment`.
public func expectVecDBError<R>(
    _ code: VecDBError.Code, containing fragment: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> R
) {
    do {
        _ = try body()
        Issue.record("expected a \(code) error, got success", sourceLocation: sourceLocation)
    } catch let error as VecDBError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        if let fragment {
            #expect(error.description.contains(fragment), "'\(error.description)' lacks '\(fragment)'", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("expected a VecDBError, got \(error)", sourceLocation: sourceLocation)
    }
}
