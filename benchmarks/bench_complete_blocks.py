"""Complete blocks against sampled blocks: the price of ranks that are the whole matricization's.

For each cell, the scalable route at its Start-End cut with the complete plan (a checked
basis of the rows, sampled columns and the closure certificate) against the same route
forced to the sampled block it used before (the plan's ``complete=False``), at the same
weights, interleaved in one process, one thread. Prints each rank with what it is, the CPU
seconds of both and their ratio, with the load average.

    OMP_NUM_THREADS=1 python benchmarks/bench_complete_blocks.py [--cells 3,2,3,12 2,2,3,30 ...]
"""

from __future__ import annotations

import argparse
import os
import time

import tnrnn.ranks.scalable as scalable
from tnrnn.exact.modular import DEFAULT_PRIME
from tnrnn.rac.circuits import RACSpec, RACWeights

DEFAULT_CELLS = ["3,2,3,12", "4,3,3,10", "3,2,4,12", "2,2,3,22", "2,2,3,26", "2,2,3,30", "2,2,3,34", "2,2,3,38"]


def _timed(spec: RACSpec, length: int, sampled: bool):
    weights = RACWeights.random_mod_p(spec, DEFAULT_PRIME, seed=0)
    real = scalable._complete_plan
    if sampled:
        scalable._complete_plan = lambda *args, **kwargs: None
    try:
        start = time.process_time()
        found = scalable._CutRanker(weights).rank(length, length // 2)
        return found, time.process_time() - start
    finally:
        scalable._complete_plan = real


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=DEFAULT_CELLS, help="M,R,L,T")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'default')}")
    print("M, R, L, T | sampled rank (complete?) | complete rank (complete?) | sampled CPU s | complete CPU s | ratio")
    for cell in args.cells:
        m, r, depth, length = (int(v) for v in cell.split(","))
        spec = RACSpec(m, r, depth)
        old, old_s = _timed(spec, length, sampled=True)
        new, new_s = _timed(spec, length, sampled=False)
        print(f"{m}, {r}, {depth}, {length} | {old.value} ({old.complete}) | {new.value} ({new.complete}) | "
              f"{old_s:.2f} | {new_s:.2f} | {new_s / old_s:.2f}", flush=True)


if __name__ == "__main__":
    main()
