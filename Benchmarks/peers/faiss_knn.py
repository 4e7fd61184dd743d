#!/usr/bin/env python3
"""Peer benchmark for `audit-bench retrieval`: exact k-nearest search with faiss and numpy.

Same data as the Swift benchmark, bit for bit: element i of a matrix generated with seed s is
SplitMix64's i-th output (counter form: mix(s + (i + 1) * 0x9E3779B97F4A7C15)), whose top 24 bits
become a Float32 uniform in [-1, 1): ((z >> 40) * 2**-24) * 2 - 1. The reference matrix uses
`--seed`, the queries `--seed + 1`. Both sides run on the same thread count (`--threads`).

Prints one JSON document: per library and metric, ms per batch and queries per second, plus the
indices of the first query's neighbours so the Swift run can be checked against it.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)


def splitmix_uniform(seed: int, count: int, chunk: int = 1 << 22) -> np.ndarray:
    """Float32 uniforms in [-1, 1): the i-th is derived from SplitMix64's i-th output."""
    out = np.empty(count, dtype=np.float32)
    with np.errstate(over="ignore"):
        for start in range(0, count, chunk):
            n = min(chunk, count - start)
            i = np.arange(start + 1, start + n + 1, dtype=np.uint64)
            z = np.uint64(seed) + i * GOLDEN
            z = (z ^ (z >> np.uint64(30))) * M1
            z = (z ^ (z >> np.uint64(27))) * M2
            z = z ^ (z >> np.uint64(31))
            u = (z >> np.uint64(40)).astype(np.float32) * np.float32(2.0 ** -24)
            out[start:start + n] = u * np.float32(2) - np.float32(1)
    return out


def best_of(fn, repeats):
    times = []
    result = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--queries", type=int, default=100)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--no-numpy", action="store_true", help="skip the numpy baseline")
    a = p.parse_args()

    import faiss
    faiss.omp_set_num_threads(a.threads)

    x = splitmix_uniform(a.seed, a.rows * a.dim).reshape(a.rows, a.dim)
    q = splitmix_uniform(a.seed + 1, a.queries * a.dim).reshape(a.queries, a.dim)
    result = {"rows": a.rows, "dim": a.dim, "queries": a.queries, "k": a.k, "seed": a.seed,
              "threads": a.threads, "faiss_version": faiss.__version__, "numpy_version": np.__version__}

    # faiss, Euclidean.
    l2 = faiss.IndexFlatL2(a.dim)
    l2.add(x)
    t, (d, i) = best_of(lambda: l2.search(q, a.k), a.repeats)
    result["faiss_l2"] = {"ms_per_batch": t * 1e3, "queries_per_s": a.queries / t,
                          "first_query_ids": i[0].tolist(), "first_query_sq_distances": d[0].tolist()}
    del l2

    # faiss, cosine = inner product on unit rows (normalising is part of index construction).
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    ip = faiss.IndexFlatIP(a.dim)
    ip.add(xn)
    del xn
    t, (s, i) = best_of(lambda: ip.search(qn, a.k), a.repeats)
    result["faiss_ip"] = {"ms_per_batch": t * 1e3, "queries_per_s": a.queries / t,
                          "first_query_ids": i[0].tolist(), "first_query_cosines": s[0].tolist()}
    del ip

    if not a.no_numpy:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", str(a.threads))
        x_sq = (x * x).sum(axis=1)

        def numpy_l2():
            # ‖x‖² − 2 q·x (the query's own norm does not change its ranking).
            scores = x_sq[None, :] - 2.0 * (q @ x.T)
            part = np.argpartition(scores, a.k, axis=1)[:, :a.k]
            rows = np.take_along_axis(scores, part, axis=1)
            order = np.argsort(rows, axis=1, kind="stable")
            return np.take_along_axis(part, order, axis=1)

        t, i = best_of(numpy_l2, max(1, a.repeats // 2))
        result["numpy_l2"] = {"ms_per_batch": t * 1e3, "queries_per_s": a.queries / t,
                              "first_query_ids": i[0].tolist()}

    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
