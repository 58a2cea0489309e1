import Testing
import VecDBKernels

@testable import VecDBNN

/// Finite-difference oracles for hand-written backward passes.
///
/// A layer is checked through the scalar `L(x) = Σ rᵢ · f(x)ᵢ` with fixed random weights `r`:
/// `backward(r)` must equal the central differences `(L(x + εeⱼ) − L(x − εeⱼ)) / 2ε` for every
/// input value and every parameter value. Sums are accumulated in Double.
enum GradientCheck {
    struct Mismatch: CustomStringConvertible {
        var what: String
        var analytic: Double
        var numeric: Double
        var description: String { "\(what): analytic \(analytic), numeric \(numeric)" }
    }

    static func weights(_ shape: [Int], seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        return Tensor.normal(shape, std: 1, generator: &g)
    }

    static func dot(_ a: Tensor, _ b: Tensor) -> Double {
        zip(a.storage, b.storage).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }

    /// Compares gradients, returning the worst mismatches.
    static func compare(_ analytic: [Float], _ numeric: [Double], what: String, relative: Double, absolute: Double) -> [Mismatch] {
        var bad: [Mismatch] = []
        var diff2 = 0.0
        var norm2 = 0.0
        for (i, (a, n)) in zip(analytic, numeric).enumerated() {
            diff2 += (Double(a) - n) * (Double(a) - n)
            norm2 += n * n + Double(a) * Double(a)
            if abs(Double(a) - n) > absolute + relative * max(abs(Double(a)), abs(n)) {
                bad.append(Mismatch(what: "\(what)[\(i)]", analytic: Double(a), numeric: n))
            }
        }
        if diff2.squareRoot() > relative * max(norm2.squareRoot(), 1e-6) {
            bad.append(Mismatch(what: "\(what) (norm)", analytic: norm2.squareRoot(), numeric: diff2.squareRoot()))
        }
        return bad
    }

    /// Checks the input gradient and every parameter gradient of `layer`.
    static func check(
        _ layer: any Layer, input: Tensor, training: Bool, epsilon: Float = 1e-2,
        relative: Double = 2e-2, absolute: Double = 2e-3,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        layer.zeroGradients()
        let y = try layer.forward(input, training: training)
        let r = weights(y.shape, seed: 77)
        let dx = try layer.backward(r)
        #expect(dx.shape == input.shape, sourceLocation: sourceLocation)
        let analyticParams = layer.parameters.map { $0.gradient.storage }
        func loss(_ x: Tensor) throws -> Double { dot(try layer.forward(x, training: training), r) }

        var numeric = [Double](repeating: 0, count: input.count)
        var x = input
        for i in 0..<input.count {
            let v = x.storage[i]
            x.storage[i] = v + epsilon
            let up = try loss(x)
            x.storage[i] = v - epsilon
            let down = try loss(x)
            x.storage[i] = v
            numeric[i] = (up - down) / (2 * Double(epsilon))
        }
        var bad = compare(dx.storage, numeric, what: "\(layer.name) input", relative: relative, absolute: absolute)
        for (p, analytic) in zip(layer.parameters, analyticParams) {
            var num = [Double](repeating: 0, count: p.value.count)
            for j in 0..<p.value.count {
                let v = p.value.storage[j]
                p.value.storage[j] = v + epsilon
                let up = try loss(input)
                p.value.storage[j] = v - epsilon
                let down = try loss(input)
                p.value.storage[j] = v
                num[j] = (up - down) / (2 * Double(epsilon))
            }
            bad += compare(analytic, num, what: p.name, relative: relative, absolute: absolute)
        }
        #expect(bad.isEmpty, "\(bad.prefix(5))", sourceLocation: sourceLocation)
    }

    /// Checks `gradients` of a scalar function of several tensors.
    static func checkFunction(
        _ inputs: [Tensor], gradients: [Tensor], epsilon: Float = 1e-2,
        relative: Double = 2e-2, absolute: Double = 1e-3,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ f: ([Tensor]) throws -> Float
    ) throws {
        var xs = inputs
        var bad: [Mismatch] = []
        for k in xs.indices {
            #expect(gradients[k].shape == inputs[k].shape, sourceLocation: sourceLocation)
            var num = [Double](repeating: 0, count: xs[k].count)
            for i in 0..<xs[k].count {
                let v = xs[k].storage[i]
                xs[k].storage[i] = v + epsilon
                let up = Double(try f(xs))
                xs[k].storage[i] = v - epsilon
                let down = Double(try f(xs))
                xs[k].storage[i] = v
                num[i] = (up - down) / (2 * Double(epsilon))
            }
            bad += compare(gradients[k].storage, num, what: "input \(k)", relative: relative, absolute: absolute)
        }
        #expect(bad.isEmpty, "\(bad.prefix(5))", sourceLocation: sourceLocation)
    }

    /// Normal values pushed at least `margin` away from zero (ReLU's kink).
    static func awayFromZero(_ shape: [Int], seed: UInt64, margin: Float = 0.1) -> Tensor {
        var t = weights(shape, seed: seed)
        for i in t.storage.indices { t.storage[i] += t.storage[i] >= 0 ? margin : -margin }
        return t
    }

    /// A random permutation of well-separated values (no ties for max pooling).
    static func distinct(_ shape: [Int], seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        let n = shape.reduce(1, *)
        var values = (0..<n).map { Float($0) * 0.1 - Float(n) * 0.05 }
        for i in stride(from: n - 1, to: 0, by: -1) { values.swapAt(i, Int(g.next() % UInt64(i + 1))) }
        return Tensor(uncheckedShape: shape, storage: values)
    }
}
