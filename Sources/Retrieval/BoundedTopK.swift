/// A bounded max-heap of the best (smallest) scores seen so far: the root is the worst kept
/// candidate, so the scan loop compares each new score with one number (`threshold`).
/// Equal scores are ordered by case id (then scan index) so that results never depend on row order.
struct BoundedTopK {
    private(set) var scores: [Float] = []
    private(set) var rows: [Int32] = []
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        scores.reserveCapacity(capacity)
        rows.reserveCapacity(capacity)
    }

    var isFull: Bool { scores.count == capacity }

    /// Scores above this cannot enter; equal scores may (the case id then decides).
    var threshold: Float { isFull ? scores[0] : .infinity }

    /// `isWorse(a, b)`: row a ranks after row b on an exact score tie.
    @inline(__always)
    private func worse(_ i: Int, _ j: Int, _ tieWorse: (Int32, Int32) -> Bool) -> Bool {
        scores[i] > scores[j] || (scores[i] == scores[j] && tieWorse(rows[i], rows[j]))
    }

    /// Offers a candidate that already passed `score <= threshold`; `accept` applies the filters
    /// (only evaluated for candidates that would enter). Returns whether it entered.
    @discardableResult
    mutating func offer(score: Float, row: Int32, tieWorse: (Int32, Int32) -> Bool, accept: (Int32) -> Bool) -> Bool {
        if isFull {
            if score > scores[0] { return false }
            if score == scores[0] && !tieWorse(rows[0], row) { return false }
            guard accept(row) else { return false }
            scores[0] = score; rows[0] = row
            siftDown(from: 0, tieWorse)
        } else {
            guard accept(row) else { return false }
            scores.append(score); rows.append(row)
            siftUp(from: scores.count - 1, tieWorse)
        }
        return true
    }

    private mutating func siftUp(from index: Int, _ tieWorse: (Int32, Int32) -> Bool) {
        var i = index
        while i > 0 {
            let parent = (i - 1) / 2
            guard worse(i, parent, tieWorse) else { break }
            scores.swapAt(i, parent); rows.swapAt(i, parent)
            i = parent
        }
    }

    private mutating func siftDown(from index: Int, _ tieWorse: (Int32, Int32) -> Bool) {
        var i = index
        let n = scores.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var largest = i
            if l < n && worse(l, largest, tieWorse) { largest = l }
            if r < n && worse(r, largest, tieWorse) { largest = r }
            if largest == i { return }
            scores.swapAt(i, largest); rows.swapAt(i, largest)
            i = largest
        }
    }
}
