"""Contraction engine benchmark: dense grid tensors and contraction-path costs.

(a) The dense grid tensor of a depth-2 RAC (M=2, R=3, T=22, 2^22 entries): the engine's
    dense route (:func:`tnrnn.tn.contract.dense_grid`, the chunked prefix tree, numpy) against
    a straightforward batched torch forward pass over all M^T sequences in float64 (what a
    user would write by hand), measured side by side. Peak memory of the engine is
    measured with ``tracemalloc`` (numpy registers its buffers there) and compared with the
    size of the output array.
(b) Path cost (opt_einsum flops, largest intermediate) of the planners against
    opt_einsum's ``greedy``, for the duplicated networks of depth 2 and 3.

Run: ``.venv/bin/python benchmarks/bench_contract.py [--length 22] [--quick]``
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc

# one thread everywhere: both sides measured alike, and no oversubscription of shared cores
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from tnrnn.rac.circuits import RACSpec, RACWeights  # noqa: E402
from tnrnn.tn.contract import _plan_cached, dense_grid, plan_contraction  # noqa: E402


def torch_forward_all_sequences(weights: RACWeights, length: int) -> torch.Tensor:
    """The hand-written baseline: every sequence through the RAC, batched, float64."""
    m = weights.spec.templates
    w_in = [torch.tensor(w) for w in weights.input]
    w_hid = [torch.tensor(w) for w in weights.hidden]
    w_out = torch.tensor(weights.output)
    index = torch.arange(m**length)
    states = [None] * weights.spec.depth
    for t in range(length):
        symbols = (index // m ** (length - 1 - t)) % m  # template of step t of every sequence
        below = w_in[0].T[symbols]
        for layer in range(weights.spec.depth):
            if layer > 0:
                below = below @ w_in[layer].T
            below = below if states[layer] is None else (states[layer] @ w_hid[layer].T) * below
            states[layer] = below
    return (states[-1] @ w_out).reshape((m,) * length)


def best_of(repeats, fn):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def bench_dense(length: int, repeats: int) -> None:
    spec = RACSpec(2, 3, 2)
    weights = RACWeights.orthogonal(spec, seed=0)
    output_bytes = 8 * spec.templates**length
    print(f"(a) dense grid tensor, M=2 R=3 L=2 T={length}: {spec.templates**length:,} entries "
          f"({output_bytes / 2**20:.1f} MiB), torch {torch.__version__} with {torch.get_num_threads()} threads")
    t_engine, grid = best_of(repeats, lambda: dense_grid(weights, length))
    t_torch, baseline = best_of(repeats, lambda: torch_forward_all_sequences(weights, length))
    t_engine_torch, grid_torch = best_of(repeats, lambda: dense_grid(weights, length, backend="torch"))
    scale = float(np.abs(grid).max())
    agree = np.allclose(grid, baseline.numpy(), rtol=1e-9, atol=1e-12 * scale)
    agree_torch = np.allclose(grid, grid_torch.numpy(), rtol=1e-12, atol=1e-14 * scale)
    tracemalloc.start()
    dense_grid(weights, length)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"    engine (prefix tree, numpy)      {t_engine:8.3f} s")
    print(f"    engine (prefix tree, torch CPU)  {t_engine_torch:8.3f} s")
    print(f"    batched torch forward pass       {t_torch:8.3f} s")
    print(f"    speed-up (numpy engine vs torch forward) {t_torch / t_engine:6.1f}x   (target >= 5x)")
    print(f"    speed-up (torch engine vs torch forward) {t_torch / t_engine_torch:6.1f}x")
    print(f"    engine peak memory (tracemalloc) {peak / 2**20:8.1f} MiB = {peak / output_bytes:.2f}x the output "
          f"(target <= 2x)")
    print(f"    results agree: {agree and agree_torch}")


def bench_paths(quick: bool) -> None:
    print("\n(b) contraction paths of the duplicated network (Start-End output order), M=2 R=3")
    print(f"    {'depth':>5} {'T':>3} {'tensors':>7} {'planner':>15} {'flops':>10} {'largest':>9} "
          f"{'vs greedy':>9} {'plan s':>7}")
    cases = [(2, 8), (2, 12), (3, 6), (3, 8)] if not quick else [(2, 8), (3, 6)]
    planners = ["greedy", "auto-hq", "auto", "cotengra"] + ([] if quick else ["cotengra-hyper"])
    for depth, length in cases:
        spec = RACSpec(2, 3, depth)
        base = None
        for planner in planners:
            _plan_cached.cache_clear()
            start = time.perf_counter()
            plan = plan_contraction(spec, length, "start-end", optimizer=planner)
            seconds = time.perf_counter() - start
            base = plan.flops if base is None else base
            print(f"    {depth:>5} {length:>3} {len(plan.operand_inds):>7} {planner:>15} {plan.flops:>10.3g} "
                  f"{plan.largest_intermediate:>9,} {plan.flops / base:>9.2f} {seconds:>7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=22, help="T of the dense-grid benchmark (default 22)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="skip the slow planners and large cases")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    bench_dense(args.length, args.repeats)
    bench_paths(args.quick)


if __name__ == "__main__":
    main()
