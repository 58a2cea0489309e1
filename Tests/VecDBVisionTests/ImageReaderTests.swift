import Foundation
import Testing
import VecDBKernels
import VecDBNN
import VecDBTestSupport

@testable import VecDBVision

@Suite("Image reading and preprocessing")
struct ImageReaderTests {
    static let resources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources").path
    /// The fixtures' pixels (written by libpng and libjpeg from this formula).
    static let gradient: [UInt8] = (0..<6).flatMap { y in (0..<8).map { x in UInt8((x * 31 + y * 17) % 256) } }

    @Test func pngDecodesExactly() throws {
        for name in ["gradient.png", "gradient-rgb.png"] {
            let images = try ImageReader.read(Self.resources + "/" + name)
            #expect(images.count == 1)
            #expect(images[0].width == 8 && images[0].height == 6)
            #expect(images[0].pixels == Self.gradient, "\(name)")
        }
    }

    @Test func jpegDecodesClosely() throws {
        let image = try #require(try ImageReader.read(Self.resources + "/gradient.jpg").first)
        #expect(image.width == 8 && image.height == 6)
        let worst = zip(image.pixels, Self.gradient).map { abs(Int($0) - Int($1)) }.max() ?? 0
        #expect(worst <= 6, "largest JPEG error \(worst)")
    }

    @Test(arguments: ["gradient.png", "gradient.jpg"])
    func damagedFilesGiveOneLineErrorsNamingTheFile(name: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.resources + "/" + name)))
        for cut in [bytes.count / 2, 12, 4] {
            let path = "/photos/\(name)-cut\(cut)"
            do {
                _ = try ImageReader.decode(Array(bytes.prefix(cut)), path: path)
                Issue.record("a truncated \(name) (\(cut) bytes) decoded")
            } catch {
                #expect(error.code == .malformedFile)
                #expect(error.message.hasPrefix(path) && !error.message.contains("\n"), "\(error.message)")
            }
        }
        #expect(throws: VecDBError.self) { try ImageReader.decode([1, 2, 3, 4, 5], path: "x.bin") }
        // Cut inside the scan data: libjpeg would only warn and fill with grey; refused here.
        if name.hasSuffix(".jpg") {
            #expect(throws: VecDBError.self) { try ImageReader.decode(Array(bytes.dropLast(40)), path: "scan.jpg") }
        }
        #expect(throws: VecDBError.self) { try ImageReader.read("/no/such/image.png") }
    }

    static func npy(descr: String, shape: String, data: [UInt8]) -> [UInt8] {
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        let n = header.utf8.count
        return [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(n & 0xFF), UInt8(n >> 8)] + Array(header.utf8) + data
    }

    @Test func numpyArraysOfBytesAndFloats() throws {
        let two = Self.gradient + Self.gradient.reversed()
        let bytes = try ImageReader.decode(Self.npy(descr: "|u1", shape: "(2, 6, 8)", data: two), path: "a.npy")
        #expect(bytes.map(\.pixels) == [Self.gradient, Self.gradient.reversed()])
        // Floats in 0…1 are scaled to 0…255; rows of 16 values are 4 × 4 images.
        let floats: [Float] = (0..<32).map { Float($0) / 31 }
        let raw = floats.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
        let images = try ImageReader.decode(Self.npy(descr: "<f4", shape: "(2, 16)", data: raw), path: "b.npy")
        #expect(images.count == 2 && images[0].width == 4 && images[0].height == 4)
        #expect(images[1].pixels.last == 255 && images[0].pixels.first == 0)
        #expect(images[0].pixels[1] == UInt8((255.0 / 31).rounded()))
        #expect(throws: VecDBError.self) { try ImageReader.decode(Self.npy(descr: "<i2", shape: "(6, 8)", data: two), path: "c.npy") }
        #expect(throws: VecDBError.self) { try ImageReader.decode(Self.npy(descr: "|u1", shape: "(3, 6, 8)", data: two), path: "d.npy") }
    }

    @Test func idxImages() throws {
        let header: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 6, 0, 0, 0, 8]
        let images = try ImageReader.decode(header + Self.gradient + Self.gradient, path: "train-images-idx3-ubyte")
        #expect(images.count == 2 && images.allSatisfy { $0.pixels == Self.gradient })
    }

    @Test func areaAveragingResize() throws {
        let image = try GreyImage(width: 4, height: 4, pixels: (0..<16).map { UInt8($0 * 10) })
        // 4 × 4 → 2 × 2: each output is the mean of a 2 × 2 block.
        #expect(image.resized(width: 2, height: 2) == [25, 45, 105, 125])
        // 3 × 1 → 2 × 1: the middle pixel is shared half and half.
        let row = try GreyImage(width: 3, height: 1, pixels: [0, 90, 30])
        let out = row.resized(width: 2, height: 1)
        #expect(abs(out[0] - (0 * 1 + 90 * 0.5) / 1.5) < 1e-4 && abs(out[1] - (90 * 0.5 + 30 * 1) / 1.5) < 1e-4)
        // Enlarging replicates.
        #expect(row.resized(width: 6, height: 1) == [0, 0, 90, 90, 30, 30])
        #expect(throws: VecDBError.self) { try GreyImage(width: 2, height: 2, pixels: [1]) }
    }

    @Test func lightBackgroundsAreInverted() throws {
        let dark = try GreyImage(width: 28, height: 28, pixels: (0..<784).map { $0 % 28 > 10 && $0 % 28 < 18 ? 200 : 0 })
        let light = try GreyImage(width: 28, height: 28, pixels: dark.pixels.map { 255 - $0 })
        let a = ImagePreprocessing.input(dark)
        let b = ImagePreprocessing.input(light)
        #expect(zip(a, b).allSatisfy { abs($0 - $1) < 1e-5 })
        #expect(abs(a[0] - (0 - ImagePreprocessing.mean) / ImagePreprocessing.deviation) < 1e-6)
    }
}

@Suite("Encoder training augmentation")
struct AugmentationTests {
    @Test func mirrorsAndShiftsWithinBounds() throws {
        // One 4 × 4 image of distinct values; with shift 0 only mirroring can happen.
        let values = (0..<16).map(Float.init)
        var seen: Set<[Float]> = []
        var g = SeededGenerator(seed: 5)
        for _ in 0..<20 {
            var x = try Tensor(shape: [1, 1, 4, 4], storage: values)
            ImageEncoderTrainer.augment(&x, mirror: true, maxShift: 0, rng: &g)
            seen.insert(x.storage)
        }
        let mirrored = (0..<4).flatMap { y in (0..<4).map { x in Float(y * 4 + 3 - x) } }
        #expect(seen == [values, mirrored])
        // With shifts every output pixel is a source pixel or the corner's background.
        for _ in 0..<20 {
            var x = try Tensor(shape: [1, 1, 4, 4], storage: values)
            ImageEncoderTrainer.augment(&x, mirror: true, maxShift: 1, rng: &g)
            #expect(x.storage.allSatisfy { values.contains($0) })
            #expect(Set(x.storage).count >= 9)
        }
    }
}
