#!/usr/bin/env bash
# Issue 3's speed comparison: for each cell and measure, ROUNDS alternating pairs of
# `audit-bench recurrent` and the PyTorch peer (2 threads each), one line per pair with the ratio
# (ours over theirs for throughput, theirs over ours for epoch time). Alternating pairs, because
# PyTorch's own throughput moves by up to 2x between runs on these machines.
# Usage: swift build -c release --product audit-bench && Benchmarks/compare-recurrent.sh [ROUNDS] [ARCHS...]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}; shift || true
archs=${*:-lstm gru}
bench=.build/release/audit-bench
peer=Benchmarks/peers/torch_recurrent.py
field() { python3 -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['$1'])"; }
for arch in $archs; do
  for mode in b256 b1 epoch; do
    shape="--arch $arch --input 8 --hidden 64 --length 100 --json"
    case $mode in
      b256) args="$shape --batch 256"; key=seq_per_s ;;
      b1) args="$shape --batch 1"; key=seq_per_s ;;
      epoch) args="$shape --batch 64 --train --sequences 10000"; key=epoch_seconds ;;
    esac
    for r in $(seq "$rounds"); do
      ours=$($bench recurrent $args | field $key)
      theirs=$(python3 $peer $args 2>/dev/null | field $key)
      python3 -c "
o, t = $ours, $theirs
ratio = o / t if '$key' == 'seq_per_s' else t / o
print('$arch $mode round $r: countersign %.4g  pytorch %.4g  ($key)  ratio %.2f' % (o, t, ratio))"
    done
  done
done
