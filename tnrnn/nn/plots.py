"""Training curves: loss against step, with the task's memoryless baseline as a line."""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["plot_training", "main"]


def plot_training(runs, out: str | os.PathLike, *, title: str | None = None, log_loss: bool = True) -> Path:
    """Plot validation (and training) loss against step for one or more runs.

    Parameters
    ----------
    runs : path or dict or list of them
        A run directory or ``metrics.jsonl`` path (its label: the run's cell and depth), or
        a ``{label: path}`` dict.
    out : path
        PNG file to write (directories created).
    title : str, optional
        Default: the task and its length.
    log_loss : bool
        Logarithmic loss axis (memory tasks span decades).

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    ValueError
        A run without metrics, or runs of different tasks (different baselines).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if isinstance(runs, dict):
        items = list(runs.items())
    else:
        items = [(None, r) for r in (runs if isinstance(runs, (list, tuple)) else [runs])]
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    baselines, names = set(), []
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, path) in enumerate(items):
        path = Path(path)
        metrics_path = path / "metrics.jsonl" if path.is_dir() else path
        run_dir = metrics_path.parent
        if not metrics_path.exists():
            raise ValueError(f"no metrics at {metrics_path}")
        lines = [json.loads(x) for x in metrics_path.read_text().splitlines() if x.strip()]
        if not lines:
            raise ValueError(f"{metrics_path} is empty")
        config = json.loads((run_dir / "config.json").read_text()) if (run_dir / "config.json").exists() else {}
        if label is None:
            orth = config.get("orthogonal")
            label = f"{config.get('cell', 'run')} L={config.get('depth', '?')} R={config.get('hidden', '?')}" + (
                f" ({orth})" if orth else "")
        names.append(f"{config.get('task', '?')} {config.get('length', '?')}")
        baselines.add(round(lines[0]["baseline_loss"], 12))
        steps = [m["step"] for m in lines]
        color = colors[i % len(colors)]
        ax.plot(steps, [m["val_loss"] for m in lines], "-o", ms=3, color=color, label=f"{label}: validation")
        ax.plot(steps, [m["train_loss"] for m in lines], ":", color=color, alpha=0.8, label=f"{label}: training")
    if len(baselines) != 1:
        raise ValueError(f"runs of different tasks cannot share a plot (baselines {sorted(baselines)})")
    baseline = baselines.pop()
    ax.axhline(baseline, color="black", ls="--", lw=1, label=f"memoryless baseline {baseline:.4g}")
    if log_loss:
        ax.set_yscale("log")
    ax.set_xlabel("training step (batches)")
    task = config.get("task")
    ax.set_ylabel({"copying": "cross-entropy per step (nats)", "ses": "cross-entropy of the label (nats)",
                   "adding": "mean squared error"}.get(task, "loss"))
    ax.set_title(title or f"{names[0]}: loss vs step")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m tnrnn.nn.plots OUT.png RUN_DIR [RUN_DIR ...] [--title TITLE]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tnrnn.nn.plots", description=plot_training.__doc__.split("\n")[0])
    parser.add_argument("out", help="PNG to write")
    parser.add_argument("runs", nargs="+", help="run directories (tnrnn train --out)")
    parser.add_argument("--title", default=None)
    args = parser.parse_args(argv)
    print(plot_training(list(args.runs), args.out, title=args.title))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
