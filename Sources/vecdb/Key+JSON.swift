import VecDB

extension Key {
    /// The key as JSON output shows it: a number for an integer key, a string otherwise.
    var json: Payload {
        switch self {
        case .int(let v): .number(Double(v))
        case .string(let s): .string(s)
        }
    }
}
