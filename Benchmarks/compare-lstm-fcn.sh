#!/usr/bin/env bash
# Issue 19's speed comparison for LSTM-FCN: ROUNDS alternating pairs of `audit-bench lstm-fcn` and the
# PyTorch peer (2 threads each) at the published shape on ECG5000-sized series (length 140), for
# batch-256 inference and one training epoch; one line per pair with the ratio (ours over theirs for
# throughput, theirs over ours for epoch time).
# Usage: swift build -c release --product audit-bench && Benchmarks/compare-lstm-fcn.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
bench=.build/release/audit-bench
peer=Benchmarks/peers/torch_lstm_fcn.py
field() { python3 -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['$1'])"; }
for mode in b256 epoch; do
  case $mode in
    b256) args="--batch 256 --length 140 --json"; key=seq_per_s ;;
    epoch) args="--batch 64 --length 140 --train --sequences 2000 --json"; key=epoch_seconds ;;
  esac
  for r in $(seq "$rounds"); do
    ours=$($bench lstm-fcn $args | field $key)
    theirs=$(python3 $peer $args 2>/dev/null | field $key)
    python3 -c "
o, t = $ours, $theirs
ratio = o / t if '$key' == 'seq_per_s' else t / o
print('lstm-fcn $mode round $r: countersign %.4g  pytorch %.4g  ($key)  ratio %.2f' % (o, t, ratio))"
  done
done
