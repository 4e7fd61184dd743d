#!/usr/bin/env python3
"""PyTorch reference for the convolution branch of LSTM-FCN (Recurrent.ConvolutionBranch).

    blocks i = 1..3: Conv1d(C_{i-1}, F_i, K_i, padding="same") -> BatchNorm1d(F_i) -> ReLU
    then global average pooling over time

Small filters (5, 7, 4; kernels 8, 5, 3 as published) keep the fixture small; the Swift code is the
same for 128/256/128. Writes Tests/RecurrentTests/Fixtures/fcn_branch.json holding the parameters
(PyTorch names), running statistics, a batch of equal-length inputs, and:
  - eval-mode pooled features (running statistics),
  - train-mode pooled features, the running statistics after that one train-mode pass, and the
    gradient of L = sum(r * pooled) for a fixed r with respect to every parameter,
  - eval-mode pooled features of sequences of different lengths, each run alone (a padded batch is
    not what a variable-length batch means).
It also writes Tests/RecurrentTests/Fixtures/lstm_fcn.json for the whole LSTM-FCN network
(Recurrent.LSTMFCNNetwork):

    rnn  = nn.LSTM(T, H, batch_first=True) over the dimension-shuffled input ([B, M, T]: M steps of T values)
    fcn  = the branch above over the input as it is
    head = nn.Linear(H + F, C) on [h_n, pooled]

with eval-mode logits, and the train-mode cross-entropy (class weights) and its gradient.
Run: python3 scripts/fcn_reference.py
"""
import json
import os

import torch
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "RecurrentTests", "Fixtures", "fcn_branch.json")
C, FILTERS, KERNELS, T, B = 2, [5, 7, 4], [8, 5, 3], 12, 3


class Branch(nn.Module):
    def __init__(s):
        super().__init__()
        chans = [C] + FILTERS
        for i, (f, k) in enumerate(zip(FILTERS, KERNELS), 1):
            setattr(s, f"conv{i}", nn.Conv1d(chans[i - 1], f, k, padding="same"))
            setattr(s, f"bn{i}", nn.BatchNorm1d(f))

    def forward(s, x):  # x: [B, T, C] time-major like Countersign
        h = x.transpose(1, 2)
        for i in range(1, len(FILTERS) + 1):
            h = torch.relu(getattr(s, f"bn{i}")(getattr(s, f"conv{i}")(h)))
        return h.mean(dim=2)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1)]


def main():
    torch.manual_seed(2025)
    net = Branch().double()
    # Non-trivial BN affine parameters and running statistics.
    with torch.no_grad():
        for i in range(1, len(FILTERS) + 1):
            bn = getattr(net, f"bn{i}")
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.3, 0.3)
            bn.running_mean.uniform_(-0.2, 0.2)
            bn.running_var.uniform_(0.5, 1.5)
    x = torch.randn(B, T, C, dtype=torch.double)
    r = torch.randn(B, FILTERS[-1], dtype=torch.double)
    params = {name: flat(p) for name, p in net.named_parameters()}
    shapes = {name: list(p.shape) for name, p in net.named_parameters()}
    running = {name: flat(b) for name, b in net.named_buffers() if "running" in name}

    net.eval()
    with torch.no_grad():
        pooled_eval = net(x)
    lengths = [12, 7, 3]
    variable = [torch.randn(n, C, dtype=torch.double) for n in lengths]
    with torch.no_grad():
        pooled_variable = [flat(net(v.unsqueeze(0))[0]) for v in variable]

    net.train()
    pooled_train = net(x)
    loss = (r * pooled_train).sum()
    loss.backward()
    grads = {name: flat(p.grad) for name, p in net.named_parameters()}
    running_after = {name: flat(b) for name, b in net.named_buffers() if "running" in name}

    doc = {
        "source": f"torch {torch.__version__}, float64",
        "channels": C, "filters": FILTERS, "kernels": KERNELS,
        "parameters": params, "shapes": shapes, "running": running,
        "input": [flat(s) for s in x], "r": [flat(v) for v in r],
        "pooled_eval": [flat(v) for v in pooled_eval],
        "pooled_train": [flat(v) for v in pooled_train],
        "gradients": grads, "running_after_train": running_after,
        "variable_inputs": [flat(v) for v in variable], "pooled_variable": pooled_variable,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
    print("wrote", OUT, f"({os.path.getsize(OUT)} bytes)")


class LSTMFCN(nn.Module):
    def __init__(s, T, H, C):
        super().__init__()
        s.rnn = nn.LSTM(T, H, batch_first=True)
        s.fcn = Branch()
        s.head = nn.Linear(H + FILTERS[-1], C)

    def forward(s, x):  # [B, T, M]
        _, (h, _) = s.rnn(x.transpose(1, 2))
        return s.head(torch.cat([h[-1], s.fcn(x)], dim=1))


def network():
    H, K = 3, 3
    torch.manual_seed(2026)
    net = LSTMFCN(T, H, K).double()
    with torch.no_grad():
        for i in range(1, len(FILTERS) + 1):
            bn = getattr(net.fcn, f"bn{i}")
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.3, 0.3)
            bn.running_mean.uniform_(-0.2, 0.2)
            bn.running_var.uniform_(0.5, 1.5)
    x = torch.randn(4, T, C, dtype=torch.double)
    labels = torch.tensor([0, 2, 1, 2])
    weights = torch.tensor([1.0, 0.5, 2.0], dtype=torch.double)
    params = {name: flat(p) for name, p in net.named_parameters()}
    shapes = {name: list(p.shape) for name, p in net.named_parameters()}
    running = {name: flat(b) for name, b in net.named_buffers() if "running" in name}
    net.eval()
    with torch.no_grad():
        logits_eval = net(x)
    # The model file holds the state before the train-mode pass moves the running statistics.
    state = {k: v.detach().float().clone().contiguous() for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    net.train()
    logits_train = net(x)
    loss = nn.functional.cross_entropy(logits_train, labels, weight=weights)
    loss.backward()
    doc = {
        "source": f"torch {torch.__version__}, float64",
        "channels": C, "length": T, "hidden": H, "classes": K, "filters": FILTERS, "kernels": KERNELS,
        "parameters": params, "shapes": shapes, "running": running,
        "input": [flat(v) for v in x], "labels": labels.tolist(), "class_weights": flat(weights),
        "logits_eval": [flat(v) for v in logits_eval], "logits_train": [flat(v) for v in logits_train],
        "loss_train": float(loss), "gradients": {name: flat(p.grad) for name, p in net.named_parameters()},
    }
    # The same network as a Countersign model file: PyTorch's state_dict (float32, without
    # num_batches_tracked) and the countersign.* metadata; identity normalisation.
    from safetensors.torch import save_file
    meta = {
        "countersign.arch": "lstm-fcn", "countersign.input_size": str(C), "countersign.sequence_length": str(T),
        "countersign.hidden_size": str(H), "countersign.num_layers": "1", "countersign.bidirectional": "false",
        "countersign.classes": json.dumps(["a", "b", "c"]), "countersign.fcn_filters": json.dumps(FILTERS),
        "countersign.fcn_kernels": json.dumps(KERNELS), "countersign.feature_mean": json.dumps([0.0] * C),
        "countersign.feature_std": json.dumps([1.0] * C),
    }
    save_file(state, OUT.replace("fcn_branch.json", "lstm_fcn.safetensors"), metadata=meta)
    out = OUT.replace("fcn_branch.json", "lstm_fcn.json")
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
    print("wrote", out, f"({os.path.getsize(out)} bytes)")


if __name__ == "__main__":
    main()
    network()
