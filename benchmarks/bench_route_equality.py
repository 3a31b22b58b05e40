"""Every exact route against the dense rank, on every cheap cell and every partition (the large sweep).

The test suite draws a dozen cells of this property with hypothesis; this script walks all
of them: M, R in 2..4, depth 1..4, every even T with ``M^T <= 2**14``, every contiguous cut,
the interleaved partition and one random balanced split, for the routes auto, scalable,
lifted (lifted dimension <= 2000) and tn (every size), ``--seeds`` weight draws per cell.
Prints one line per cell and a summary; exits 1 on the first disagreement.

    python benchmarks/bench_route_equality.py [--seeds 1] [--max-copies N]

``--max-copies`` limits the tensor-network route to networks of at most N input copies (it
is the slow one: depth 4 at T = 14 takes minutes a partition).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_route_equality import CHEAP_CELLS, check_every_route_equals_dense  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--max-copies", type=int, default=None)
    args = parser.parse_args()
    start, checks = time.perf_counter(), 0
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'default')}, "
          f"load {os.getloadavg()[0]:.1f}")
    for cell in CHEAP_CELLS:
        began = time.perf_counter()
        for seed in range(args.seeds):
            try:
                checks += check_every_route_equals_dense(*cell, seed, max_copies=args.max_copies)
            except AssertionError as error:
                print(f"MISMATCH at M, R, L, T = {cell}, seed {seed}: {error}")
                return 1
        print(f"M, R, L, T = {cell}: every route equals dense ({time.perf_counter() - began:.1f} s)", flush=True)
    print(f"{len(CHEAP_CELLS)} cells x {args.seeds} seeds: {checks} route x partition checks, all equal to "
          f"dense, in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
