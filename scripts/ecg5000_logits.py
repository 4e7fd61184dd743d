#!/usr/bin/env python3
"""Logits of an honest stand-in model on ECG5000, for the Swift conformal validity test.

The recurrent model is not ready yet, so this trains a multinomial logistic regression (scikit-learn,
standardised inputs, C = 0.5) on the UCR TRAIN split (500 beats) only, and writes its logits on the
TEST split (4500 beats, never seen in training) to
`Tests/CalibrationTests/Fixtures/ecg5000_test_logits.json`, rounded to 4 decimals. Labels are the UCR
classes 1..5 mapped to 0..4. The validity test re-splits these 4500 cases into calibration and test
halves, so calibration is always disjoint from training.

Run: python3 scripts/ecg5000_logits.py [path to ECG5000 folder]   (default ../shared/data/ECG5000)
"""
import hashlib
import json
import os
import sys
from importlib.metadata import version

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "shared", "data", "ECG5000")
OUT = os.path.join(HERE, "..", "Tests", "CalibrationTests", "Fixtures", "ecg5000_test_logits.json")


def load(name):
    path = os.path.join(DATA, f"ECG5000_{name}.tsv")
    d = np.loadtxt(path, delimiter="\t")
    return d[:, 1:], d[:, 0].astype(int) - 1, hashlib.sha256(open(path, "rb").read()).hexdigest()


def main():
    x_train, y_train, h_train = load("TRAIN")
    x_test, y_test, h_test = load("TEST")
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=5000))
    model.fit(x_train, y_train)
    logits = np.round(model.decision_function(x_test), 4)
    acc = float((logits.argmax(1) == y_test).mean())
    out = {
        "description": "Multinomial logistic regression (sklearn, StandardScaler, C=0.5) trained on ECG5000 TRAIN; "
                       "logits on TEST, 4 decimals; labels = UCR class - 1. See scripts/ecg5000_logits.py.",
        "model": "sklearn LogisticRegression C=0.5 on standardised ECG5000 TRAIN",
        "versions": {m: version(m) for m in ["numpy", "scikit-learn"]},
        "train_sha256": h_train, "test_sha256": h_test,
        "test_accuracy": acc,
        "class_counts": np.bincount(y_test, minlength=5).tolist(),
        "labels": y_test.tolist(),
        "logits": logits.tolist(),
    }
    with open(OUT, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes); test accuracy {acc:.4f}; "
          f"class counts {out['class_counts']}", file=sys.stderr)


if __name__ == "__main__":
    main()
