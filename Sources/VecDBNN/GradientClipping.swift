import VecDBKernels

/// Gradient clipping by global norm.
public enum GradientClipping {
    /// Scales every gradient so that their joint Euclidean norm is at most `maxNorm`.
    /// - Returns: the norm before clipping.
    @discardableResult
    public static func clipGlobalNorm(_ parameters: [Parameter], maxNorm: Float) -> Float {
        let norm = Float(parameters.reduce(0.0) { $0 + $1.gradientSumOfSquares }.squareRoot())
        if norm > maxNorm, norm > 0 {
            let s = maxNorm / norm
            for p in parameters { p.scaleGradient(s) }
        }
        return norm
    }
}
