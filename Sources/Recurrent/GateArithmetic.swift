import GateKernels
import GateKernelsAVX2

/// Chooses the build of the gate arithmetic this processor can run (see `GateKernels.GateStep`).
enum GateArithmetic {
    typealias LSTMStep = (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>,
                          UnsafeMutablePointer<Float>, Int, Int) -> Void
    typealias GRUStep = (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>,
                         UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Int) -> Void

    /// The Haswell build when the processor can run it.
    static let usesAVX2 = GateKernels.ProcessorFeatures.haswell

    typealias Product = (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Int, Int) -> Void

    /// `out += h · w` for a few rows (see `GateStep.accumulateProduct`).
    static let accumulateProduct: Product = usesAVX2
        ? { GateKernelsAVX2.GateStep.accumulateProduct($0, $1, into: $2, rows: $3, inner: $4, width: $5) }
        : { GateKernels.GateStep.accumulateProduct($0, $1, into: $2, rows: $3, inner: $4, width: $5) }

    typealias InPlace = (UnsafeMutablePointer<Float>, Int) -> Void
    typealias Into = (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void

    /// The training kernels' activations over contiguous spans.
    static let sigmoid: InPlace = usesAVX2
        ? { GateKernelsAVX2.Activations.sigmoid($0, $1) } : { GateKernels.Activations.sigmoid($0, $1) }
    static let tanh: InPlace = usesAVX2
        ? { GateKernelsAVX2.Activations.tanh($0, $1) } : { GateKernels.Activations.tanh($0, $1) }
    static let tanhInto: Into = usesAVX2
        ? { GateKernelsAVX2.Activations.tanh($0, into: $1, $2) } : { GateKernels.Activations.tanh($0, into: $1, $2) }

    static let lstm: LSTMStep = usesAVX2
        ? { GateKernelsAVX2.GateStep.lstm(gates: $0, bias: $1, h: $2, c: $3, hidden: $4, rows: $5) }
        : { GateKernels.GateStep.lstm(gates: $0, bias: $1, h: $2, c: $3, hidden: $4, rows: $5) }

    typealias LSTMRecording = (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>,
                               UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void

    /// One LSTM row of a training step (see `GateStep.lstmRecording`).
    static let lstmRecording: LSTMRecording = usesAVX2
        ? { GateKernelsAVX2.GateStep.lstmRecording(gates: $0, previousCell: $1, c: $2, cellTanh: $3, h: $4, hidden: $5) }
        : { GateKernels.GateStep.lstmRecording(gates: $0, previousCell: $1, c: $2, cellTanh: $3, h: $4, hidden: $5) }

    static let gru: GRUStep = usesAVX2
        ? { GateKernelsAVX2.GateStep.gru(gates: $0, recurrent: $1, bias: $2, bhn: $3, h: $4, hidden: $5, rows: $6) }
        : { GateKernels.GateStep.gru(gates: $0, recurrent: $1, bias: $2, bhn: $3, h: $4, hidden: $5, rows: $6) }
}
