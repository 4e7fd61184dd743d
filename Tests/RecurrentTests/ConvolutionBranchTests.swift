import Foundation
import XCTest
@testable import Recurrent

/// The convolution branch of LSTM-FCN (issue: models that generalise, item 1) against PyTorch
/// (`scripts/fcn_reference.py`: Conv1d with "same" padding, BatchNorm1d in eval and train mode, ReLU,
/// global average pooling), and against central finite differences.
final class ConvolutionBranchTests: XCTestCase {
    struct Fixture: Decodable {
        var channels: Int
        var filters: [Int]
        var kernels: [Int]
        var parameters: [String: [Double]]
        var running: [String: [Double]]
        var input: [[Double]]
        var r: [[Double]]
        var pooled_eval: [[Double]]
        var pooled_train: [[Double]]
        var gradients: [String: [Double]]
        var running_after_train: [String: [Double]]
        var variable_inputs: [[Double]]
        var pooled_variable: [[Double]]
    }

    static func fixture() throws -> Fixture {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "fcn_branch", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    /// The branch with PyTorch's parameters and running statistics (names without the "fcn." prefix).
    static func branch(_ f: Fixture) throws -> ConvolutionBranch {
        var b = try ConvolutionBranch(configuration: ConvolutionBranchConfiguration(inputChannels: f.channels, filters: f.filters, kernels: f.kernels),
                                      prefix: "")
        for t in b.tensors {
            let values = try XCTUnwrap(f.parameters[t.name], t.name)
            XCTAssertEqual(values.count, t.count, t.name)
            for (k, v) in values.enumerated() { b.parameters[t.offset + k] = Float(v) }
        }
        for i in f.filters.indices {
            b.runningMeans[i] = try XCTUnwrap(f.running["bn\(i + 1).running_mean"]).map(Float.init)
            b.runningVariances[i] = try XCTUnwrap(f.running["bn\(i + 1).running_var"]).map(Float.init)
        }
        return b
    }

    func assertClose(_ a: [[Float]], _ b: [[Double]], _ tolerance: Double, _ what: String) {
        XCTAssertEqual(a.count, b.count, what)
        for (x, y) in zip(a, b) {
            XCTAssertEqual(x.count, y.count, what)
            for (u, v) in zip(x, y) { XCTAssertEqual(Double(u), v, accuracy: tolerance * max(1, abs(v)), what) }
        }
    }

    func testEvalModeMatchesPyTorch() throws {
        let f = try Self.fixture()
        var b = try Self.branch(f)
        let before = b.runningMeans
        let trace = try b.forward(f.input.map { $0.map(Float.init) }, training: false)
        assertClose(trace.pooled, f.pooled_eval, 1e-5, "eval pooled")
        XCTAssertEqual(b.runningMeans, before, "eval mode leaves the running statistics alone")
    }

    /// Sequences of different lengths in one batch give each its own features, equal to PyTorch's
    /// run of that sequence alone.
    func testVariableLengthsMatchPyTorchRunAlone() throws {
        let f = try Self.fixture()
        var b = try Self.branch(f)
        let trace = try b.forward(f.variable_inputs.map { $0.map(Float.init) }, training: false)
        assertClose(trace.pooled, f.pooled_variable, 1e-5, "variable-length pooled")
    }

    func testTrainModeForwardGradientAndRunningStatisticsMatchPyTorch() throws {
        let f = try Self.fixture()
        var b = try Self.branch(f)
        let trace = try b.forward(f.input.map { $0.map(Float.init) }, training: true)
        assertClose(trace.pooled, f.pooled_train, 1e-5, "train pooled")
        for i in f.filters.indices {
            assertClose([b.runningMeans[i]], [try XCTUnwrap(f.running_after_train["bn\(i + 1).running_mean"])], 1e-5, "running mean \(i + 1)")
            assertClose([b.runningVariances[i]], [try XCTUnwrap(f.running_after_train["bn\(i + 1).running_var"])], 1e-5, "running var \(i + 1)")
        }
        let grad = try b.backward(trace, pooledGradient: f.r.map { $0.map(Float.init) }).parameters
        for t in b.tensors {
            let expected = try XCTUnwrap(f.gradients[t.name], t.name)
            let scale = max(1e-3, expected.map(abs).max() ?? 0)
            for (k, v) in expected.enumerated() {
                XCTAssertEqual(Double(grad[t.offset + k]), v, accuracy: 1e-4 * scale + 1e-6, "\(t.name)[\(k)]")
            }
        }
    }

    /// Central differences: the loss is Σ r·pooled in train mode (batch
    /// statistics), each parameter nudged by ±ε on a fresh copy (train mode also moves the running statistics).
    func testGradientMatchesFiniteDifferences() throws {
        let config = ConvolutionBranchConfiguration(inputChannels: 2, filters: [3, 4], kernels: [4, 3])
        let base = try ConvolutionBranch(configuration: config, seed: 9)
        var state: UInt64 = 17
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2000 - 1000) / 600
        }
        let x = [6, 3, 5].map { n in (0..<(n * 2)).map { _ in next() } }
        let r = (0..<3).map { _ in (0..<4).map { _ in next() } }
        func loss(_ branch: ConvolutionBranch) throws -> Double {
            var copy = branch
            let pooled = try copy.forward(x, training: true).pooled
            return zip(pooled, r).reduce(0) { acc, pr in acc + zip(pr.0, pr.1).reduce(0) { $0 + Double($1.0 * $1.1) } }
        }
        var working = base
        let grad = try working.backward(try working.forward(x, training: true), pooledGradient: r).parameters
        let eps: Float = 2e-3
        for t in base.tensors {
            // Batch normalisation in train mode subtracts the batch mean, so a convolution bias has no effect.
            let biasBeforeBatchNorm = t.name.hasSuffix(".bias") && t.name.contains("conv")
            var largest: Float = 0
            for k in t.offset..<(t.offset + t.count) {
                var up = base, down = base
                up.parameters[k] += eps
                down.parameters[k] -= eps
                let numeric = Float((try loss(up) - loss(down)) / Double(2 * eps))
                largest = max(largest, abs(numeric))
                XCTAssertEqual(grad[k], numeric, accuracy: 3e-3 + 0.03 * abs(numeric), "\(t.name)[\(k - t.offset)]")
                if biasBeforeBatchNorm { XCTAssertEqual(grad[k], 0, accuracy: 1e-4, "\(t.name)[\(k - t.offset)]") }
            }
            if !biasBeforeBatchNorm { XCTAssertGreaterThan(largest, 1e-3, "\(t.name): the gradient vanished, the check would be vacuous") }
        }
    }

    func testBadInputIsRefusedWithTheSequenceNamed() throws {
        var b = try ConvolutionBranch(configuration: ConvolutionBranchConfiguration(inputChannels: 2, filters: [3], kernels: [3]), seed: 1)
        XCTAssertThrowsError(try b.forward([[1, 2, 3]], training: false)) { XCTAssertTrue("\($0)".contains("sequence 0"), "\($0)") }
        XCTAssertThrowsError(try b.forward([[1, 2], [1, .nan]], training: false)) { XCTAssertTrue("\($0)".contains("sequence 1 value 1"), "\($0)") }
        XCTAssertThrowsError(try b.forward([[1, 2]], training: true)) { XCTAssertTrue("\($0)".contains("at least 2 time steps"), "\($0)") }
        XCTAssertThrowsError(try ConvolutionBranch(configuration: ConvolutionBranchConfiguration(inputChannels: 2, filters: [3, 4], kernels: [3]), seed: 1))
    }
}
