import VecDB

extension Key {
    /// The key as JSON output shows it: an exact integer for an integer key, a string otherwise.
    var json: Payload {
        switch self {
        case .int(let v): .unsigned(v)
        case .string(let s): .string(s)
        }
    }
}
