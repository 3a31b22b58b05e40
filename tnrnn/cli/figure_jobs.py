"""The figure jobs of ``tnrnn reproduce``: every figure of ``figures/`` regenerated from scratch.

Part of the command line on purpose: a job runs the very ``tnrnn`` commands the README
shows (through :func:`tnrnn.cli.main`), or a library entry point where no command draws
that figure.

A figure and its documented recipe cannot drift apart. ``quick`` shrinks the
sizes so the whole set runs in CI in a few minutes; the committed figures come from the
full run (``tnrnn reproduce --out figures --force``; most of its time is training).
Training runs go to ``runs_dir`` (default ``OUT/runs``) and are resumed, not repeated,
when present.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tnrnn._outputs import check_replace_all
from tnrnn.experiments.config import config_path
from tnrnn.tables.compare import compare

__all__ = ["JOBS", "OUTPUTS", "reproduce"]

def _cli(*argv) -> None:
    from tnrnn.cli import main

    status = main([str(a) for a in argv])
    if status != 0:
        raise ValueError(f"`tnrnn {' '.join(map(str, argv))}` exited with status {status} (its error is above)")


def _demo(out: Path, runs: Path, quick: bool) -> list[Path]:
    path = out / "demo_rank_vs_length.png"
    # full size: the default --max-block certifies depth 3 at T = 16 (a 6561-row block, seconds)
    sizes = ["--lengths", 2, 4, 6, 8] if quick else []
    _cli("demo", "--plot", path, "--force", *sizes)
    return [path]


def _compare(out: Path, runs: Path, quick: bool) -> list[Path]:
    path = out / "compare_rank_vs_length.png"
    lengths = [2, 4, 6, 8] if quick else [2, 4, 6, 8, 10, 12, 14, 16, 20, 24, 32, 40, 48]
    # the default max_block certifies depth 3 up to T = 16 (a 6561-row block, seconds)
    compare(3, 3, [1, 2, 3], lengths, progress=False).plot(path, svg=True)
    return [path, path.with_suffix(".svg")]


def _depth_table(out: Path, runs: Path, quick: bool) -> list[Path]:
    path = out / "depth_table.png"
    lengths = [2, 4, 6, 8] if quick else list(range(2, 29, 2))  # depth 4 at T = 28: a 16384-row block
    _cli("depth-table", "-M", 2, "-R", 2, "--depths", 1, 2, 3, 4, "--lengths", *lengths, "--draws", 2,
         "--plot", path, "--force")
    return [path]


def _rank_profile(out: Path, runs: Path, quick: bool) -> list[Path]:
    path = out / "rank_profile.png"
    _cli("rank", "-M", 3, "-R", 3, "-L", 2, "-T", 12 if quick else 32, "--profile", "--plot", path,
         "--force")
    return [path]


def _networks(out: Path, runs: Path, quick: bool) -> list[Path]:
    paths = []
    for depth in (1, 2):
        path = out / f"network_depth{depth}.png"
        _cli("draw", "--templates", 2, "--hidden", 3, "--depth", depth, "--length", 6, "--plot", path, "--force")
        paths.append(path)
        if depth == 2:  # the front page shows this one: an SVG next to the PNG
            _cli("draw", "--templates", 2, "--hidden", 3, "--depth", depth, "--length", 6,
                 "--plot", path.with_suffix(".svg"), "--force")
            paths.append(path.with_suffix(".svg"))
    return paths


def _training(out: Path, runs: Path, quick: bool) -> list[Path]:
    from tnrnn.nn.plots import plot_training

    steps, every = (20, 10) if quick else (600, 25)
    common = ["--cell", "modrelu", "--orthogonal", "matrix_exp", "--seed", 0, "--batch-size", 64,
              "--lr", 2e-3, "--lr-orthogonal", 2e-4, "--threads", 1, "--no-progress", "--steps", steps,
              "--eval-every", every]
    # depth 1 widened to as many stored parameters as depth 2 at R=48 (7929, 7587, 7153)
    tasks = {"copying": (["--length", 30], 79), "ses": (["--length", 20, "--word-length", 5,
                                                         "--alphabet", 8], 80),
             "adding": (["--length", 30], 82)}
    paths = []
    for task, (task_args, wide) in tasks.items():
        dirs = [runs / f"{task}_L1", runs / f"{task}_L1_budget", runs / f"{task}_L2"]
        _cli("train", "--task", task, *task_args, "--depth", 1, "--hidden", 48, *common, "--out", dirs[0])
        _cli("train", "--task", task, *task_args, "--depth", 1, "--hidden", wide, *common, "--out", dirs[1])
        _cli("train", "--task", task, *task_args, "--depth", 2, "--hidden", 48, *common, "--out", dirs[2])
        paths.append(plot_training(dirs, out / f"training_{task}.png"))
    return paths


def _sweeps(out: Path, runs: Path, quick: bool) -> list[Path]:
    # the full sweeps are hours on a 2-core CPU (5 seeds x 3 depths x 3 or 4 lengths or word lengths,
    # as ensembles; the word-length sweep trains to the plateau: about a day)
    names = ["quick_sweep"] if quick else ["ses_depth", "copying_depth", "ses_word_length"]
    paths = []
    for name in names:
        config, db = config_path(f"{name}.toml"), runs / f"{name}.sqlite"
        _cli("sweep", config, "--db", db, "--no-progress")
        _cli("report", "--db", db, "--config", config, "--out", out, "--prefix", name,
             "--force")  # reproduce() refused existing figures without force, before any job
        paths += sorted(out.glob(f"{name}_*.png"))
    return paths


def _timescale(out: Path, runs: Path, quick: bool) -> list[Path]:
    from tnrnn.lenses.timescale import timescale_experiment  # torch: only when this job runs

    return list(timescale_experiment(out, quick=quick, results_dir=runs / "timescale", progress=False))


def _linear(out: Path, runs: Path, quick: bool) -> list[Path]:
    from tnrnn.lenses.linear.figures import main

    if main(["--out", str(out), "--force", *(["--quick"] if quick else [])]) != 0:
        raise RuntimeError("python -m tnrnn.lenses.linear.figures failed")
    return sorted(out.glob("linear_*.png"))


def _rank_growth(out: Path, runs: Path, quick: bool) -> list[Path]:
    from tnrnn.tables.growth import growth_figure

    return growth_figure(out, quick=quick)


#: Figure jobs by name, in the order they run: ``job(out_dir, runs_dir, quick) -> files``.
JOBS: dict[str, Callable[[Path, Path, bool], list[Path]]] = {
    "demo": _demo,
    "compare": _compare,
    "depth-table": _depth_table,
    "rank-profile": _rank_profile,
    "rank-growth": _rank_growth,
    "networks": _networks,
    "training": _training,
    "sweeps": _sweeps,
    "timescale": _timescale,
    "linear": _linear,
}

#: The figure files each job owns (glob patterns under ``figures/``).
OUTPUTS: dict[str, tuple[str, ...]] = {
    "demo": ("demo_rank_vs_length.png",),
    "compare": ("compare_rank_vs_length.png", "compare_rank_vs_length.svg"),
    "depth-table": ("depth_table.png",),
    "rank-profile": ("rank_profile.png",),
    "rank-growth": ("rank_vs_length.png",),
    "networks": ("network_depth*.png", "network_depth2.svg"),
    "training": ("training_*.png",),
    "sweeps": ("ses_depth_*.png", "copying_depth_*.png", "ses_word_length_*.png", "quick_sweep_*.png"),
    "timescale": ("timescale_*.png",),
    "linear": ("linear_*.png",),
}


def existing_outputs(out_dir: str | Path, only: list[str] | None = None) -> list[Path]:
    """The files in ``out_dir`` that the jobs ``only`` (default all) would replace.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "depth_table.png").write_bytes(b"")
    >>> [p.name for p in existing_outputs(d)], existing_outputs(d, ["demo"])
    (['depth_table.png'], [])
    """
    out = Path(out_dir)
    return sorted({p for name in (only or list(JOBS)) for pattern in OUTPUTS.get(name, ()) for p in out.glob(pattern)})


def reproduce(out_dir: str | Path, *, quick: bool = False, only: list[str] | None = None,
              runs_dir: str | Path | None = None, progress: bool = True,
              force: bool = False) -> dict[str, list[Path]]:
    """Run the figure jobs and return the files each wrote.

    Parameters
    ----------
    out_dir : path
        Where figures go (created if missing). The committed figures are regenerated only
        when this is the checkout's ``figures/`` and ``force`` is true.
    quick : bool
        Small sizes (what CI runs).
    only : list of str, optional
        Names of jobs to run (default: all of :data:`JOBS`).
    runs_dir : path, optional
        Where training runs and sweep databases go (default ``out_dir/runs``); finished work
        there is reused.
    force : bool
        Replace figures already in ``out_dir`` (otherwise refused, unless tnrnn made the
        directory for its output, see :mod:`tnrnn._outputs`).

    Raises
    ------
    ValueError
        If ``only`` names an unknown job, or figures would be replaced without ``force``
        (before anything runs).
    """
    from tqdm.auto import tqdm

    names = list(JOBS) if not only else list(dict.fromkeys(only))  # a job named twice runs once
    unknown = [n for n in names if n not in JOBS]
    if unknown:
        raise ValueError(f"unknown figure job(s) {unknown}: choose from {list(JOBS)}")

    check_replace_all(existing_outputs(out_dir, names), "--out", force)
    out = Path(out_dir)
    runs = Path(runs_dir) if runs_dir is not None else out / "runs"
    out.mkdir(parents=True, exist_ok=True)
    runs.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[Path]] = {}
    bar = tqdm(names, desc="figures", disable=not progress)
    for name in bar:
        bar.set_postfix_str(name)
        start = time.perf_counter()
        written[name] = JOBS[name](out, runs, quick)
        bar.write(f"{name}: {', '.join(p.name for p in written[name])} ({time.perf_counter() - start:.1f} s)")
    return written
