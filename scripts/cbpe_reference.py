#!/usr/bin/env python3
"""Independent reference figures for label-free accuracy estimation (CBPE) in the Swift `Monitoring` module.

Writes `Tests/CalibrationTests/Fixtures/cbpe-nannyml.json`: a small synthetic binary problem with well
calibrated probabilities, and what NannyML's confidence-based performance estimation (CBPE) estimates for it,
so the Swift estimator can be checked against a third-party implementation without either side needing labels.

Data (numpy.random.default_rng(SEED)):
* reference: 2000 rows, p ~ Beta(0.7, 0.7), y_true ~ Bernoulli(p), y_pred = (p >= 0.5)
* analysis: 6 chunks of 250 rows; chunks 1-3 as the reference, chunks 4-6 p ~ Beta(2, 2) (confidences pulled
  towards 0.5, so accuracy drops), still calibrated: y_true ~ Bernoulli(p).
p is rounded to 6 decimals first and the rounded values are what y_true is drawn from, what y_pred is taken
from and what NannyML sees; the fixture holds exactly those values.

NannyML run: CBPE(y_pred_proba='p', y_pred='y_pred', y_true='y_true', problem_type='classification_binary',
metrics=['accuracy'], chunk_size=250), fit on the reference, estimate on the analysis set. Per chunk the
fixture keeps the estimated accuracy, its sampling error, the confidence band (value +- 3 * sampling error,
clipped to [0, 1]) and the realized accuracy (computed here from y_true / y_pred). Whether NannyML fitted
its isotonic calibrator (CBPE.needs_calibration) is recorded; when it did, the calibrated probabilities it
used for each analysis row are recorded too. Because that choice is chance for calibrated data, CBPE is also
run with calibration switched off (calibrator=NoopCalibrator()): `nannyml_no_calibration` per chunk, which
is what the Swift mean-confidence estimator must match to ~1e-12.

Run from the repository root: `python3 scripts/cbpe_reference.py` (needs `pip install nannyml statsmodels`:
nannyml 0.13.1 imports statsmodels but does not declare it).
NannyML's usage telemetry is switched off (NML_DISABLE_USAGE_LOGGING) before it is imported.
"""

import json
import os
import sys
from pathlib import Path

os.environ["NML_DISABLE_USAGE_LOGGING"] = "1"

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import nannyml as nml  # noqa: E402
from nannyml.calibration import NoopCalibrator  # noqa: E402

SEED = 20250611
REFERENCE_ROWS = 2000
CHUNK_SIZE = 250
CHUNK_BETAS = [(0.7, 0.7)] * 3 + [(2.0, 2.0)] * 3
REFERENCE_BETA = (0.7, 0.7)
DECIMALS = 6

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "CalibrationTests" / "Fixtures" / "cbpe-nannyml.json"


def draw(rng, n, a, b):
    p = np.round(rng.beta(a, b, size=n), DECIMALS)
    y_true = (rng.random(n) < p).astype(int)
    y_pred = (p >= 0.5).astype(int)
    return p, y_true, y_pred


def plain_estimate(p):
    """Mean confidence of the predicted class: what the Swift side computes."""
    return float(np.mean(np.maximum(p, 1.0 - p)))


def dumps(obj, indent=0):
    """JSON with nested objects indented and lists of scalars kept on one line (keeps the file small)."""
    pad = "  " * indent
    if isinstance(obj, dict):
        items = [f'{pad}  {json.dumps(k)}: {dumps(v, indent + 1)}' for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(v, (dict, list)) for v in obj):
        items = [f"{pad}  {dumps(v, indent + 1)}" for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj, allow_nan=False, separators=(",", ":"))


def main():
    rng = np.random.default_rng(SEED)
    ref_p, ref_y, ref_pred = draw(rng, REFERENCE_ROWS, *REFERENCE_BETA)
    chunks = [draw(rng, CHUNK_SIZE, a, b) for a, b in CHUNK_BETAS]

    reference = pd.DataFrame({"p": ref_p, "y_pred": ref_pred, "y_true": ref_y})
    analysis = pd.DataFrame(
        {
            "p": np.concatenate([c[0] for c in chunks]),
            "y_pred": np.concatenate([c[2] for c in chunks]),
            "y_true": np.concatenate([c[1] for c in chunks]),
        }
    )

    def run_cbpe(**kwargs):
        estimator = nml.CBPE(
            y_pred_proba="p",
            y_pred="y_pred",
            y_true="y_true",
            problem_type="classification_binary",
            metrics=["accuracy"],
            chunk_size=CHUNK_SIZE,
            **kwargs,
        )
        estimator.fit(reference.copy())
        # y_true is left out of the analysis frame: the estimate must not depend on labels.
        result = estimator.estimate(analysis.drop(columns=["y_true"]))
        frame = result.filter(period="analysis").to_df()
        assert len(frame) == len(chunks), f"expected {len(chunks)} analysis chunks, got {len(frame)}"
        for i in range(len(chunks)):
            start, end = int(frame["chunk"]["start_index"].iloc[i]), int(frame["chunk"]["end_index"].iloc[i])
            assert (start, end) == (i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE - 1), (start, end)
        return estimator, frame["accuracy"]

    def record(acc, i):
        row = acc.iloc[i]
        return {
            "estimated_accuracy": float(row["value"]),
            "sampling_error": float(row["sampling_error"]),
            "lower": float(row["lower_confidence_boundary"]),
            "upper": float(row["upper_confidence_boundary"]),
        }

    # 1. NannyML as it runs by default: it decides itself whether to fit an isotonic calibrator.
    estimator, acc = run_cbpe()
    calibrated = bool(estimator.needs_calibration)
    # 2. The same with calibration switched off (a NoopCalibrator never lowers the ECE, so
    #    needs_calibration is False and the probabilities pass through unchanged).
    estimator_nc, acc_nc = run_cbpe(calibrator=NoopCalibrator())
    assert not estimator_nc.needs_calibration

    out_chunks = []
    max_diff = max_diff_nc = 0.0
    for i, (p, y_true, y_pred) in enumerate(chunks):
        entry = {
            "beta": list(CHUNK_BETAS[i]),
            "p": [float(v) for v in p],
            "y_pred": [int(v) for v in y_pred],
            "y_true": [int(v) for v in y_true],
            "nannyml": record(acc, i),
            "nannyml_no_calibration": record(acc_nc, i),
            "realized_accuracy": float(np.mean(y_true == y_pred)),
            "plain_estimate": plain_estimate(p),
        }
        if calibrated:
            q = np.asarray(estimator.calibrator.calibrate(p), dtype=float)
            entry["p_calibrated"] = [float(v) for v in q]
            est_q = float(np.mean(np.where(y_pred == 1, q, 1.0 - q)))
            assert abs(est_q - entry["nannyml"]["estimated_accuracy"]) < 1e-12, (i, est_q)
        max_diff = max(max_diff, abs(entry["plain_estimate"] - entry["nannyml"]["estimated_accuracy"]))
        max_diff_nc = max(
            max_diff_nc, abs(entry["plain_estimate"] - entry["nannyml_no_calibration"]["estimated_accuracy"])
        )
        out_chunks.append(entry)

    correct = (ref_y == ref_pred).astype(int)
    if calibrated:
        notes = (
            "Default run (chunks[].nannyml): NannyML's needs_calibration returned True for this reference set "
            "(it compares the ECE, 10 equal-count bins, of raw vs isotonic-calibrated probabilities over 10 "
            "stratified 90/10 splits of the reference; for well calibrated data this is chance: about 2 seeds in 3 "
            "give True), so it fitted sklearn IsotonicRegression(out_of_bounds='clip', increasing=True) on all "
            "reference p / y_true and estimated from the calibrated probabilities, chunks[].p_calibrated "
            "(sklearn's predict interpolates linearly between the fitted points): estimated_accuracy = "
            "mean(where(y_pred == 1, p_calibrated, 1 - p_calibrated)). "
        )
    else:
        notes = (
            "Default run (chunks[].nannyml): NannyML's needs_calibration returned False, so the probabilities "
            "were passed through unchanged. "
        )
    notes += (
        "chunks[].nannyml_no_calibration: the same CBPE run with calibrator=NoopCalibrator(), so the probabilities "
        "were passed through unchanged: estimated_accuracy = mean(where(y_pred == 1, p, 1 - p)) = "
        "mean(max(p, 1 - p)) = plain_estimate (max_abs_diff_plain_vs_nannyml_no_calibration). "
        "In both runs sampling_error = std(reference correctness, ddof=0) / sqrt(chunk rows), the std being "
        "reference.correct_std (it uses y_true/y_pred of the reference only, not the probabilities); "
        "lower/upper = estimated_accuracy -/+ 3 * sampling_error clipped to [0, 1]. "
        "realized_accuracy is computed by this script from y_true/y_pred (y_true was not given to estimate()). "
        "p values are rounded to 6 decimals and are exactly what nannyml received; y_true ~ Bernoulli(rounded p), "
        "y_pred = (p >= 0.5). RNG: numpy.random.default_rng(seed); reference then chunks 1-6, each as "
        "beta draws then uniforms for y_true."
    )

    fixture = {
        "generator": "scripts/cbpe_reference.py",
        "seed": SEED,
        "versions": {
            "nannyml": nml.__version__,
            "pandas": pd.__version__,
            "numpy": np.__version__,
            "python": sys.version.split()[0],
        },
        "nannyml_calibrated": calibrated,
        "chunk_size": CHUNK_SIZE,
        "sampling_error_multiplier": 3,
        "notes": notes,
        "reference": {
            "beta": list(REFERENCE_BETA),
            "p": [float(v) for v in ref_p],
            "y_true": [int(v) for v in ref_y],
            "realized_accuracy": float(correct.mean()),
            "correct_std": float(np.std(correct)),
        },
        "chunks": out_chunks,
        "max_abs_diff_plain_vs_nannyml": max_diff,
        "max_abs_diff_plain_vs_nannyml_no_calibration": max_diff_nc,
    }

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(dumps(fixture) + "\n")
    size_kb = OUT.stat().st_size / 1024
    summary = ", ".join(
        f"{c['nannyml']['estimated_accuracy']:.4f}/{c['realized_accuracy']:.3f}" for c in out_chunks
    )
    print(
        f"wrote {OUT.relative_to(ROOT)} ({size_kb:.1f} KB): nannyml {nml.__version__}, calibrated={calibrated}, "
        f"estimated/realized per chunk [{summary}], max |plain - nannyml| = {max_diff:.3g} "
        f"(uncalibrated run: {max_diff_nc:.3g})"
    )


if __name__ == "__main__":
    main()
