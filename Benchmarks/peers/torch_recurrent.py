#!/usr/bin/env python3
"""PyTorch peer of `audit-bench recurrent`: same shapes, 2 threads, one JSON document on stdout.

Inference: batch B of random sequences [B, length, input] through nn.LSTM/nn.GRU + Linear head under
inference_mode, repeated for at least --seconds; prints {"seq_per_s": ...}.
Training (--train): one epoch of Adam over --sequences random sequences in batches of --batch, with
cross-entropy and global-norm clipping at 1 (the Swift trainer's default); prints {"epoch_seconds": ...}.
"""
import argparse
import json
import time

import torch
from torch import nn


class Net(nn.Module):
    def __init__(s, I, H, L, C, bi, cell):
        super().__init__()
        s.rnn = cell(I, H, L, batch_first=True, bidirectional=bi)
        s.head = nn.Linear(H * (2 if bi else 1), C)

    def forward(s, x):
        _, state = s.rnn(x)
        h_n = state[0] if isinstance(state, tuple) else state
        return s.head(h_n[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="lstm", choices=["lstm", "gru"])
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--input", type=int, default=8)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--length", type=int, default=100)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--train", action="store_true")
    ap.add_argument("--sequences", type=int, default=10000)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(7)
    cell = nn.LSTM if a.arch == "lstm" else nn.GRU
    net = Net(a.input, a.hidden, a.layers, a.classes, False, cell)
    doc = {"arch": a.arch, "batch": a.batch, "input": a.input, "hidden": a.hidden, "length": a.length,
           "layers": a.layers, "threads": a.threads, "torch": torch.__version__}
    if a.train:
        x = torch.randn(a.sequences, a.length, a.input)
        y = torch.arange(a.sequences) % a.classes
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        start = time.perf_counter()
        perm = torch.randperm(a.sequences)
        for first in range(0, a.sequences, a.batch):
            idx = perm[first:first + a.batch]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
        doc["epoch_seconds"] = time.perf_counter() - start
        doc["sequences"] = a.sequences
    else:
        net.eval()
        x = torch.randn(a.batch, a.length, a.input)
        with torch.inference_mode():
            for _ in range(3):
                net(x)
            done, start = 0, time.perf_counter()
            while True:
                net(x)
                done += a.batch
                elapsed = time.perf_counter() - start
                if elapsed >= a.seconds:
                    break
        doc["seq_per_s"] = done / elapsed
    print(json.dumps(doc, sort_keys=True))


if __name__ == "__main__":
    main()
