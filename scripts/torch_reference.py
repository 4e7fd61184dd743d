#!/usr/bin/env python3
"""Writes PyTorch reference fixtures for the Recurrent module's parity tests.

For each architecture (LSTM, GRU) x layers (1, 2) x (uni, bidirectional) it builds the seeded
PyTorch model of issue 3

    class Net(nn.Module):
        def __init__(s, I, H, L, C, bi, cell):
            s.rnn = cell(I, H, L, batch_first=True, bidirectional=bi)
            s.head = nn.Linear(H * (2 if bi else 1), C)

saves it as safetensors with the `countersign.*` metadata, and writes a JSON file holding a batch of
variable-length inputs (raw, before normalisation), PyTorch's logits, embeddings, the mean
cross-entropy loss for the given labels and its gradient w.r.t. every parameter tensor.
Run: python3 scripts/torch_reference.py  (writes Tests/RecurrentTests/Fixtures/parity_*.{safetensors,json})
"""
import json
import os

import torch
from safetensors.torch import save_file
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "RecurrentTests", "Fixtures")
I, H, C = 3, 5, 3
LENGTHS = [7, 4, 7, 1, 5]
CLASSES = ["normal", "abnormal/type 2", "\u00e9l\u00e8ve"]


class Net(nn.Module):
    def __init__(s, I, H, L, C, bi, cell):
        super().__init__()
        s.rnn = cell(I, H, L, batch_first=True, bidirectional=bi)
        s.head = nn.Linear(H * (2 if bi else 1), C)

    def embedding(s, x, lengths):
        packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
        _, state = s.rnn(packed)
        h_n = state[0] if isinstance(state, tuple) else state
        if s.rnn.bidirectional:
            return torch.cat([h_n[-2], h_n[-1]], dim=1)
        return h_n[-1]

    def forward(s, x, lengths):
        return s.head(s.embedding(x, lengths))


def main():
    os.makedirs(OUT, exist_ok=True)
    for arch, cell in (("lstm", nn.LSTM), ("gru", nn.GRU)):
        for layers in (1, 2):
            for bi in (False, True):
                seed = 1000 + 100 * (arch == "gru") + 10 * layers + bi
                torch.manual_seed(seed)
                net = Net(I, H, layers, C, bi, cell)
                mean = torch.randn(I) * 0.5
                std = torch.rand(I) + 0.5
                raw = torch.randn(len(LENGTHS), max(LENGTHS), I) * 1.3 + mean
                for b, n in enumerate(LENGTHS):
                    raw[b, n:] = 0
                labels = torch.tensor([b % C for b in range(len(LENGTHS))])
                x = (raw - mean) / std
                for b, n in enumerate(LENGTHS):
                    x[b, n:] = 0
                emb = net.embedding(x, LENGTHS)
                logits = net.head(emb)
                loss = nn.functional.cross_entropy(logits, labels)
                loss.backward()
                name = f"parity_{arch}_l{layers}_{'bi' if bi else 'uni'}"
                meta = {
                    "countersign.arch": arch,
                    "countersign.input_size": str(I),
                    "countersign.hidden_size": str(H),
                    "countersign.num_layers": str(layers),
                    "countersign.bidirectional": "true" if bi else "false",
                    "countersign.classes": json.dumps(CLASSES),
                    "countersign.feature_mean": json.dumps([float(v) for v in mean]),
                    "countersign.feature_std": json.dumps([float(v) for v in std]),
                    "countersign.source": "scripts/torch_reference.py",
                }
                tensors = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
                save_file(tensors, os.path.join(OUT, name + ".safetensors"), metadata=meta)
                doc = {
                    "torch_version": torch.__version__,
                    "seed": seed,
                    "inputs": [raw[b, :n].reshape(-1).tolist() for b, n in enumerate(LENGTHS)],
                    "labels": labels.tolist(),
                    "logits": logits.detach().tolist(),
                    "embeddings": emb.detach().tolist(),
                    "loss": float(loss),
                    "gradients": {k: p.grad.reshape(-1).tolist() for k, p in net.named_parameters()},
                }
                with open(os.path.join(OUT, name + ".json"), "w") as f:
                    json.dump(doc, f)
                print(name, "loss", float(loss))


if __name__ == "__main__":
    main()
