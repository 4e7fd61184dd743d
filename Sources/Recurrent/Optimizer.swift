import Foundation

public enum OptimizerKind: String, Sendable, Codable, CaseIterable {
    /// Adam (Kingma & Ba 2015); weight decay, if any, is added to the gradient as in `torch.optim.Adam`.
    case adam
    /// AdamW (Loshchilov & Hutter 2019): decoupled weight decay, as in `torch.optim.AdamW`.
    case adamW = "adamw"
}

/// Adam/AdamW over the flat parameter vector, with PyTorch's update rule and defaults.
struct AdamOptimizer {
    let kind: OptimizerKind
    var learningRate: Float
    let beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8
    let weightDecay: Float
    private var m: [Float], v: [Float]
    private var step = 0

    init(kind: OptimizerKind, parameterCount: Int, learningRate: Float, weightDecay: Float) {
        self.kind = kind
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        m = .init(repeating: 0, count: parameterCount)
        v = .init(repeating: 0, count: parameterCount)
    }

    mutating func update(_ parameters: inout [Float], gradient: [Float]) {
        step += 1
        let c1 = 1 - Float(Foundation.pow(Double(beta1), Double(step)))
        let c2 = 1 - Float(Foundation.pow(Double(beta2), Double(step)))
        let lr = learningRate, wd = weightDecay, b1 = beta1, b2 = beta2, eps = epsilon
        let adamW = kind == .adamW
        let c2root = c2.squareRoot()
        parameters.withUnsafeMutableBufferPointer { p in
            gradient.withUnsafeBufferPointer { g in
                m.withUnsafeMutableBufferPointer { m in
                    v.withUnsafeMutableBufferPointer { v in
                        for k in 0..<p.count {
                            var gk = g[k]
                            if adamW { p[k] *= 1 - lr * wd } else if wd != 0 { gk += wd * p[k] }
                            m[k] = b1 * m[k] + (1 - b1) * gk
                            v[k] = b2 * v[k] + (1 - b2) * gk * gk
                            // torch: p -= lr/c1 · m / (sqrt(v)/sqrt(c2) + eps)
                            p[k] -= (lr / c1) * m[k] / (v[k].squareRoot() / c2root + eps)
                        }
                    }
                }
            }
        }
    }
}

/// Scales `gradient` so that its global L2 norm is at most `maxNorm`; returns the norm before clipping.
@discardableResult
func clipGlobalNorm(_ gradient: inout [Float], maxNorm: Float) -> Float {
    var s = 0.0
    for g in gradient { s += Double(g) * Double(g) }
    let norm = Float(s.squareRoot())
    if norm > maxNorm, norm.isFinite {
        let scale = maxNorm / (norm + 1e-6)
        for k in gradient.indices { gradient[k] *= scale }
    }
    return norm
}
