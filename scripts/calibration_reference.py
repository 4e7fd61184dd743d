#!/usr/bin/env python3
"""Independent reference figures for the Swift `Calibration` module.

Writes `Tests/CalibrationTests/Fixtures/calibration_reference.json`: a small synthetic 5-class problem
(fixed seed; overconfident logits, imbalanced classes, one class too small for alpha = 0.1) and, computed
on it by third-party libraries:

* ECE, top-label, 15 and 10 equal-width bins            -- netcal.metrics.ECE
* temperature (minimise NLL)                             -- scipy.optimize.brentq on dNLL/dbeta = 0
  (beta = 1/T; the NLL is convex in beta, so the root is the exact minimiser to ~1e-12). netcal's
  TemperatureScaling(method="mle") is also run and recorded; its `temperature` attribute is the weight
  w = 1/T of softmax(w * log p), so the fixture stores 1/w. The Swift test checks both to 1e-4.
* isotonic one-vs-rest outputs, raw and renormalised     -- sklearn.isotonic.IsotonicRegression(out_of_bounds="clip")
* LAC sets                                               -- mapie.classification.SplitConformalClassifier (prefit identity estimator)
* APS / RAPS sets (non-randomised and randomised)        -- mapie.conformity_scores APSConformityScore / RAPSConformityScore
* class-conditional (Mondrian) LAC sets and p-values     -- crepes.ConformalClassifier (bins = true class)
* marginal p-values, non-smoothed and smoothed           -- crepes.ConformalClassifier

How randomisation is matched (Swift uses u in s = C_before(y) + u * p_y):
* MAPIE's APS calibration score is C_incl(y) - U * p_y with U = RandomState(seed).uniform(size=n); that is
  C_before + (1 - U) * p_y, so the fixture exports `u = 1 - U` for the calibration cases.
* Non-randomised APS/RAPS: MAPIE always randomises the calibration score, so the script passes a RandomState
  whose `uniform` returns zeros (U = 0, i.e. the score C_incl, Swift's u = 1) and predicts with
  include_last_label=False, which gives {y : C_incl(y) <= q} plus the top label when that is empty.
  Swift: `predictionSets` of the non-randomised score; the test adds the top label to empty sets.
* Randomised prediction (include_last_label="randomized"): MAPIE re-creates RandomState(seed) and draws
  U' of size n_test; it drops the last label when V <= U' with V = (C_last - q)/p_last, i.e. keeps it
  when C_before + (1 - U') p_last <= q. The fixture exports `u = 1 - U'` for the test cases.
* MAPIE compares with a 1e-8 tolerance (EPSILON); the script asserts that no test score lies within
  1e-7 of a threshold, so exact and tolerant comparisons give the same sets.
* RAPS: MAPIE tunes lambda and k* on an internal split; here lambda and k_reg are fixed and passed to
  MAPIE's score object directly (k_star attribute = k_reg, penalty lambda * max(0, rank - k_reg)).
* crepes smoothed p-values: np.random.seed(seed); thetas = np.random.rand(n_test, K); the same matrix is
  drawn for each per-class call, and exported.
* crepes forms sets as p >= alpha, the split-conformal rank rule as p > alpha; they coincide unless
  alpha * (n_c + 1) is an integer, which the script asserts is not the case for any class.
* netcal bins are [a, b) (last closed), Guo's are (a, b]; they agree unless a confidence equals an
  interior edge, which the script asserts does not happen.

Run: python3 scripts/calibration_reference.py   (numpy, scipy, scikit-learn, netcal, mapie, crepes)
"""
import json
import os
import sys
from importlib.metadata import version

import numpy as np
from scipy.optimize import brentq
from scipy.special import logsumexp, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression

SEED = 20261128
ALPHA = 0.1
K = 5
CAL_COUNTS = [300, 150, 60, 12, 5]   # class 4 has 5 < 1/alpha - 1 = 9 cases
TEST_COUNTS = [300, 150, 60, 20, 10]
RAPS_LAMBDA, RAPS_KREG = 0.05, 2
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "CalibrationTests", "Fixtures", "calibration_reference.json")


def make_split(rng, counts):
    labels = np.concatenate([np.full(c, k) for k, c in enumerate(counts)])
    rng.shuffle(labels)
    z = rng.normal(0.0, 1.0, size=(len(labels), K))
    z[np.arange(len(labels)), labels] += 1.6
    logits = np.round(2.3 * z + rng.normal(0, 0.3, size=z.shape), 6)   # overconfident
    return logits, labels


def guo_ece(p, y, m):
    conf = p.max(1)
    correct = p.argmax(1) == y
    idx = np.clip(np.ceil(conf * m).astype(int) - 1, 0, m - 1)
    ece = 0.0
    for b in range(m):
        sel = idx == b
        if sel.any():
            ece += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
    return ece


class IdentityClassifier(ClassifierMixin, BaseEstimator):
    """Prefit 'model' whose input X already is the probability matrix."""
    def fit(self, X, y):
        self.classes_ = np.arange(K)
        return self

    def predict_proba(self, X):
        return np.asarray(X)

    def predict(self, X):
        return np.asarray(X).argmax(1)


class ZeroUniform(np.random.RandomState):
    """RandomState whose uniform draws are all 0: MAPIE's APS calibration score becomes C_incl(y)."""
    def uniform(self, low=0.0, high=1.0, size=None):
        return np.zeros(size)


def mapie_cumulative_sets(kind, p_cal, y_cal, p_test, random_state, include_last_label):
    from mapie.conformity_scores import APSConformityScore, RAPSConformityScore
    from mapie.utils import _compute_classification_quantile
    alpha_np = np.array([ALPHA])
    sc = APSConformityScore() if kind == "aps" else RAPSConformityScore()
    sc.classes = np.arange(K)
    sc.random_state = random_state
    cal = APSConformityScore.get_conformity_scores(sc, y_cal, p_cal, y_enc=y_cal)
    if kind == "raps":
        sc.k_star = np.array([RAPS_KREG])
        sc.lambda_star = RAPS_LAMBDA
        cal = sc._regularize_conformity_score(sc.k_star, RAPS_LAMBDA, cal, sc.cutoff)
    sc.quantiles_ = _compute_classification_quantile(cal, alpha_np)
    if isinstance(random_state, int):
        sc.random_state = random_state   # prediction re-creates RandomState(seed), as MAPIE does
    pred = np.repeat(p_test[:, :, None], 1, axis=2)
    sets = sc.get_prediction_sets(pred, cal, alpha_np, cv="prefit", include_last_label=include_last_label)
    return float(np.ravel(sc.quantiles_)[0]), sets[:, :, 0].astype(bool)


def sets_to_lists(mask):
    return [[int(j) for j in np.flatnonzero(row)] for row in mask]


def main():
    rng = np.random.default_rng(SEED)
    cal_logits, cal_y = make_split(rng, CAL_COUNTS)
    test_logits, test_y = make_split(rng, TEST_COUNTS)
    p_cal = softmax(cal_logits, axis=1)
    p_test = softmax(test_logits, axis=1)
    out = {
        "description": "Reference figures from netcal/scipy/scikit-learn/MAPIE/crepes; see scripts/calibration_reference.py",
        "versions": {m: version(m) for m in ["numpy", "scipy", "scikit-learn", "netcal", "mapie", "crepes"]},
        "seed": SEED, "alpha": ALPHA,
        "cal_logits": cal_logits.tolist(), "cal_labels": cal_y.tolist(),
        "test_logits": test_logits.tolist(), "test_labels": test_y.tolist(),
        "cal_probabilities": p_cal.tolist(), "test_probabilities": p_test.tolist(),
    }

    # --- ECE (netcal) ---
    from netcal.metrics import ECE
    out["ece"] = []
    for probs, y, name in [(p_cal, cal_y, "cal"), (p_test, test_y, "test")]:
        conf = probs.max(1)
        for m in (15, 10):
            edges = np.arange(1, m) / m
            assert np.min(np.abs(conf[:, None] - edges[None, :])) > 1e-9, "confidence on a bin edge"
            val = float(ECE(bins=m).measure(probs, y))
            assert abs(val - guo_ece(probs, y, m)) < 1e-12, (val, guo_ece(probs, y, m))
            out["ece"].append({"split": name, "bins": m, "netcal": val})

    # --- temperature ---
    z, y = cal_logits, cal_y

    def dnll(beta):
        p = softmax(beta * z, axis=1)
        return float(np.mean((p * z).sum(1) - z[np.arange(len(y)), y]))

    beta = brentq(dnll, 1e-3, 1e3, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
    nll = lambda b: float(np.mean(logsumexp(b * z, axis=1) - b * z[np.arange(len(y)), y]))
    out["temperature"] = {"scipy_brentq": 1 / beta, "nll_before": nll(1.0), "nll_after": nll(beta)}
    try:
        from netcal.scaling import TemperatureScaling
        ts = TemperatureScaling(method="mle")
        ts.fit(p_cal, cal_y)
        # netcal's `temperature` property returns the multiplicative weight w of softmax(w * log p),
        # i.e. 1/T in Guo et al.'s convention softmax(z / T).
        w = float(np.ravel(ts.temperature)[0])
        out["temperature"]["netcal_mle_weight"] = w
        out["temperature"]["netcal_mle"] = 1 / w
    except Exception as exc:   # recorded, not fatal
        out["temperature"]["netcal_error"] = repr(exc)

    # --- isotonic (sklearn) ---
    raw = np.zeros_like(p_test)
    for c in range(K):
        iso = IsotonicRegression(out_of_bounds="clip").fit(p_cal[:, c], (cal_y == c).astype(float))
        raw[:, c] = iso.predict(p_test[:, c])
    sums = raw.sum(1, keepdims=True)
    norm = np.where(sums > 0, raw / np.where(sums > 0, sums, 1), 1.0 / K)
    out["isotonic"] = {"one_vs_rest": raw.tolist(), "renormalised": norm.tolist()}

    # --- LAC (MAPIE, high-level API) ---
    from mapie.classification import SplitConformalClassifier
    est = IdentityClassifier().fit(p_cal, cal_y)
    mapie = SplitConformalClassifier(estimator=est, confidence_level=1 - ALPHA, conformity_score="lac", prefit=True)
    mapie.conformalize(p_cal, cal_y)
    _, lac_sets = mapie.predict_set(p_test)
    lac_q = float(np.ravel(mapie._mapie_classifier.conformity_score_function_.quantiles_)[0])
    assert np.min(np.abs((1 - p_test) - lac_q)) > 1e-7
    conformal = {"lac": {"threshold": lac_q, "sets": sets_to_lists(lac_sets[:, :, 0])}}

    # --- APS / RAPS (MAPIE score objects) ---
    u_cal = np.random.RandomState(SEED).uniform(size=len(cal_y))
    u_test = np.random.RandomState(SEED).uniform(size=(len(test_y), 1))[:, 0]
    for kind in ("aps", "raps"):
        q0, s0 = mapie_cumulative_sets(kind, p_cal, cal_y, p_test, ZeroUniform(0), False)
        qr, sr = mapie_cumulative_sets(kind, p_cal, cal_y, p_test, SEED, "randomized")
        conformal[kind] = {
            "threshold_nonrandomized": q0, "sets_nonrandomized_nonempty": sets_to_lists(s0),
            "threshold_randomized": qr, "sets_randomized": sets_to_lists(sr),
        }
        # margin checks against the Swift-style scores
        order = np.argsort(-p_test, axis=1, kind="stable")
        ps = np.take_along_axis(p_test, order, 1)
        cum = np.cumsum(ps, 1)
        pen = np.zeros_like(cum)
        if kind == "raps":
            pen = RAPS_LAMBDA * np.maximum(0, np.arange(1, K + 1)[None, :] - RAPS_KREG)
        incl = cum + pen
        rand = (cum - ps) + (1 - u_test)[:, None] * ps + pen
        assert np.min(np.abs(incl - q0)) > 1e-7 and np.min(np.abs(rand - qr)) > 1e-7, kind
    conformal["raps"]["lambda"] = RAPS_LAMBDA
    conformal["raps"]["k_reg"] = RAPS_KREG
    out["conformal"] = conformal
    out["u_cal"] = (1 - u_cal).tolist()
    out["u_test"] = (1 - u_test).tolist()

    # --- crepes: Mondrian (class-conditional) LAC, marginal p-values ---
    from crepes import ConformalClassifier
    a_cal = 1 - p_cal[np.arange(len(cal_y)), cal_y]
    a_test = 1 - p_test
    for c in range(K):
        assert abs(ALPHA * (CAL_COUNTS[c] + 1) - round(ALPHA * (CAL_COUNTS[c] + 1))) > 1e-6
    mond = ConformalClassifier().fit(a_cal, bins=cal_y)
    pv = np.column_stack([mond.predict_p(a_test, np.full(len(test_y), c), smoothing=False)[:, c] for c in range(K)])
    np.random.seed(SEED + 1)
    thetas = np.random.rand(len(test_y), K)
    pvs = np.column_stack([mond.predict_p(a_test, np.full(len(test_y), c), smoothing=True, seed=SEED + 1)[:, c]
                           for c in range(K)])
    sets = np.column_stack([mond.predict_set(a_test, np.full(len(test_y), c), confidence=1 - ALPHA,
                                             smoothing=False)[:, c] for c in range(K)])
    marg = ConformalClassifier().fit(a_cal)
    out["crepes"] = {
        "mondrian_pvalues": pv.tolist(), "mondrian_pvalues_smoothed": pvs.tolist(), "thetas": thetas.tolist(),
        "mondrian_sets": sets_to_lists(sets),
        "marginal_pvalues": marg.predict_p(a_test, smoothing=False).tolist(),
        "marginal_sets": sets_to_lists(marg.predict_set(a_test, confidence=1 - ALPHA, smoothing=False)),
    }

    with open(OUT, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)", file=sys.stderr)
    print(json.dumps({"ece": out["ece"], "temperature": out["temperature"],
                      "thresholds": {k: {kk: v for kk, v in d.items() if "threshold" in kk} for k, d in conformal.items()}},
                     indent=1), file=sys.stderr)


if __name__ == "__main__":
    main()
