"""Throughput of an ensemble (K seeds as one stacked network) against K separate runs.

Start-End Similarity (T=96, word length 2, 32 symbols), the ``paper`` preset (scoRNN
map, modReLU, clipping and optimiser of the published code), batch 64, one CPU thread,
depths 1 and 2 at widths of R ≈ 30–50. For each depth the script trains, interleaved in
one process:

- **ensemble**: :func:`tnrnn.nn.train_ensemble` with K seeds;
- **separate**: :func:`tnrnn.nn.train` once per seed, one after the other;

both for the same number of steps with no evaluation in between, and prints member-steps
per second of each and their ratio (separate time / ensemble time), the median over
``--repeats`` interleaved repetitions, with the load average beside it. A member of the
ensemble follows the same run as its seed alone (``tests/test_nn_ensemble.py``), so the
ratio is a pure speed ratio.

Run::

    .venv/bin/python benchmarks/bench_ensemble.py                    # K=8, 40 steps, 3 repeats
    .venv/bin/python benchmarks/bench_ensemble.py --members 4 --steps 20 --repeats 1
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import tempfile
import time

import torch

from tnrnn.nn import TrainConfig, train, train_ensemble


def _timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=8)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--length", type=int, default=96)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(1)
    seeds = list(range(args.members))
    print(f"SES T={args.length}, batch {args.batch}, {args.members} members, {args.steps} steps, 1 thread, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'depth':>5} {'R':>3} {'ensemble member-steps/s':>24} {'separate member-steps/s':>24} {'ratio':>6}")
    for depth, hidden in ((1, 50), (2, 36)):
        config = TrainConfig.preset("paper", task="ses", length=args.length, word_length=2, depth=depth,
                                    hidden=hidden, steps=args.steps, batch_size=args.batch,
                                    eval_every=10 * args.steps, val_size=64, test_size=64)
        with tempfile.TemporaryDirectory() as scratch:
            train_ensemble(dataclasses.replace(config, steps=2), seeds[:2], f"{scratch}/warm", progress=False)
            together, apart = [], []
            for repeat in range(args.repeats):
                together.append(_timed(lambda r=repeat, c=config: train_ensemble(
                    c, seeds, f"{scratch}/ensemble-{r}", progress=False)))
                apart.append(_timed(lambda r=repeat, c=config: [train(dataclasses.replace(c, seed=s),
                                                                      f"{scratch}/alone-{r}-{s}", progress=False)
                                                                for s in seeds]))
        work = args.members * args.steps
        t, a = statistics.median(together), statistics.median(apart)
        print(f"{depth:>5} {hidden:>3} {work / t:>24.1f} {work / a:>24.1f} {a / t:>6.2f}")
    print(f"load average after: {os.getloadavg()[0]:.2f} (2 cores; other work on the machine lowers both rates)")


if __name__ == "__main__":
    main()
