import Foundation
import Testing
import VecDBKernels
import VecDBTestSupport

@testable import VecDBNN

@Suite("Tensors and kernels")
struct TensorTests {
    @Test func badShapeNamesBothShapes() throws {
        var g = SeededGenerator(seed: 1)
        let fc1 = Linear(784, 10, name: "fc1", generator: &g)
        expectVecDBError(.dimensionMismatch, containing: "linear 'fc1' expects input [*, 784], got [32, 783]") {
            try fc1.forward(Tensor(zeros: [32, 783]), training: true)
        }
        expectVecDBError(.dimensionMismatch, containing: "[2, 3] and [3, 2]") { try Tensor(zeros: [2, 3]) + Tensor(zeros: [3, 2]) }
        expectVecDBError(.dimensionMismatch, containing: "cannot reshape [2, 3] to [4, 2]") { try Tensor(zeros: [2, 3]).reshaped([4, 2]) }
        expectVecDBError(.dimensionMismatch, containing: "needs too many values") { try Tensor(shape: [Int.max, 4], storage: []) }
        expectVecDBError(.dimensionMismatch, containing: "tensor shape [2, 2] needs 4 values, got 3") {
            try Tensor(shape: [2, 2], storage: [1, 2, 3])
        }
        expectVecDBError(.dimensionMismatch, containing: "[2, 3]ᵀ · [2, 3]ᵀ") {
            try Tensor.matmul(Tensor(zeros: [2, 3]), Tensor(zeros: [2, 3]), transposeA: true, transposeB: true)
        }
        let conv = Conv2D(inChannels: 3, outChannels: 4, kernel: 3, name: "stem", generator: &g)
        expectVecDBError(.dimensionMismatch, containing: "conv2d 'stem' expects input [*, 3, *, *], got [1, 1, 28, 28]") {
            try conv.forward(Tensor(zeros: [1, 1, 28, 28]), training: true)
        }
        expectVecDBError(.invalidArgument, containing: "backward called before forward") {
            try Linear(2, 2, generator: &g).backward(Tensor(zeros: [1, 2]))
        }
        expectVecDBError(.dimensionMismatch, containing: "gradient shape [1, 3] differs from output shape [1, 10]") {
            _ = try fc1.forward(Tensor(zeros: [1, 784]), training: true)
            return try fc1.backward(Tensor(zeros: [1, 3]))
        }
    }

    @Test func matmulMatchesReference() throws {
        var g = SeededGenerator(seed: 2)
        let a = Tensor.normal([5, 7], std: 1, generator: &g)
        let b = Tensor.normal([7, 3], std: 1, generator: &g)
        let c = try Tensor.matmul(a, b)
        for i in 0..<5 {
            for j in 0..<3 {
                let want = (0..<7).map { Double(a[i, $0]) * Double(b[$0, j]) }.reduce(0, +)
                #expect(abs(Double(c[i, j]) - want) < 1e-4)
            }
        }
        let ct = try Tensor.matmul(b, a, transposeA: true, transposeB: true)
        #expect(ct.shape == [3, 5])
        for i in 0..<5 { for j in 0..<3 { #expect(abs(ct[j, i] - c[i, j]) < 1e-4) } }
    }

    @Test func elementWiseKernels() throws {
        // Lengths around the vector widths, so every tail path runs.
        for n in [1, 7, 15, 16, 17, 33, 100] {
            let a = try Tensor(shape: [n], storage: (0..<n).map { Float($0) * 0.5 - 3 })
            let b = try Tensor(shape: [n], storage: (0..<n).map { Float(n - $0) * 0.25 })
            #expect(try (a + b).storage == zip(a.storage, b.storage).map { $0 + $1 })
            #expect(try (a * b).storage == zip(a.storage, b.storage).map { $0 * $1 })
            var c = a
            try c.add(b, scaledBy: 2)
            #expect(c.storage == zip(a.storage, b.storage).map { $0 + 2 * $1 })
            c.scale(by: 0.5)
            #expect(abs(a.sumOfSquares - a.storage.map { Double($0) * Double($0) }.reduce(0, +)) < 1e-9)
            let relu = try Activation(.relu).forward(a, training: false)
            #expect(relu.storage == a.storage.map { max($0, 0) })
        }
    }

    @Test func blasIsLoadedWithCoreType() {
        // The BLAS binding names the library and the core type it chose (or the fallback).
        #expect(!BLAS.description.isEmpty)
    }
}
