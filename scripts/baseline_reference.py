#!/usr/bin/env python3
"""Reference figures for the model-free baseline of `audit calibrate` (issue: models that generalise,
item 4), computed with scikit-learn on the real ECG200 data in ../shared/data.

Baseline: 1-NN Euclidean on z-normalised series (each series on its own, population SD), reference =
ECG200 TRAIN, queries = ECG200 TEST; NLL from the 10 nearest neighbours' class counts, add-one
smoothed: p_c = (n_c + 1) / (k + C). Writes Tests/PipelineTests/Fixtures/baseline-ecg200.json.

Run from the repository root: python3 scripts/baseline_reference.py
"""
import json
import pathlib

import numpy as np
from sklearn.neighbors import KNeighborsClassifier

root = pathlib.Path(__file__).resolve().parent.parent
data = root.parent / "shared" / "data" / "ECG200"


def read(path):
    rows = np.loadtxt(path, delimiter="\t")
    y, x = rows[:, 0].astype(int), rows[:, 1:]
    x = (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)
    return x, y


xt, yt = read(data / "ECG200_TRAIN.tsv")
xq, yq = read(data / "ECG200_TEST.tsv")
classes = sorted(set(yt.tolist()))
one = KNeighborsClassifier(n_neighbors=1, algorithm="brute", metric="euclidean").fit(xt, yt)
accuracy = float((one.predict(xq) == yq).mean())
k = 10
ten = KNeighborsClassifier(n_neighbors=k, algorithm="brute", metric="euclidean").fit(xt, yt)
counts = ten.predict_proba(xq) * k  # columns in ten.classes_ order
probs = (counts + 1) / (k + len(classes))
col = {c: i for i, c in enumerate(ten.classes_)}
nll = float(np.mean([-np.log(probs[i, col[y]]) for i, y in enumerate(yq)]))
out = {
    "source": "scikit-learn %s KNeighborsClassifier (brute, euclidean) on ../shared/data/ECG200, z-normalised per series" % __import__("sklearn").__version__,
    "classes": [str(c) for c in classes],
    "n": int(len(yq)),
    "one_nn_accuracy": accuracy,
    "k": k,
    "smoothed_knn_nll": nll,
}
target = root / "Tests" / "PipelineTests" / "Fixtures" / "baseline-ecg200.json"
target.parent.mkdir(parents=True, exist_ok=True)
target.write_text(json.dumps(out, indent=2) + "\n")
print(json.dumps(out, indent=2))
