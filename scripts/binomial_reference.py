"""Writes Tests/CalibrationTests/Fixtures/clopper-pearson.json: exact (Clopper-Pearson) binomial
intervals from SciPy (`scipy.stats.binomtest(...).proportion_ci(method="exact")`) and one-sided upper
bounds, the reference for Calibration.BinomialInterval (the coverage intervals of `audit monitor`
and the catch-trial bound of `review stats`). Run from the repository root: python3 scripts/binomial_reference.py
"""
import json
import pathlib

import scipy
from scipy import stats

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "CalibrationTests" / "Fixtures" / "clopper-pearson.json"

cases = []
for n, k, level in [(1, 0, 0.95), (1, 1, 0.95), (10, 0, 0.95), (10, 3, 0.95), (10, 10, 0.95), (25, 24, 0.9),
                    (50, 45, 0.95), (100, 90, 0.95), (100, 99, 0.99), (250, 200, 0.95), (1000, 903, 0.95), (37, 1, 0.8)]:
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    one = stats.binomtest(k, n, alternative="less").proportion_ci(confidence_level=level, method="exact")
    cases.append({"successes": k, "trials": n, "level": level, "lower": float(ci.low), "upper": float(ci.high),
                  "upper_one_sided": float(one.high)})
OUT.parent.mkdir(parents=True, exist_ok=True)
OUT.write_text(json.dumps({"generator": "scripts/binomial_reference.py", "scipy": scipy.__version__, "cases": cases}, indent=1) + "\n")
print(f"wrote {OUT.relative_to(ROOT)}: {len(cases)} intervals (scipy {scipy.__version__})")
