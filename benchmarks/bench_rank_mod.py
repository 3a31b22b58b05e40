"""Issue 15 target 1: the exact rank mod p on float64 BLAS against python-flint, side by side.

For n x n matrices (default n = 4000) mod the default prime 8388593 (below 2**23): a
random matrix, a low-rank one (rank 3n/4) and a structured one (a Hankel matrix of a
random sequence with its last quarter of rows repeating the first), each ranked

* by ``tnrnn.exact.modular.rank_mod`` (the BLAS route, numpy buffer in, nothing converted), and
* by python-flint, counting the conversion numpy -> list -> ``fmpz_mat`` -> ``nmod_mat``
  (what the engine had to do) and, separately, ``nmod_mat.rank()`` alone.

The ranks must be identical; the ratio flint / BLAS is printed for both flint timings
(target: >= 5 including the conversion). Wall and CPU seconds; the machine is shared, so the
load average is printed too. torch on CPU (and CUDA when present) is timed on the random
matrix as well.

Run: ``.venv/bin/python benchmarks/bench_rank_mod.py [-n 4000]``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from tnrnn.exact.modular import DEFAULT_PRIME, rank_mod, to_nmod_mat


def _timed(fn):
    start, start_cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - start, time.process_time() - start_cpu


def matrices(n: int, p: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    r = 3 * n // 4
    low = (rng.integers(0, p, size=(n, r)).astype(np.float64) @ rng.integers(0, 2, size=(r, n))) % p
    sequence = rng.integers(0, p, size=2 * n)
    hankel = sequence[np.add.outer(np.arange(n), np.arange(n))]
    hankel[3 * n // 4:] = hankel[: n - 3 * n // 4]
    return {"random": rng.integers(0, p, size=(n, n)), "low-rank": low.astype(np.int64),
            "structured": hankel.astype(np.int64)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=4000)
    args = parser.parse_args()
    p = DEFAULT_PRIME
    print(f"machine load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; n={args.n}, p={p}")
    rank_mod(np.eye(64, dtype=np.int64), p)  # imports out of the timings
    rank_mod(np.eye(64, dtype=np.int64), p, method="flint")
    header = (f"{'matrix':>10} {'rank':>6} | {'BLAS s':>7} {'CPU':>6} | {'convert s':>9} {'flint rank s':>12} "
              f"| {'flint total / BLAS':>18} {'flint rank / BLAS':>17}")
    print(header)
    print("-" * len(header))
    worst = float("inf")
    for name, matrix in matrices(args.n, p).items():
        blas, blas_s, blas_cpu = _timed(lambda m=matrix: rank_mod(m, p))
        converted, conv_s, conv_cpu = _timed(lambda m=matrix: to_nmod_mat(np.mod(m, p), p))
        flint, flint_s, flint_cpu = _timed(converted.rank)
        assert blas == int(flint), f"{name}: BLAS rank {blas} != flint rank {flint}"
        ratio = (conv_s + flint_s) / blas_s
        worst = min(worst, ratio)
        print(f"{name:>10} {blas:>6} | {blas_s:>7.2f} {blas_cpu:>6.2f} | {conv_s:>9.2f} {flint_s:>12.2f} "
              f"| {ratio:>18.1f} {flint_s / blas_s:>17.1f}   CPU: flint total {conv_cpu + flint_cpu:.2f} s, "
              f"ratio {(conv_cpu + flint_cpu) / blas_cpu:.1f}", flush=True)
    print(f"identical ranks on all three; smallest ratio flint (with conversion) / BLAS: {worst:.1f} "
          f"(target >= 5: {'met' if worst >= 5 else 'MISSED'})")
    try:
        import torch
    except ImportError:
        return
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    matrix = matrices(args.n, p)["random"]
    for device in devices:
        tensor = torch.as_tensor(matrix, dtype=torch.float64, device=device)
        rank_mod(tensor[:64, :64], p)  # warm-up
        value, seconds, _ = _timed(lambda t=tensor: rank_mod(t, p))
        print(f"torch {device}: rank {value} in {seconds:.2f} s wall")


if __name__ == "__main__":
    main()
