/// JSON string literals, for the few places that write JSON by hand (payload text, safetensors
/// headers): quotes, backslashes and control characters escaped, everything else as is.
package enum JSONString {
    /// Appends `s` as a quoted JSON string.
    package static func append(_ s: String, to out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }

    /// `s` as a quoted JSON string.
    package static func quoted(_ s: String) -> String {
        var out = ""
        append(s, to: &out)
        return out
    }
}
