"""Write the tnrnn notebooks from their cell sources, and optionally execute them.

The notebooks are generated so that their code is reviewed as code. Each reads
``TNRNN_QUICK=1`` from the environment to shrink its sizes (that is what CI runs);
the committed copies are executed at full size::

    .venv/bin/python notebooks/build.py --execute      # full size, outputs saved
    TNRNN_QUICK=1 .venv/bin/python notebooks/build.py  # write only
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """\
import os

import matplotlib.pyplot as plt

import tnrnn

QUICK = os.environ.get("TNRNN_QUICK") == "1"  # CI runs the notebooks small
print("quick mode" if QUICK else "full size")"""


def md(text: str):
    return new_markdown_cell(text.strip())


def code(text: str):
    return new_code_cell(text.strip())


def nb01():
    return [
        md("""
# 01 · Start-End separation rank by depth

The **Start-End separation rank** of a function of a sequence `x_1..x_T` is the least number of
terms `g(x_1..x_{T/2}) g'(x_{T/2+1}..x_T)` that sum to it: how strongly a network can tie the first
half of a sequence to the second. For a Recurrent Arithmetic Circuit (RAC) with M templates, hidden
width R and depth L it equals the rank of the grid tensor's matricization.

What is known (SCIENCE.md §4):

| statement | status |
|---|---|
| depth 1: `sep = min(R, M^{T/2})` | paper |
| depth 2: `sep ≥ C(min(M,R) + T/2 − 1, T/2)` | paper (lower bound) |
| depth L: `sep ≤ R · Π_l C(R + d_l − 1, d_l)` (lifted bound) | derived |

tnrnn computes the **generic** rank exactly (mod a large prime, at random integer weights): every
computed value is a certified lower bound; when it meets an upper bound it is *certified*.
"""),
        code(SETUP),
        code("""
from tnrnn.depthtable import format_depth_table, plot_depth_table

depths = [1, 2, 3, 4]
lengths = [2, 4, 6, 8] if QUICK else [2, 4, 6, 8, 10, 12, 16, 20, 24, 32]
max_length = {1: max(lengths), 2: max(lengths), 3: 10 if QUICK else 16, 4: 8 if QUICK else 12}
rows = []
for depth in depths:
    ts = [t for t in lengths if t <= max_length[depth]]
    rows += tnrnn.depth_table(3, 3, [depth], ts, draws=2, progress=False)
print(format_depth_table(rows))"""),
        md("""
Every row says whether its rank is **certified** (the exact rank found at random weights meets a
proven upper bound) or only an interval. Depth 1 saturates at R = 3 at once; depth 2 grows with T;
depth 3 and 4 follow the trivial bound `M^{T/2}` as far as we can compute."""),
        code("""
fig = plot_depth_table(rows)
plt.show()"""),
        md("""
## Where the paper's depth-2 lower bound is loose

The paper proves `sep ≥ C(min(M,R) + T/2 − 1, T/2)` for depth 2. Our exact ranks meet the lifted
upper bound `R · C(R + T/2 − 1, T/2)` instead: a factor of about R above the paper's bound once
`M^{T/2}` stops being the binding constraint."""),
        code("""
deep = [r for r in rows if r["depth"] == 2]
print(f"{'T':>3} {'rank':>6} {'paper lower':>12} {'ratio':>6} {'lifted upper':>13} certified")
for r in deep:
    print(f"{r['length']:>3} {r['rank']:>6} {r['depth2_lower']:>12} {r['rank'] / r['depth2_lower']:>6.2f} "
          f"{r['lifted_upper']:>13} {r['certified']}")
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot([r["length"] for r in deep], [r["rank"] / r["depth2_lower"] for r in deep], "o-")
ax.set_xlabel("sequence length T")
ax.set_ylabel("exact rank / paper lower bound")
ax.set_title("Depth 2, M = R = 3: how loose the proven lower bound is")
ax.grid(alpha=0.3)
plt.show()"""),
        md("""
**Reading.** With R and L fixed, the generic rank grows only polynomially in T (degree `R−1` for
depth 2, from the lifted bound): depth buys *combinatorially* more memory than depth 1's constant
`R`, and every computed value above is proven, not estimated."""),
    ]


NOTEBOOKS = {"01_separation_rank_by_depth": nb01}


def write(name: str) -> Path:
    nb = new_notebook(cells=NOTEBOOKS[name](), metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    path = HERE / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def execute(path: Path, timeout: int = 1800) -> None:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
    nbformat.write(nb, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", default=list(NOTEBOOKS), help="notebooks to build")
    parser.add_argument("--execute", action="store_true", help="execute and save outputs")
    args = parser.parse_args(argv)
    for name in args.names:
        path = write(name)
        if args.execute:
            execute(path)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
