import VecDBKernels

/// Three kinds of 28 × 28 grey picture for image tests: horizontal bars (label 0), vertical bars
/// (1) and a centred square (2), with random phase, brightness and noise. Image i has kind i % 3.
public enum SyntheticPictures {
    /// `n` pictures, row-major pixels one after another, and their labels.
    public static func make(_ n: Int, seed: UInt64) -> (pixels: [UInt8], labels: [Int32]) {
        var g = SeededGenerator(seed: seed)
        var pixels: [UInt8] = []
        var labels: [Int32] = []
        for i in 0..<n {
            let kind = i % 3
            let phase = Int(g.next() % 4)
            let level = 120 + Double(g.next() % 120)
            for y in 0..<28 {
                for x in 0..<28 {
                    var v: Double
                    switch kind {
                    case 0: v = (y + phase) % 6 < 3 ? level : 0
                    case 1: v = (x + phase) % 6 < 3 ? level : 0
                    default: v = abs(x - 14 + phase - 2) < 7 && abs(y - 14) < 7 ? level : 0
                    }
                    v += Double(g.nextGaussian()) * 40
                    pixels.append(UInt8(max(0, min(255, v))))
                }
            }
            labels.append(Int32(kind))
        }
        return (pixels, labels)
    }
}
