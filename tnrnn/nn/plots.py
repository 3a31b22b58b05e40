"""Training curves: loss against step, with the task's memoryless baseline as a line."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tnrnn.nn.budget import parameter_count
from tnrnn.nn.config import TrainConfig

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
    from tnrnn import style

    if isinstance(runs, dict):
        items = list(runs.items())
    else:
        items = [(None, r) for r in (runs if isinstance(runs, (list, tuple)) else [runs])]
    with style.context():
        fig, ax = style.figure(figsize=(7.0, 5.2))
        baselines, names = set(), []
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
                label = _run_label(config)
            names.append(_task_title(config))
            baselines.add(round(lines[0]["baseline_loss"], 12))
            steps = [m["step"] for m in lines]
            color = style.color(i)
            ax.plot(steps, [m["val_loss"] for m in lines], "-o", ms=3, color=color, label=f"{label}: validation")
            ax.plot(steps, [m["train_loss"] for m in lines], ":", color=color, alpha=0.8,
                    label=f"{label}: training")
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
        ax.set_title(title or names[0])
        style.legend_outside(ax, where="below", ncol=2)
        return style.save(fig, out)


def _run_label(config: dict) -> str:
    if not config:
        return "run"

    task = TrainConfig.from_dict(config).make_task()
    params = parameter_count(config["cell"], config["depth"], config["hidden"], task.input_size, task.output_size)
    orth = f", {config['orthogonal']}" if config.get("orthogonal") else ""
    return f"{config['cell']} depth {config['depth']}, R={config['hidden']} ({params} params{orth})"


def _task_title(config: dict) -> str:
    if not config:
        return "training curve"

    task = TrainConfig.from_dict(config).make_task()
    if task.name == "copying":
        return (f"copying memory ({task.variant}): delay B={task.length}, T={task.sequence_length}, "
                f"{task.word_length} symbols from {task.alphabet}")
    if task.name == "ses":
        return f"Start-End Similarity: T={task.length}, word length m={task.word_length}, {task.alphabet} symbols"
    return f"adding problem: T={task.length}"


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
