import Foundation

/// Solves a small dense symmetric system A x = b by Gaussian elimination with partial pivoting.
/// Returns nil when A is numerically singular. Used for the Newton steps of the small scaling fits.
func solveLinearSystem(_ a: [[Double]], _ b: [Double]) -> [Double]? {
    let n = b.count
    var m = a
    var r = b
    for col in 0..<n {
        var pivot = col
        for row in (col + 1)..<max(n, col + 1) where abs(m[row][col]) > abs(m[pivot][col]) { pivot = row }
        if abs(m[pivot][col]) < 1e-300 { return nil }
        if pivot != col { m.swapAt(pivot, col); r.swapAt(pivot, col) }
        let d = m[col][col]
        for row in (col + 1)..<max(n, col + 1) {
            let f = m[row][col] / d
            if f == 0 { continue }
            for j in col..<n { m[row][j] -= f * m[col][j] }
            r[row] -= f * r[col]
        }
    }
    var x = Array(repeating: 0.0, count: n)
    for row in stride(from: n - 1, through: 0, by: -1) {
        var s = r[row]
        for j in (row + 1)..<max(n, row + 1) { s -= m[row][j] * x[j] }
        x[row] = s / m[row][row]
    }
    return x.allSatisfy(\.isFinite) ? x : nil
}

/// Minimises a smooth convex function of a few parameters by Levenberg–Marquardt-damped Newton steps.
/// `evaluate` returns value, gradient and Hessian. Stops when the gradient's largest entry is below `tolerance`.
func dampedNewton(start: [Double], tolerance: Double = 1e-11, maxIterations: Int = 500,
                  evaluate: ([Double]) -> (f: Double, g: [Double], h: [[Double]])) -> [Double] {
    var x = start
    var cur = evaluate(x)
    var mu = 1e-6
    for _ in 0..<maxIterations {
        if (cur.g.map { abs($0) }.max() ?? 0) < tolerance { break }
        var improved = false
        for _ in 0..<40 {
            var h = cur.h
            for i in h.indices { h[i][i] += mu * max(1, h[i][i]) }
            guard let step = solveLinearSystem(h, cur.g.map { -$0 }) else { mu *= 10; continue }
            let cand = zip(x, step).map { $0 + $1 }
            let next = evaluate(cand)
            if next.f.isFinite && next.f <= cur.f {
                x = cand; cur = next; improved = true
                mu = max(mu / 10, 1e-12)
                break
            }
            mu *= 10
        }
        if !improved { break }
    }
    return x
}
