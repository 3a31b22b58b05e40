"""Issue 4 targets: certified Start-End ranks at lengths where the grid tensor cannot exist.

Measured side by side in one run on this machine:

* depth 2, M=R=3, T=64: exact rank (target < 20 s);
* depth 2, M=R=4, T=32: exact rank (target < 60 s);
* the profile over all 31 cuts of depth 2, M=R=3, T=32 (target < 60 s), plotted to
  ``figures/rank_profile.png``, and which cut has the largest rank;
* for the big cases, total time / time to rank one dense r x r random matrix mod p with
  python-flint, r the answer (target <= 5).

Run: ``.venv/bin/python benchmarks/bench_scalable.py [--quick]`` (``--quick``: smaller
cases, for a smoke test).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from flint import nmod_mat

from tnrnn.circuits import RACSpec
from tnrnn.modular import DEFAULT_PRIME
from tnrnn.rank import generic_rank
from tnrnn.scalable import plot_rank_profile, rank_profile

ROOT = Path(__file__).resolve().parent.parent


def flint_rank_seconds(size: int, repeats: int = 3) -> float:
    """Best-of-``repeats`` time of ``nmod_mat.rank()`` on a random size x size matrix mod p."""
    rng = np.random.default_rng(0)
    matrix = nmod_mat(size, size, rng.integers(0, DEFAULT_PRIME, size * size).tolist(), DEFAULT_PRIME)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        rank = matrix.rank()
        best = min(best, time.perf_counter() - start)
    assert rank == size
    return best


def single(templates: int, hidden: int, length: int, target: float) -> dict:
    spec = RACSpec(templates, hidden, 2)
    result = generic_rank(spec, length, method="scalable", draws=1, seed=0)
    baseline = flint_rank_seconds(result.rank)
    row = {"case": f"L=2 M={templates} R={hidden} T={length}", "rank": result.rank,
           "interval": f"[{result.lower}, {result.upper}]", "certified": result.certified,
           "seconds": result.seconds, "target": target, "flint_rank_seconds": baseline,
           "ratio": result.seconds / baseline}
    print(f"{row['case']:<22} rank {row['rank']:>5} {row['interval']:>14} certified={row['certified']!s:<5} "
          f"{row['seconds']:7.2f} s (target < {target:.0f} s: {'met' if row['seconds'] < target else 'MISSED'})"
          f"  flint rank of a random {result.rank}x{result.rank}: {baseline:.3f} s  "
          f"ratio {row['ratio']:.2f} (target <= 5: {'met' if row['ratio'] <= 5 else 'MISSED'})", flush=True)
    return row


def profile(templates: int, hidden: int, length: int, target: float, figure: Path | None) -> None:
    spec = RACSpec(templates, hidden, 2)
    prof = rank_profile(spec, length, method="scalable", draws=1, seed=0, progress=False)
    best = prof.argmax
    certified = sum(r.certified for r in prof.results)
    print(f"profile L=2 M={templates} R={hidden} T={length}: {len(prof.cuts)} cuts in {prof.seconds:.2f} s "
          f"(target < {target:.0f} s: {'met' if prof.seconds < target else 'MISSED'}); "
          f"{certified}/{len(prof.cuts)} certified; largest rank {max(prof.ranks)} at cut k={best} "
          f"(Start-End cut k={length // 2}: rank {prof.ranks[prof.cuts.index(length // 2)]})", flush=True)
    print("  cuts : " + " ".join(f"{k:>4}" for k in prof.cuts))
    print("  ranks: " + " ".join(f"{r:>4}" for r in prof.ranks))
    print("  upper: " + " ".join(f"{r.upper:>4}" for r in prof.results))
    if figure is not None:
        plot_rank_profile(prof, figure)
        print(f"  plot written to {figure.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small cases only (smoke test)")
    args = parser.parse_args()
    if args.quick:
        single(3, 3, 24, 20.0)
        profile(3, 3, 12, 60.0, None)
        return
    single(3, 3, 64, 20.0)
    single(4, 4, 32, 60.0)
    profile(3, 3, 32, 60.0, ROOT / "figures" / "rank_profile.png")


if __name__ == "__main__":
    main()
