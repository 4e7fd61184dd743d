import GateKernels
import GateKernelsAVX2
import GateKernelsAVX512

/// Chooses the build of the gate arithmetic this processor can run (see `GateKernels.GateStep`).
enum GateArithmetic {
    enum Build { case baseline, avx2, avx512 }

    /// The widest build the processor can run.
    static let build: Build = GateKernels.ProcessorFeatures.avx512 ? .avx512
        : GateKernels.ProcessorFeatures.haswell ? .avx2 : .baseline

    /// One of three spellings of the same call, by build.
    @inline(__always) private static func pick<F>(_ baseline: F, _ avx2: F, _ avx512: F) -> F {
        switch build {
        case .baseline: return baseline
        case .avx2: return avx2
        case .avx512: return avx512
        }
    }

    typealias Product = (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Int, Int, Bool) -> Void

    /// `out += h · w` for a few rows, `w` packed (see `GateStep.accumulateProduct`).
    static let accumulateProduct: Product = pick(
        { GateKernels.GateStep.accumulateProduct($0, $1, into: $2, rows: $3, inner: $4, width: $5, backwards: $6) },
        { GateKernelsAVX2.GateStep.accumulateProduct($0, $1, into: $2, rows: $3, inner: $4, width: $5, backwards: $6) },
        { GateKernelsAVX512.GateStep.accumulateProduct($0, $1, into: $2, rows: $3, inner: $4, width: $5, backwards: $6) })

    /// The layout `accumulateProduct` reads (the same in every build).
    static func packForProduct(_ w: UnsafePointer<Float>, _ inner: Int, _ width: Int, _ packed: UnsafeMutablePointer<Float>) {
        GateKernels.GateStep.packForProduct(w, inner: inner, width: width, into: packed)
    }

    typealias InPlace = (UnsafeMutablePointer<Float>, Int) -> Void

    /// The training kernels' activations over contiguous spans.
    static let sigmoid: InPlace = pick(
        { GateKernels.Activations.sigmoid($0, $1) }, { GateKernelsAVX2.Activations.sigmoid($0, $1) },
        { GateKernelsAVX512.Activations.sigmoid($0, $1) })
    static let tanh: InPlace = pick(
        { GateKernels.Activations.tanh($0, $1) }, { GateKernelsAVX2.Activations.tanh($0, $1) },
        { GateKernelsAVX512.Activations.tanh($0, $1) })

    typealias LSTMStep = (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>,
                          UnsafeMutablePointer<Float>, Int, Int) -> Void

    static let lstm: LSTMStep = pick(
        { GateKernels.GateStep.lstm(gates: $0, bias: $1, h: $2, c: $3, hidden: $4, rows: $5) },
        { GateKernelsAVX2.GateStep.lstm(gates: $0, bias: $1, h: $2, c: $3, hidden: $4, rows: $5) },
        { GateKernelsAVX512.GateStep.lstm(gates: $0, bias: $1, h: $2, c: $3, hidden: $4, rows: $5) })

    typealias LSTMRecording = (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>,
                               UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void

    /// One LSTM row of a training step (see `GateStep.lstmRecording`).
    static let lstmRecording: LSTMRecording = pick(
        { GateKernels.GateStep.lstmRecording(gates: $0, previousCell: $1, c: $2, cellTanh: $3, h: $4, hidden: $5) },
        { GateKernelsAVX2.GateStep.lstmRecording(gates: $0, previousCell: $1, c: $2, cellTanh: $3, h: $4, hidden: $5) },
        { GateKernelsAVX512.GateStep.lstmRecording(gates: $0, previousCell: $1, c: $2, cellTanh: $3, h: $4, hidden: $5) })

    typealias LSTMBackward = (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>,
                              UnsafePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void

    /// One LSTM row of backpropagation through a step (see `GateStep.lstmBackward`).
    static let lstmBackward: LSTMBackward = pick(
        { GateKernels.GateStep.lstmBackward(gates: $0, cellTanh: $1, previousCell: $2, dy: $3, dh: $4, dc: $5, dA: $6, hidden: $7) },
        { GateKernelsAVX2.GateStep.lstmBackward(gates: $0, cellTanh: $1, previousCell: $2, dy: $3, dh: $4, dc: $5, dA: $6, hidden: $7) },
        { GateKernelsAVX512.GateStep.lstmBackward(gates: $0, cellTanh: $1, previousCell: $2, dy: $3, dh: $4, dc: $5, dA: $6, hidden: $7) })

    typealias GRUBackward = (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>,
                             UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void

    /// One GRU row of backpropagation through a step (see `GateStep.gruBackward`).
    static let gruBackward: GRUBackward = pick(
        { GateKernels.GateStep.gruBackward(gates: $0, hn: $1, previousHidden: $2, dy: $3, dh: $4, dAx: $5, dAh: $6, hidden: $7) },
        { GateKernelsAVX2.GateStep.gruBackward(gates: $0, hn: $1, previousHidden: $2, dy: $3, dh: $4, dAx: $5, dAh: $6, hidden: $7) },
        { GateKernelsAVX512.GateStep.gruBackward(gates: $0, hn: $1, previousHidden: $2, dy: $3, dh: $4, dAx: $5, dAh: $6, hidden: $7) })

    typealias GRUStep = (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>,
                         UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Int) -> Void

    static let gru: GRUStep = pick(
        { GateKernels.GateStep.gru(gates: $0, recurrent: $1, bias: $2, bhn: $3, h: $4, hidden: $5, rows: $6) },
        { GateKernelsAVX2.GateStep.gru(gates: $0, recurrent: $1, bias: $2, bhn: $3, h: $4, hidden: $5, rows: $6) },
        { GateKernelsAVX512.GateStep.gru(gates: $0, recurrent: $1, bias: $2, bhn: $3, h: $4, hidden: $5, rows: $6) })
}
