"""Regenerate every figure in ``figures/`` from scratch (``tnrnn reproduce [--quick]``).

Each figure job is a function ``job(out_dir, quick) -> list[Path]`` registered in
:data:`JOBS`. ``quick`` shrinks sizes so the whole set runs in CI in a few minutes;
the committed figures come from the full run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["JOBS", "reproduce"]


def _depth_demo(out: Path, quick: bool) -> list[Path]:
    from tnrnn.depthtable import depth_table, plot_depth_table

    lengths = [2, 4, 6] if quick else [2, 4, 6, 8, 10]
    rows = depth_table(3, 3, [1, 2, 3], lengths, progress=False)
    path = out / "demo_rank_vs_length.png"
    plot_depth_table(rows, path)
    return [path]


#: Figure jobs by name, in the order they run.
JOBS: dict[str, Callable[[Path, bool], list[Path]]] = {
    "demo": _depth_demo,
}


def reproduce(out_dir: str | Path = "figures", *, quick: bool = False, only: list[str] | None = None,
              progress: bool = True) -> dict[str, list[Path]]:
    """Run the figure jobs and return the files each wrote.

    Parameters
    ----------
    out_dir : path
        Where figures go (created if missing).
    quick : bool
        Small sizes (what CI runs).
    only : list of str, optional
        Names of jobs to run (default: all of :data:`JOBS`).

    Raises
    ------
    ValueError
        If ``only`` names an unknown job.
    """
    from tqdm.auto import tqdm

    names = list(JOBS) if not only else list(only)
    unknown = [n for n in names if n not in JOBS]
    if unknown:
        raise ValueError(f"unknown figure job(s) {unknown}: choose from {list(JOBS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[Path]] = {}
    bar = tqdm(names, desc="figures", disable=not progress)
    for name in bar:
        bar.set_postfix_str(name)
        start = time.perf_counter()
        written[name] = JOBS[name](out, quick)
        bar.write(f"{name}: {', '.join(p.name for p in written[name])} ({time.perf_counter() - start:.1f} s)")
    return written
