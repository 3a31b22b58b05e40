"""The experiment comparing forget-gate variants on the adding and copying tasks.

:func:`train_gated` trains one model; :func:`compare_gate_variants` trains every variant
on every task, appending each run to ``results.jsonl`` (an interrupted run resumes);
:func:`timescale_experiment` is the entry point behind ``tnrnn timescale --experiment``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from tnrnn._files import append_line
from tnrnn.lenses.timescale.diagnostics import GradientConditionCallback, gate_timescales
from tnrnn.lenses.timescale.figures import plot_timescale_comparison
from tnrnn.lenses.timescale.model import DEFAULT_VARIANTS, GateVariant, build_gated_model
from tnrnn.lenses.timescale.theory import finite_or_none
from tnrnn.nn.loop import run_steps
from tnrnn.nn.tasks import make_task

__all__ = [
    "train_gated",
    "compare_gate_variants",
    "EXPERIMENT",
    "summarize_comparison",
    "experiment_results_dir",
    "load_comparison",
    "timescale_experiment",
]


def train_gated(model, task, *, steps: int, batch_size: int = 64, lr: float = 1e-2, clip: float = 1.0,
                seed: int = 0, eval_every: int = 50, eval_batch: int = 256, solve_fraction: float = 0.1,
                callbacks: Sequence[Callable] = (), progress: bool = True, desc: str = "train") -> dict:
    """Train ``model`` on ``task`` with Adam; a small loop for the gate experiment.

    (``tnrnn.nn.train`` builds its model from a ``TrainConfig``, which has no gate
    variants; this takes a ready model, steps it through :func:`tnrnn.nn.loop.run_steps`
    and follows the same callback protocol. Ctrl-C is not caught: an interrupted run
    returns nothing, so :func:`compare_gate_variants` records finished runs only.)

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(B, T, input_size)`` to ``(B, T, output_size)``.
    task : tnrnn.nn.tasks.Task
    steps, batch_size : int
        Optimisation steps and batch size.
    lr, clip : float
        Adam learning rate and gradient-norm clip.
    seed : int
        Seed of the training batches (the evaluation batch uses ``seed + 10**6``).
    eval_every, eval_batch : int
        Evaluate on a fixed batch every ``eval_every`` steps (and at steps 0 and ``steps``).
    solve_fraction : float
        The task counts as solved once the evaluation loss is at most
        ``solve_fraction * task.baseline_loss``.
    callbacks : sequence of callables
        ``callback(step, model, task) -> dict | None`` at every evaluation.
    progress : bool
        Show a tqdm bar.
    desc : str
        The bar's label.

    Returns
    -------
    dict
        ``history`` (list of metrics dicts: step, loss, metric, plus the callbacks'),
        ``final_loss``, ``final_metric``, ``baseline_loss``, ``steps_to_solve`` (None if
        never), ``min_loss``, ``seconds``.

    Raises
    ------
    ValueError
        On non-positive ``steps``, ``batch_size``, ``eval_every`` or ``eval_batch``.

    Examples
    --------
    >>> from tnrnn.nn.tasks import make_task
    >>> task = make_task("adding", 8)
    >>> model = build_gated_model(task, GateVariant("sigmoid, bias 1"), hidden=4)
    >>> summary = train_gated(model, task, steps=5, batch_size=8, eval_every=2, eval_batch=16, progress=False)
    >>> [line["step"] for line in summary["history"]], summary["final_loss"] == summary["history"][-1]["loss"]
    ([0, 2, 4, 5], True)
    """
    for name, value in (("steps", steps), ("batch_size", batch_size), ("eval_every", eval_every),
                        ("eval_batch", eval_batch)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    device = next(model.parameters()).device
    train_gen = torch.Generator().manual_seed(seed)
    eval_inputs, eval_targets = task.sample(eval_batch, torch.Generator().manual_seed(seed + 10**6))
    eval_inputs, eval_targets = eval_inputs.to(device), eval_targets.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    solved_at = None
    start = time.perf_counter()

    def evaluate(step: int) -> dict:
        nonlocal solved_at
        with torch.no_grad():
            outputs = model(eval_inputs)
            line = {"step": step, "loss": float(task.loss(outputs, eval_targets)),
                    "metric": task.metric(outputs, eval_targets)}
        for callback in callbacks:
            extra = callback(step, model, task)
            if extra:
                line.update(extra)
        if solved_at is None and line["loss"] <= solve_fraction * task.baseline_loss:
            solved_at = step
        return line

    def train_step(step: int) -> None:
        inputs, targets = task.sample(batch_size, train_gen)
        loss = task.loss(model(inputs.to(device)), targets.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()

    # Ctrl-C propagates: compare_gate_variants records finished runs only
    history = run_steps(train_step, steps, evaluate, every=eval_every, desc=desc, progress=progress, leave=False,
                        postfix=lambda line: {"loss": f"{line['loss']:.4g}"}, catch_interrupt=False).history
    return {"history": history, "final_loss": history[-1]["loss"], "final_metric": history[-1]["metric"],
            "baseline_loss": task.baseline_loss, "steps_to_solve": solved_at,
            "min_loss": min(line["loss"] for line in history), "seconds": time.perf_counter() - start}


def compare_gate_variants(task_specs: Sequence[dict], out_dir: str | Path, *,
                          variants: Sequence[GateVariant] = DEFAULT_VARIANTS, cell: str = "lstm",
                          hidden: int = 32, depth: int = 1, steps: int = 600, batch_size: int = 64,
                          lr: float = 1e-2, seed: int = 0, eval_every: int = 50, diag_batch: int = 32,
                          progress: bool = True) -> list[dict]:
    """Train every gate variant on every task and record losses, time scales and gradient fits.

    Each finished run is appended to ``out_dir/results.jsonl`` (one line, all or nothing:
    :func:`tnrnn._files.append_line`); a rerun
    skips the runs already there, so an interrupted comparison resumes.

    Parameters
    ----------
    task_specs : sequence of dict
        Keyword arguments of ``tnrnn.nn.tasks.make_task``, e.g.
        ``{"name": "adding", "length": 200}``.
    out_dir : path
        Where ``results.jsonl`` lives.
    variants : sequence of GateVariant
    cell, hidden, depth, steps, batch_size, lr, seed, eval_every :
        Model and training settings shared by all runs.
    diag_batch : int
        Batch of the gradient-condition diagnostics.
    progress : bool
        Show progress bars.

    Returns
    -------
    list of dict
        One record per (task, variant): ``task``, ``length``, ``variant``, ``gate``,
        ``init``, the :func:`train_gated` summary (``history`` included, with the
        gradient fit at every evaluation: for copying, of the loss on the recall window,
        ``diagnostic_loss_steps`` = K, fitted from lag K on), and ``timescales_initial`` /
        ``timescales_final`` (:class:`TimescaleSummary` dicts with per-unit values).
    """
    from tqdm.auto import tqdm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.jsonl"
    done = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    finished = {(r["task"], r["length"], r["variant"]) for r in done}
    jobs = [(spec, variant) for spec in task_specs for variant in variants]
    records = list(done)
    bar = tqdm(jobs, desc="gate variants", disable=not progress)
    for spec, variant in bar:
        spec = dict(spec)
        name, length = spec.pop("name"), spec.pop("length")
        if (name, length, variant.name) in finished:
            continue
        bar.set_postfix_str(f"{name} {length}: {variant.name}")
        task = make_task(name, length, **spec)
        model = build_gated_model(task, variant, cell=cell, hidden=hidden, depth=depth, seed=seed)
        # copying has a loss at every step; its memory is tested by the recall window (last K steps)
        window = getattr(task, "word_length", None) if name == "copying" else None
        callback = GradientConditionCallback(batch_size=diag_batch, loss_steps=window,
                                             min_lag=window if window is not None else 1)
        diag_inputs, _ = task.sample(diag_batch, torch.Generator().manual_seed(callback.seed))
        initial = gate_timescales(model, diag_inputs, horizon=task.sequence_length)
        summary = train_gated(model, task, steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                              eval_every=eval_every, callbacks=[callback], progress=progress,
                              desc=variant.name)
        final = gate_timescales(model, diag_inputs, horizon=task.sequence_length)
        record = {"task": name, "length": length, "sequence_length": task.sequence_length,
                  "variant": variant.name, "gate": variant.gate,
                  "init": variant.init, "cell": cell, "hidden": hidden, "depth": depth, "steps": steps,
                  "lr": lr, "seed": seed, "diagnostic_loss_steps": window, **summary,
                  "timescales_initial": initial.to_dict(), "timescales_final": final.to_dict()}
        append_line(path, json.dumps(record), "results file")
        records.append(record)
        if progress:
            bar.write(f"{name} {length} | {variant.name}: final loss {summary['final_loss']:.4g} "
                      f"(baseline {task.baseline_loss:.4g}), solved at {summary['steps_to_solve']}, "
                      f"{summary['seconds']:.0f} s")
    return records


def _per_unit_quantile(summary: dict, q: float) -> float | None:
    values = np.array([np.inf if v is None else v for v in summary["per_unit"]])
    return finite_or_none(np.quantile(values, q, method="inverted_cdf"))


def summarize_comparison(records: Sequence[dict]) -> list[dict]:
    """One row per run of :func:`compare_gate_variants`: the numbers the README quotes.

    Parameters
    ----------
    records : sequence of dict

    Returns
    -------
    list of dict
        ``task``, ``T`` (sequence length), ``variant``, ``steps_to_solve``, ``final_loss``,
        ``final_metric`` (the task's metric: recall accuracy for copying, fraction within
        0.04 for adding),
        ``baseline_loss``, ``tau_median_initial``, ``tau_median_final``, ``tau_q90_final``
        (per-unit gate time scales), ``gradient_timescale_initial`` (1/rate of the fit at
        step 0, None if no decay), ``condition_early`` / ``condition_late`` (fraction of
        evaluations in the first / second half of training where the condition held).
    """
    rows = []
    for r in records:
        history = r["history"]
        half = r["steps"] / 2
        early = [line["condition_holds"] for line in history if line["step"] <= half]
        late = [line["condition_holds"] for line in history if line["step"] > half]
        rows.append({
            "task": r["task"], "T": r.get("sequence_length", r["length"]), "variant": r["variant"],
            "steps_to_solve": r["steps_to_solve"], "final_loss": r["final_loss"], "final_metric": r["final_metric"],
            "baseline_loss": r["baseline_loss"],
            "tau_median_initial": _per_unit_quantile(r["timescales_initial"], 0.5),
            "tau_median_final": _per_unit_quantile(r["timescales_final"], 0.5),
            "tau_q90_final": _per_unit_quantile(r["timescales_final"], 0.9),
            "gradient_timescale_initial": history[0].get("fit_timescale"),
            "condition_early": float(np.mean(early)) if early else None,
            "condition_late": float(np.mean(late)) if late else None,
        })
    return rows


#: The committed experiment (``quick=False``) and its CI-sized version: task specs, steps per run.
EXPERIMENT = {
    False: {"tasks": ({"name": "adding", "length": 200}, {"name": "copying", "length": 50}),
            "steps": {"adding": 1000, "copying": 1500}, "hidden": 32},
    True: {"tasks": ({"name": "adding", "length": 30}, {"name": "copying", "length": 10}),
           "steps": {"adding": 30, "copying": 30}, "hidden": 8},
}


def experiment_results_dir(quick: bool = False, seed: int = 0) -> Path:
    """Where :func:`timescale_experiment` keeps its runs: ``runs/timescale[_quick]/seed<seed>``."""
    return Path("runs/timescale_quick" if quick else "runs/timescale") / f"seed{seed}"


def load_comparison(results_dir: str | Path) -> list[dict]:
    """The records of ``results_dir/results.jsonl`` (written by :func:`compare_gate_variants`).

    Raises
    ------
    ValueError
        If there is no ``results.jsonl`` in ``results_dir``.
    """
    path = Path(results_dir) / "results.jsonl"
    if not path.exists():
        raise ValueError(f"no results.jsonl in {str(results_dir)!r}: run compare_gate_variants first")
    return [json.loads(line) for line in path.read_text().splitlines()]


def timescale_experiment(out_dir: str | Path = "figures", *, quick: bool = False,
                         results_dir: str | Path | None = None, seed: int = 0,
                         progress: bool = True) -> list[Path]:
    """The gate-variant experiment of the README: train, record, plot.

    Every variant of :data:`DEFAULT_VARIANTS` (LSTM, width 32, Adam lr 1e-2, batch 64,
    clip 1) is trained on the adding task (T = 200, 1000 steps) and on the copying task
    (delay B = 50, T = 70, 1500 steps); ``quick=True`` shrinks everything for CI.
    Finished runs are kept in ``results_dir/results.jsonl``, so an interrupted run
    resumes (delete that file to retrain).

    Parameters
    ----------
    out_dir : path
        Where ``timescale_*.png`` go.
    quick : bool
        Tiny sizes.
    results_dir : path, optional
        Default ``runs/timescale`` (``runs/timescale_quick`` when quick).
    seed : int
        Seed of weights, inits and batches.
    progress : bool
        Show progress bars.

    Returns
    -------
    list of pathlib.Path
        The figures written (three per task, see :func:`plot_timescale_comparison`).
    """
    settings = EXPERIMENT[bool(quick)]
    results = Path(results_dir) if results_dir is not None else experiment_results_dir(quick, seed)
    records: list[dict] = []
    for spec in settings["tasks"]:
        records = compare_gate_variants([spec], results, hidden=settings["hidden"],
                                        steps=settings["steps"][spec["name"]], seed=seed, progress=progress,
                                        eval_every=max(5, settings["steps"][spec["name"]] // 20))
    return plot_timescale_comparison(records, out_dir)
