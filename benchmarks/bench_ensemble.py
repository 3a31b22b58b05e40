"""Per-seed throughput of the ensemble step: this tree against an earlier revision, interleaved.

Start-End Similarity at the sizes of the word-length sweep (T = 40, word length 8, 32
symbols, batch 128, the ``paper`` preset: scoRNN map, modReLU, ∞-norm clip, RMSprop),
depths 1-3 at about 4000 free parameters (widths 60, 36, 28), K seeds per ensemble, one
CPU thread. For every depth and repetition it trains, alternating:

- **baseline**: :func:`tnrnn.nn.train_ensemble` of the revision ``--baseline`` (its
  ``tnrnn`` package extracted with ``git archive`` into a scratch directory);
- **current**: :func:`tnrnn.nn.train_ensemble` of this tree, with its compiled time loops
  where they build (``--loops`` chooses; each line says which ran);

each in a fresh subprocess, timing the training call alone, and prints member-steps per
CPU second of each (the process's own CPU time: on a shared machine wall time mostly
measures the other work), their ratio (current / baseline; median over ``--repeats``;
each repeat's CPU and wall ratios beside it) and the load average. Both compute the same runs (``tests/test_nn_ensemble.py`` checks a member against
its seed alone at 1e-9 in float64), so the ratio is a speed ratio.

It also prints the arithmetic rate reached: the useful floating-point work of a step
(forward and backward matrix products: 6·T·B·R² per recurrence and per layer above the
first, the one-hot input read as a lookup, the readout at the last step) per CPU second,
next to a one-thread sgemm on the same machine (1024³ and the recurrence's own shape).

Last, the matrix products alone: the time one ensemble step spends in its batched products
at these shapes if every other operation cost nothing (the per-step products forward and
backward, ``2 (T - 1)`` per layer, and the whole-sequence products: input projections above
the first layer, their two gradients, every weight gradient), beside the baseline's step and
the 2x target. What the target leaves for everything else (the nonlinearity, the lookup, the
orthogonal maps, the loss, the optimiser, the data) is their difference.

Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_ensemble.py               # K=5, 150 steps, 3 repeats
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_ensemble.py --length 96 --repeats 1
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_ensemble.py --with-validation   # checks included
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_ensemble.py --loops python      # no compiled loops

``--with-validation`` adds the validation checks at the protocol's ratio (100,000 sequences
every 1000 steps), which the sweep pays too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = r"""
import json, sys, tempfile, time, torch
torch.set_num_threads(1)
import tnrnn
from tnrnn.nn import TrainConfig, train_ensemble
a = json.loads(sys.argv[1])
config = TrainConfig.preset("paper", task="ses", length=a["length"], word_length=a["word_length"],
                            depth=a["depth"], hidden=a["hidden"], steps=a["steps"], batch_size=a["batch"],
                            eval_every=a["eval_every"], val_size=a["val_size"], test_size=128,
                            plateau_patience=0)
with tempfile.TemporaryDirectory() as scratch:
    train_ensemble(TrainConfig.from_dict({**config.to_dict(), "steps": 3}), list(range(a["members"])),
                   scratch + "/warm", progress=False)
    start, cpu = time.perf_counter(), time.process_time()
    train_ensemble(config, list(range(a["members"])), scratch + "/run", progress=False)
    try:  # which time loops this tree ran (the baseline has only Python loops)
        from tnrnn.nn._compiled import compiled_loops
        loops = "compiled" if compiled_loops() is not None else "python"
    except ImportError:
        loops = "python"
    print(json.dumps({"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
                      "package": tnrnn.__file__, "loops": loops}))
"""


def _run(pythonpath: str, settings: dict, loops: str = "auto") -> tuple[float, float, str]:
    # -P and a neutral working directory: with ``-c`` Python puts the working directory first on
    # sys.path, so a child started in the repository would import this tree, whatever PYTHONPATH says
    env = {**os.environ, "PYTHONPATH": pythonpath, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "TNRNN_LOOPS": loops}
    with tempfile.TemporaryDirectory() as neutral:
        done = subprocess.run([sys.executable, "-P", "-c", _CHILD, json.dumps(settings)], env=env, cwd=neutral,
                              capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"benchmark child ({pythonpath}) failed:\n{done.stderr[-2000:]}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    if not Path(found["package"]).resolve().is_relative_to(Path(pythonpath).resolve()):
        raise RuntimeError(f"benchmark child meant to run the tnrnn of {pythonpath} imported {found['package']}")
    return found["seconds"], found["cpu"], found["loops"]


def _sgemm_rate(m: int, k: int, n: int, repeats: int = 5) -> float:
    import torch

    torch.set_num_threads(1)
    a, b = torch.randn(m, k), torch.randn(k, n)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(max(1, int(2e9 // (2 * m * k * n)))):
            a @ b
        best = min(best, (time.perf_counter() - start) / max(1, int(2e9 // (2 * m * k * n))))
    return 2 * m * k * n / best / 1e9


def product_floor(length: int, batch: int, hidden: int, depth: int, members: int, repeats: int = 7) -> float:
    """CPU milliseconds of one ensemble step's batched matrix products alone, one thread (median of ``repeats``)."""
    import torch

    torch.set_num_threads(1)
    states = torch.randn(members, length, batch, hidden)
    weights = torch.randn(members, hidden, hidden)
    steps, rows = states.transpose(0, 1), states.reshape(members, length * batch, hidden)

    def one_step() -> None:
        for _ in range(2 * depth):  # forward and backward of every layer
            for t in range(1, length):
                torch.baddbmm(steps[t], steps[t - 1], weights)
        for _ in range(depth - 1):  # input projections above the first layer: forward, gradient of h
            torch.bmm(rows, weights)
            torch.bmm(rows, weights)
        for _ in range(2 * depth - 1):  # weight gradients: W^H of every layer, W^I above the first
            torch.bmm(rows.mT, rows)

    one_step()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        one_step()
        times.append(time.process_time() - start)
    return 1e3 * statistics.median(times)


def useful_flops(length: int, batch: int, hidden: int, depth: int, outputs: int = 3) -> float:
    """Matrix-product FLOPs of one member's step, forward and backward (the input lookup costs none)."""
    square = 6 * length * batch * hidden * hidden
    return depth * square + (depth - 1) * square + 6 * batch * hidden * outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="333fd7e", help="git revision to compare with (default: the "
                                                              "ensemble before the faster step)")
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--length", type=int, default=40)
    parser.add_argument("--word-length", type=int, default=8)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--depths", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--loops", choices=["auto", "compiled", "python"], default="auto",
                        help="TNRNN_LOOPS of this tree's runs: its time loops compiled (auto: if they build) or "
                             "in Python (default auto; the line says which ran)")
    parser.add_argument("--no-floor", action="store_true", help="skip the matrix-products-alone line per depth")
    parser.add_argument("--with-validation", action="store_true",
                        help="include validation at the protocol's ratio (100,000 sequences per 1000 steps: "
                             "one check at the end over 100 x steps sequences); default: training steps only")
    args = parser.parse_args()
    widths = {1: 60, 2: 36, 3: 28}
    with tempfile.TemporaryDirectory() as scratch:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline, "tnrnn"], capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", scratch], input=archive, check=True)
        print(f"SES T={args.length} m={args.word_length}, batch {args.batch}, K={args.members} members, "
              f"{args.steps} steps, 1 thread; baseline {args.baseline}; "
              f"{'with validation (100 x steps sequences)' if args.with_validation else 'training only'}; "
              f"load average {os.getloadavg()[0]:.2f}")
        print(f"{'depth':>5} {'R':>3} {'baseline m-steps/s':>19} {'current m-steps/s':>18} {'ratio':>6} "
              f"{'GFLOP/s':>8} {'load':>5}")
        for depth in args.depths:
            settings = {"length": args.length, "word_length": args.word_length, "depth": depth,
                        "hidden": widths.get(depth, 28), "steps": args.steps, "batch": args.batch,
                        "members": args.members, "eval_every": 10 * args.steps,
                        "val_size": 100 * args.steps if args.with_validation else 128}
            base, mine, loads = [], [], []
            for _ in range(args.repeats):
                base.append(_run(scratch, settings))
                mine.append(_run(str(ROOT), settings, args.loops))
                loads.append(os.getloadavg()[0])
            work = args.members * args.steps
            ratios = [(b[1] / c[1], b[0] / c[0]) for b, c in zip(base, mine)]
            b, c = statistics.median(x[1] for x in base), statistics.median(x[1] for x in mine)
            rate = useful_flops(args.length, args.batch, settings["hidden"], depth) * work / c / 1e9
            print(f"{depth:>5} {settings['hidden']:>3} {work / b:>19.1f} {work / c:>18.1f} {b / c:>6.2f} "
                  f"{rate:>8.1f} {statistics.median(loads):>5.2f}   (per repeat, CPU / wall: "
                  + ", ".join(f"{x:.2f}/{y:.2f}" for x, y in ratios) + f"; {mine[0][2]} loops)", flush=True)
            if not args.no_floor:
                floor = product_floor(args.length, args.batch, settings["hidden"], depth, args.members)
                step = 1e3 * b / args.steps
                print(f"{'':>9} per ensemble step: baseline {step:.1f} ms, 2x target {step / 2:.1f} ms, matrix "
                      f"products alone {floor:.1f} ms, left for everything else {step / 2 - floor:.1f} ms", flush=True)
    print(f"1-thread sgemm: {_sgemm_rate(1024, 1024, 1024):.1f} GFLOP/s at 1024^3, "
          f"{_sgemm_rate(args.batch, 60, 60):.1f} at ({args.batch}x60)@(60x60), "
          f"{_sgemm_rate(args.length * args.batch, 60, 60):.1f} at ({args.length * args.batch}x60)@(60x60); "
          f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
