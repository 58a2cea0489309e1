import VecDBKernels

/// An 8-bit grey image, row-major, top row first (0 black, 255 white).
public struct GreyImage: Sendable, Equatable {
    /// Columns.
    public let width: Int
    /// Rows.
    public let height: Int
    /// `width × height` pixels.
    public let pixels: [UInt8]

    /// Creates an image.
    ///
    /// - Throws: ``VecDBError/Code/invalidArgument`` when the sizes are not positive or the pixel
    ///   count is not `width × height`.
    public init(width: Int, height: Int, pixels: [UInt8]) throws(VecDBError) {
        guard width > 0, height > 0, pixels.count == width * height else {
            throw VecDBError(
                .invalidArgument, "an image of \(width) × \(height) needs \(max(width * height, 0)) pixels, got \(pixels.count)")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The image resized to `width × height` by area averaging: each target pixel is the mean of
    /// the source area it covers, fractional source pixels weighted by their covered share (a
    /// box filter; for enlargement it replicates pixels). The aspect ratio is not kept.
    public func resized(width w: Int, height h: Int) -> [Float] {
        if w == width && h == height { return pixels.map(Float.init) }
        let sx = Double(width) / Double(w)
        let sy = Double(height) / Double(h)
        // Per target column, the source columns and their weights (the same for every row).
        func spans(_ count: Int, _ scale: Double, _ limit: Int) -> [[(Int, Double)]] {
            (0..<count).map { t in
                let a = Double(t) * scale
                let b = a + scale
                var out: [(Int, Double)] = []
                var i = Int(a)
                while Double(i) < b && i < limit {
                    let lo = max(a, Double(i))
                    let hi = min(b, Double(i + 1))
                    if hi > lo { out.append((i, hi - lo)) }
                    i += 1
                }
                return out
            }
        }
        let columns = spans(w, sx, width)
        let rows = spans(h, sy, height)
        var out = [Float](repeating: 0, count: w * h)
        for (ty, rs) in rows.enumerated() {
            for (tx, cs) in columns.enumerated() {
                var sum = 0.0
                var weight = 0.0
                for (y, wy) in rs {
                    for (x, wx) in cs {
                        sum += Double(pixels[y * width + x]) * wy * wx
                        weight += wy * wx
                    }
                }
                out[ty * w + tx] = Float(weight > 0 ? sum / weight : 0)
            }
        }
        return out
    }

    /// The mean of the outermost rows and columns, 0…255.
    public var borderMean: Double {
        var sum = 0.0
        var n = 0
        for x in 0..<width {
            sum += Double(pixels[x]) + Double(pixels[(height - 1) * width + x])
            n += 2
        }
        for y in 0..<height {
            sum += Double(pixels[y * width]) + Double(pixels[y * width + width - 1])
            n += 2
        }
        return sum / Double(max(n, 1))
    }
}
