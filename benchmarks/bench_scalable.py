"""Issue 4 targets: certified Start-End ranks at lengths where the grid tensor cannot exist.

Measured side by side in one run on this machine:

* depth 2, M=R=3, T=64: exact rank (target < 20 s);
* depth 2, M=R=4, T=32: exact rank (target < 60 s);
* the profile over all 31 cuts of depth 2, M=R=3, T=32 (target < 60 s), plotted to
  ``figures/rank_profile.png``, and which cut has the largest rank;
* for the big cases, total time / time to rank one dense r x r random matrix mod p with
  python-flint, r the answer (target <= 5).

Wall-clock and CPU times are both printed: the machine is shared, so wall times move with
the load (printed too); CPU times count every thread (the BLAS products may use two). A tiny
warm-up call first takes the one-time imports out of the timings.

Run: ``.venv/bin/python benchmarks/bench_scalable.py [--quick]`` (``--quick``: smaller
cases, for a smoke test).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from flint import nmod_mat

from tnrnn.exact.modular import DEFAULT_PRIME
from tnrnn.rac.circuits import RACSpec
from tnrnn.ranks.cuts import plot_rank_profile, rank_profile
from tnrnn.ranks.router import generic_rank

ROOT = Path(__file__).resolve().parent.parent


def flint_rank_seconds(size: int, repeats: int = 3) -> tuple[float, float]:
    """Best-of-``repeats`` (wall, CPU) seconds of ``nmod_mat.rank()`` on a random size x size matrix mod p.

    Only the rank is timed (not building the matrix): the strictest baseline.
    """
    rng = np.random.default_rng(0)
    matrix = nmod_mat(size, size, rng.integers(0, DEFAULT_PRIME, size * size).tolist(), DEFAULT_PRIME)
    wall = cpu = float("inf")
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        rank = matrix.rank()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    assert rank == size
    return wall, cpu


def _verdict(ok: bool, target: float | None) -> str:
    return "" if target is None else (" (target: met)" if ok else " (target: MISSED)")


def single(templates: int, hidden: int, length: int, target: float | None) -> dict:
    """One exact rank; ``target`` None (smoke test): no verdicts."""
    spec = RACSpec(templates, hidden, 2)
    start_cpu = time.process_time()
    result = generic_rank(spec, length, method="scalable", draws=1, seed=0)
    cpu = time.process_time() - start_cpu  # all threads (the BLAS products use both cores)
    wall_base, cpu_base = flint_rank_seconds(result.rank)
    ratio, cpu_ratio = result.seconds / wall_base, cpu / cpu_base
    print(f"L=2 M={templates} R={hidden} T={length}: rank {result.rank} in [{result.lower}, {result.upper}] "
          f"certified={result.certified}; {result.seconds:.2f} s wall, {cpu:.2f} s CPU"
          + ("" if target is None else f"; target < {target:.0f} s") + _verdict(result.seconds < target if target
                                                                              else True, target), flush=True)
    print(f"    flint rank of one random {result.rank}x{result.rank} matrix mod p: {wall_base:.3f} s wall, "
          f"{cpu_base:.3f} s CPU;  ratio total/rank: {ratio:.2f} wall, {cpu_ratio:.2f} CPU"
          + ("" if target is None else "; target <= 5") + _verdict(ratio <= 5, target), flush=True)
    return {"rank": result.rank, "seconds": result.seconds, "cpu": cpu, "ratio": ratio, "cpu_ratio": cpu_ratio}


def profile(templates: int, hidden: int, length: int, target: float, figure: Path | None) -> None:
    spec = RACSpec(templates, hidden, 2)
    print(f"(machine load average before the profile: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    prof = rank_profile(spec, length, method="scalable", draws=1, seed=0, progress=False)
    best = prof.argmax
    certified = sum(r.certified for r in prof.results)
    print(f"profile L=2 M={templates} R={hidden} T={length}: {len(prof.cuts)} cuts in {prof.seconds:.2f} s wall "
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
    print(f"machine load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other jobs share them)")
    # one-time imports (flint, tqdm, the lazy tnrnn modules) are not part of the method's time
    generic_rank(RACSpec(2, 2, 2), 20, method="scalable", draws=1)
    if args.quick:
        single(3, 3, 24, None)
        profile(3, 3, 12, 60.0, None)
        return
    single(3, 3, 64, 20.0)
    single(4, 4, 32, 60.0)
    profile(3, 3, 32, 60.0, ROOT / "figures" / "rank_profile.png")


if __name__ == "__main__":
    main()
