#!/usr/bin/env python3
"""PyTorch peer of `audit-bench lstm-fcn`: the same LSTM-FCN (LSTM over the dimension-shuffled series
beside Conv1d(same)/BatchNorm1d/ReLU blocks 128/256/128 with kernels 8/5/3 and global average
pooling, one linear head), the same shapes and thread count; one JSON document on stdout.

Inference: a batch of random series [B, length, channels] in eval mode under inference_mode,
repeated for at least --seconds; prints {"seq_per_s": ...}.
Training (--train): one epoch of Adam (lr 1e-3) over --sequences random series in batches of
--batch, cross-entropy, global-norm clipping at 1 (the Swift trainer's default); prints {"epoch_seconds": ...}.
"""
import argparse
import json
import time

import torch
from torch import nn


class LSTMFCN(nn.Module):
    def __init__(s, M, T, H, C, filters=(128, 256, 128), kernels=(8, 5, 3)):
        super().__init__()
        s.rnn = nn.LSTM(T, H, batch_first=True)
        layers, c = [], M
        for f, k in zip(filters, kernels):
            layers += [nn.Conv1d(c, f, k, padding="same"), nn.BatchNorm1d(f), nn.ReLU()]
            c = f
        s.fcn = nn.Sequential(*layers)
        s.head = nn.Linear(H + c, C)

    def forward(s, x):  # [B, T, M]
        _, (h, _) = s.rnn(x.transpose(1, 2))
        return s.head(torch.cat([h[-1], s.fcn(x.transpose(1, 2)).mean(dim=2)], dim=1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--channels", type=int, default=1)
    ap.add_argument("--length", type=int, default=140)
    ap.add_argument("--hidden", type=int, default=8)
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--train", action="store_true")
    ap.add_argument("--sequences", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(7)
    net = LSTMFCN(a.channels, a.length, a.hidden, a.classes)
    doc = {"arch": "lstm-fcn", "batch": a.batch, "channels": a.channels, "length": a.length, "hidden": a.hidden,
           "threads": a.threads, "torch": torch.__version__}
    if a.train:
        x = torch.randn(a.sequences, a.length, a.channels)
        y = torch.arange(a.sequences) % a.classes
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        net.train()
        start = time.perf_counter()
        perm = torch.randperm(a.sequences)
        for i in range(0, a.sequences, a.batch):
            idx = perm[i:i + a.batch]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
        doc["epoch_seconds"] = time.perf_counter() - start
    else:
        net.eval()
        x = torch.randn(a.batch, a.length, a.channels)
        with torch.inference_mode():
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
