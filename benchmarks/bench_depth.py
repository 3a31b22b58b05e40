"""Issue 15 target 3: exact generic ranks at depth 2-4 and long lengths, with ratios to the rank floor.

Headline cells (each timed once; ratio = total time / the floor, the time of one r x r rank
mod p of a random matrix by ``tnrnn.exact.modular.rank_mod``, r the answer, measured in the same run):

* depth 3, M=R=3, T=16 (target: 6561, certified, < 30 s);
* depth 2, M=R=3, T=64 (target: within 2x of the floor) and M=R=4, T=32 (target < 15 s);

then the series behind ``figures/rank_vs_length.png`` (one draw per cell, seed 0): depths
1-4 at M=R=2 (depth 3 to T=40, each < 60 s, and on while a cell stays under 60 s; depth 4
to T=28, each < 5 min) and at M=R=3, each series stopped after a cell slower than its
budget or refused for memory. The series
are written to ``figures/rank_vs_length.json``, and a power-law fit of the depth-3 ranks
beyond the trivial bound M^(T/2) (exponent, residuals) is printed and drawn.

Run: ``.venv/bin/python benchmarks/bench_depth.py [--quick] [--headline-only] [--plot-only]``
(the series resume from the JSON; ``--plot-only`` redraws the figure from it).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from tnrnn.exact.modular import DEFAULT_PRIME, rank_mod
from tnrnn.rac.circuits import RACSpec
from tnrnn.ranks.router import generic_rank
from tnrnn.tables.growth import plot_rank_growth, polynomial_regime_fits, rank_series

ROOT = Path(__file__).resolve().parent.parent


def floor_seconds(size: int) -> float:
    matrix = np.random.default_rng(0).integers(0, DEFAULT_PRIME, size=(size, size))
    start = time.perf_counter()
    rank_mod(matrix, DEFAULT_PRIME)
    return time.perf_counter() - start


def headline(templates: int, hidden: int, depth: int, length: int, target: float | None, floor_factor=None):
    start_cpu = time.process_time()
    result = generic_rank(RACSpec(templates, hidden, depth), length, draws=1, seed=0)
    cpu = time.process_time() - start_cpu
    floor = floor_seconds(result.rank)
    verdicts = []
    if target is not None:
        verdicts.append(f"target < {target:g} s: {'met' if result.seconds < target else 'MISSED'}")
    if floor_factor is not None:
        verdicts.append(f"target ratio <= {floor_factor:g}: "
                        f"{'met' if result.seconds / floor <= floor_factor else 'MISSED'}")
    print(f"L={depth} M={templates} R={hidden} T={length}: {result.describe()}\n"
          f"    {result.seconds:.2f} s wall, {cpu:.2f} s CPU; floor (one {result.rank}x{result.rank} rank) "
          f"{floor:.2f} s; ratio {result.seconds / floor:.2f}" + ("; " + "; ".join(verdicts) if verdicts else ""),
          flush=True)


def _print_row(row: dict) -> None:
    if row["rank"] is None:
        print(f"  L={row['depth']} M={row['templates']} T={row['length']}: refused: {row['note'][:160]}", flush=True)
        return
    kind = "certified" if row["certified"] else f"interval [{row['lower']}, {row['upper']}]"
    print(f"  L={row['depth']} M={row['templates']} R={row['hidden']} T={row['length']:>2}: rank {row['rank']:>6} "
          f"({kind}) {row['seconds']:7.2f} s wall, {row['cpu_seconds']:7.2f} s CPU", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short series only (smoke test)")
    parser.add_argument("--headline-only", action="store_true")
    parser.add_argument("--plot-only", action="store_true", help="redraw the figure from its JSON")
    parser.add_argument("--no-headline", action="store_true", help="series only")
    args = parser.parse_args()
    if args.plot_only:
        plot_only()
        return
    print(f"machine load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared)")
    generic_rank(RACSpec(2, 2, 2), 20, draws=1)  # imports out of the timings
    if args.headline_only:
        headline(3, 3, 3, 16, 30.0)
        headline(3, 3, 2, 64, None, floor_factor=2.0)
        headline(4, 4, 2, 32, 15.0)
        return
    plan = [  # (M=R, depth, lengths, stop after a cell that took more wall seconds than this)
        (2, 1, range(2, 41, 2), 60), (2, 2, range(2, 41, 2), 60), (3, 1, range(2, 65, 2), 60),
        (3, 2, list(range(2, 33, 2)) + [40, 48, 56, 64], 60),
        (2, 3, range(2, 25, 2), 60), (3, 3, range(2, 15, 2), 60), (2, 4, range(2, 21, 2), 300),
        (3, 4, range(2, 15, 2), 120),
        "headline",
        (2, 3, range(26, 49, 2), 60), (2, 4, range(22, 29, 2), 300), (3, 3, [16, 18], 300), (3, 4, [16, 18], 300),
    ]
    if args.quick:
        plan = [(mr, depth, [t for t in lengths if t <= 12], budget)
                for mr, depth, lengths, budget in [step for step in plan if step != "headline"]]
    out = ROOT / "figures" / "rank_vs_length.json"
    rows: list[dict] = []
    if not args.quick and out.exists():  # resume: cells already measured are kept, not recomputed
        rows = json.loads(out.read_text())["rows"]
        print(f"resuming: {len(rows)} cells read from {out.relative_to(ROOT)}")
    done = {(r["templates"], r["depth"], r["length"]) for r in rows}
    stopped = {(r["templates"], r["depth"]) for r in rows if r.get("rank") is None}
    for step in plan:
        if step == "headline":
            if args.no_headline:
                continue
            headline(3, 3, 3, 16, 30.0)
            headline(3, 3, 2, 64, None, floor_factor=2.0)
            headline(4, 4, 2, 32, 15.0)
            continue
        mr, depth, lengths, budget = step
        todo = [t for t in lengths if (mr, depth, t) not in done]
        if not todo or (mr, depth) in stopped:
            continue
        print(f"series M=R={mr}, L={depth} (stop after a cell over {budget} s wall):", flush=True)
        new = rank_series(mr, mr, depth, todo, max_seconds=budget, progress=_print_row)
        rows += new
        if new and (new[-1].get("rank") is None or new[-1]["seconds"] > budget):
            stopped.add((mr, depth))
        fits = polynomial_regime_fits(rows)
        if not args.quick:  # written after every series: an interrupted run keeps its figure
            out.write_text(json.dumps(
                {"rows": rows, "fits": {f"M={k[0]},R={k[1]},L={k[2]}": v for k, v in fits.items()}}, indent=1))
            plot_rank_growth(rows, out.with_suffix(".png"), fits=fits)
    report(rows)
    if not args.quick:
        print("wrote figures/rank_vs_length.png and figures/rank_vs_length.json")


def report(rows: list[dict]) -> None:
    """The depth-3 growth as measured: each rank against its bounds, and the fits."""
    for mr in (2, 3):
        series = sorted((r for r in rows if (r["templates"], r["depth"]) == (mr, 3) and r.get("rank") is not None),
                        key=lambda r: r["length"])
        if series:
            print(f"depth 3, M=R={mr}: " + ", ".join(
                f"T={r['length']}: {r['rank']}" + ("" if r["certified"] else f" (upper {r['upper']})")
                for r in series))
    for (m, _, depth), fit in polynomial_regime_fits(rows).items():
        print(f"depth {depth}, M=R={m}, lengths below the trivial bound: rank ~ {fit['prefactor']:.4g} "
              f"T^{fit['exponent']:.3f}; log10 residuals {[f'{x:+.4f}' for x in fit['residuals']]} "
              f"(max {fit['max_abs_residual']:.4f})")


def plot_only() -> None:
    """Redraw the figure and print the fits from ``figures/rank_vs_length.json``."""
    out = ROOT / "figures" / "rank_vs_length.json"
    rows = json.loads(out.read_text())["rows"]
    fits = polynomial_regime_fits(rows)
    out.write_text(json.dumps(
        {"rows": rows, "fits": {f"M={k[0]},R={k[1]},L={k[2]}": v for k, v in fits.items()}}, indent=1))
    plot_rank_growth(rows, out.with_suffix(".png"), fits=fits)
    report(rows)


if __name__ == "__main__":
    main()
