"""Training loop: RMSprop with a separate orthogonal learning rate, plateau schedule, early stop,
validation on a fixed set, JSON-lines metrics, atomic checkpoints and exact resumption.

A run lives in a directory::

    config.json      the TrainConfig (written first)
    metrics.jsonl    one JSON object per evaluation
    checkpoint.pt    model, optimiser, data-generator and schedule state (atomic write)

Schedule (SCIENCE.md §10, configurable): every ``eval_every`` steps the model is scored
on a fixed validation set; an evaluation that does not improve the best validation loss
by more than ``plateau_threshold`` counts against ``plateau_patience``; when the patience
runs out the learning rates are multiplied by ``plateau_factor``, and at the
``max_plateaus``-th plateau training stops and the best weights are restored. A non-finite
training loss also stops the run (event ``diverged``) and restores the best weights.

Resumption: the checkpoint holds everything the next step depends on (weights, RMSprop
state and learning rates, the data generator's state, the running training loss, the
schedule counters), so an interrupted run continues exactly where it stopped: on CPU its
metrics are bitwise those of an uninterrupted run with the same seed (wall-clock fields
``seconds`` aside). Ctrl-C during training saves a checkpoint of the last finished step
before stopping. Metrics lines written after the last checkpoint are dropped on resume,
so no step is lost or repeated.
"""

from __future__ import annotations

import json
import math
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import torch

from tnrnn._files import output_dir, read_json, read_jsonl, remove_stale_temps, safe_torch_load
from tnrnn.nn.config import TrainConfig
from tnrnn.nn.stack import DeepRNN, build_model, count_parameters

__all__ = ["train", "load_run", "evaluate_model", "CONFIG_FILE", "METRICS_FILE", "CHECKPOINT_FILE"]

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_FILE = "checkpoint.pt"

Callback = Callable[[int, torch.nn.Module, object], "dict | None"]

_VALIDATION_SEED_OFFSET = 1 << 40  # the validation set's generator never meets a training seed


# --- files ------------------------------------------------------------------------------


def _atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Write through a temporary file in the same directory, then ``os.replace``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _write_json(path: Path, obj) -> None:
    def write(tmp):
        with open(tmp, "w") as fh:
            json.dump(obj, fh, indent=2)
            fh.write("\n")

    _atomic_write(path, write)


def _read_config(path: Path) -> TrainConfig:
    data = read_json(path, "run config")  # names the file on bad JSON
    if not isinstance(data, dict):
        raise ValueError(f"run config {str(path)!r} is not a JSON object; fix or delete it")
    return TrainConfig.from_dict(data)


def _read_metrics(path: Path, up_to_step: int | None = None) -> list[dict]:
    if not path.exists():
        return []
    lines = read_jsonl(path, "metrics file")  # drops a torn last line with a note
    return [m for m in lines if up_to_step is None or m["step"] <= up_to_step]


def _load_checkpoint(path: Path, device) -> dict:
    return safe_torch_load(path, map_location=device)  # corrupt or truncated: ValueError naming it


def _load_model_state(model: torch.nn.Module, state: dict, source: Path) -> None:
    """``load_state_dict`` with an error that names every key or shape that differs."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state.items()}
    problems = [f"missing {k}" for k in expected if k not in found]
    problems += [f"unexpected {k}" for k in found if k not in expected]
    problems += [f"{k}: checkpoint {found[k]} vs model {expected[k]}"
                 for k in expected if k in found and found[k] != expected[k]]
    if problems:
        raise ValueError(f"checkpoint {source} is from a different architecture: " + "; ".join(problems[:6])
                         + (f" (and {len(problems) - 6} more)" if len(problems) > 6 else ""))
    model.load_state_dict(state)


# --- evaluation -------------------------------------------------------------------------


def evaluate_model(model: torch.nn.Module, task, inputs: torch.Tensor, targets: torch.Tensor,
                   chunk: int = 512) -> tuple[float, float]:
    """``(loss, metric)`` of ``model`` on a fixed set, by chunks of ``chunk`` sequences.

    The loss is the chunk-size-weighted mean of the task loss (every task loss is a mean
    over sequences, so this is the loss of the whole set).
    """
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total_loss = total_metric = 0.0
    with torch.no_grad():
        for start in range(0, inputs.shape[0], chunk):
            x = inputs[start:start + chunk].to(device)
            y = targets[start:start + chunk].to(device)
            out = model(x)
            total_loss += float(task.loss(out, y)) * x.shape[0]
            total_metric += task.metric(out, y) * x.shape[0]
    model.train(was_training)
    return total_loss / inputs.shape[0], total_metric / inputs.shape[0]


# --- the loop ------------------------------------------------------------------------------


class _DeferInterrupt:
    """Turn the first Ctrl-C into a flag checked between steps (main thread only)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        self.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C stops at once

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


def _optimizer(model: DeepRNN, config: TrainConfig) -> torch.optim.RMSprop:
    orthogonal = model.orthogonal_parameters() if model.layers is not None else []
    orthogonal_ids = {id(p) for p in orthogonal}
    others = [p for p in model.parameters() if id(p) not in orthogonal_ids]
    groups = [{"params": others, "lr": config.lr, "name": "default"}]
    if orthogonal:
        groups.append({"params": orthogonal, "lr": config.lr_orthogonal, "name": "orthogonal"})
    return torch.optim.RMSprop(groups, alpha=config.rmsprop_alpha)


def _prepare_dir(out_dir: Path, config: TrainConfig) -> bool:
    """Create ``out_dir``; check a previous run there matches ``config``. Returns whether to resume."""
    output_dir(out_dir, "out_dir")
    remove_stale_temps(out_dir)  # left by a save that a crash interrupted
    config_path, checkpoint_path = out_dir / CONFIG_FILE, out_dir / CHECKPOINT_FILE
    resume = checkpoint_path.exists()
    if resume:
        if not config_path.exists():
            raise ValueError(f"{checkpoint_path} exists without {CONFIG_FILE}: cannot tell what it trained")
        differences = _read_config(config_path).differences(config)
        if differences:
            raise ValueError(f"{out_dir} holds a run with a different configuration "
                             f"(stored != requested): {'; '.join(differences)}; use another --out directory")
    elif (out_dir / METRICS_FILE).exists():
        (out_dir / METRICS_FILE).unlink()  # metrics of a run that never checkpointed
    _write_json(config_path, config.to_dict())
    return resume


def train(config: TrainConfig, out_dir: str | os.PathLike, *, callbacks: Iterable[Callback] = (),
          progress: bool = True) -> dict:
    """Train the network of ``config`` and write the run to ``out_dir`` (resuming if it holds one).

    Parameters
    ----------
    config : TrainConfig
    out_dir : path
        Run directory (created): ``config.json``, ``metrics.jsonl``, ``checkpoint.pt``.
    callbacks : iterable of callables
        ``callback(step, model, task) -> dict | None`` at every evaluation (model in eval
        mode); a returned dict is merged into that metrics line.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    dict
        ``steps``, ``final_loss`` (validation loss of the final weights), ``baseline_loss``,
        ``accuracy`` (validation metric of the final weights), ``parameters``,
        ``best_loss``, ``train_loss``, ``stopped_early``, ``seconds``, ``out_dir``.

    Raises
    ------
    ValueError
        If ``out_dir`` holds a run with another configuration (the differing fields are
        named) or a checkpoint of another architecture.
    KeyboardInterrupt
        After saving a checkpoint of the last finished step.

    Notes
    -----
    One step costs O(batch · T · L · R²) forward and backward.
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
    out_dir = Path(out_dir)
    resume = _prepare_dir(out_dir, config)
    device = torch.device(config.device)
    task = config.make_task()
    model = build_model(config, task).to(device)
    optimizer = _optimizer(model, config)
    data = torch.Generator().manual_seed(config.seed)
    val_inputs, val_targets = task.sample(
        config.val_size, torch.Generator().manual_seed(config.seed + _VALIDATION_SEED_OFFSET))
    parameters = count_parameters(model)
    state = {"step": 0, "train_sum": 0.0, "train_count": 0, "best_loss": math.inf, "bad_evals": 0,
             "plateaus": 0, "stopped": False, "elapsed": 0.0, "last": None}
    best_model = None
    metrics_path, checkpoint_path = out_dir / METRICS_FILE, out_dir / CHECKPOINT_FILE

    if resume:
        checkpoint = _load_checkpoint(checkpoint_path, device)
        _load_model_state(model, checkpoint["model"], checkpoint_path)
        optimizer.load_state_dict(checkpoint["optimizer"])
        data.set_state(checkpoint["data_generator"].cpu())
        state.update(checkpoint["state"])
        best_model = checkpoint.get("best_model")
        kept = _read_metrics(metrics_path, state["step"])
        metrics_path.write_text("".join(json.dumps(m) + "\n" for m in kept))

    def save() -> None:
        payload = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                   "data_generator": data.get_state(), "state": dict(state), "best_model": best_model,
                   "config": config.to_dict()}
        _atomic_write(checkpoint_path, lambda tmp: torch.save(payload, tmp))

    def evaluate(step: int, diverged: bool = False) -> dict:
        nonlocal best_model
        val_loss, val_metric = evaluate_model(model, task, val_inputs, val_targets, chunk=config.batch_size)
        line = {"step": step,
                "train_loss": state["train_sum"] / max(state["train_count"], 1),
                "val_loss": val_loss, "accuracy": val_metric, "baseline_loss": task.baseline_loss,
                "lr": optimizer.param_groups[0]["lr"]}
        if len(optimizer.param_groups) > 1:
            line["lr_orthogonal"] = optimizer.param_groups[1]["lr"]
            line["orthogonality_error"] = model.orthogonality_error()
        state["train_sum"], state["train_count"] = 0.0, 0
        if val_loss < state["best_loss"] - config.plateau_threshold:
            state["best_loss"], state["bad_evals"] = val_loss, 0
            best_model = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:  # as Keras' ReduceLROnPlateau: the best moves only by improvements > threshold
            state["bad_evals"] += 1
        if diverged:
            line["event"] = "diverged: non-finite training loss; best weights restored"
            state["stopped"] = True
        elif config.plateau_patience and state["bad_evals"] >= config.plateau_patience:
            state["plateaus"] += 1
            state["bad_evals"] = 0
            if state["plateaus"] >= config.max_plateaus:
                line["event"] = "early stop: best weights restored"
                state["stopped"] = True
            else:
                line["event"] = f"plateau {state['plateaus']}: learning rates x{config.plateau_factor}"
                for group in optimizer.param_groups:
                    group["lr"] *= config.plateau_factor
        model.eval()
        for callback in callbacks:
            extra = callback(step, model, task)
            if extra:
                line.update(extra)
        model.train()
        if state["stopped"] and best_model is not None:
            model.load_state_dict(best_model)
            line["restored_val_loss"], line["restored_accuracy"] = evaluate_model(
                model, task, val_inputs, val_targets, chunk=config.batch_size)
        state["last"] = {"val_loss": line.get("restored_val_loss", val_loss),
                         "accuracy": line.get("restored_accuracy", val_metric),
                         "train_loss": line["train_loss"]}
        line["seconds"] = state["elapsed"]
        with open(metrics_path, "a") as fh:
            fh.write(json.dumps(line) + "\n")
        return line

    started = time.perf_counter() - state["elapsed"]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=config.steps, initial=state["step"], desc=f"{config.task} {config.cell} L={config.depth}",
                   unit="step", dynamic_ncols=True)
    model.train()
    try:
        with _DeferInterrupt() as interrupt:
            while state["step"] < config.steps and not state["stopped"]:
                if interrupt.requested:
                    state["elapsed"] = time.perf_counter() - started
                    save()
                    raise KeyboardInterrupt
                inputs, targets = task.sample(config.batch_size, data)
                optimizer.zero_grad(set_to_none=True)
                loss = task.loss(model(inputs.to(device)), targets.to(device))
                loss.backward()
                loss_value = loss.item()
                if config.clip is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
                optimizer.step()
                state["step"] += 1
                state["train_sum"] += loss_value
                state["train_count"] += 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss_value:.4f}")
                if not math.isfinite(loss_value):
                    state["elapsed"] = time.perf_counter() - started
                    evaluate(state["step"], diverged=True)
                    save()
                elif state["step"] % config.eval_every == 0 or state["step"] == config.steps:
                    state["elapsed"] = time.perf_counter() - started
                    line = evaluate(state["step"])
                    save()
                    if bar is not None:
                        bar.set_postfix(loss=f"{line['train_loss']:.4f}", val=f"{line['val_loss']:.4f}")
    finally:
        if bar is not None:
            bar.close()
    if state["last"] is None:  # resumed a finished run, or zero steps: score the current weights
        val_loss, val_metric = evaluate_model(model, task, val_inputs, val_targets, chunk=config.batch_size)
        state["last"] = {"val_loss": val_loss, "accuracy": val_metric, "train_loss": None}
    summary = {"steps": state["step"], "final_loss": state["last"]["val_loss"],
               "baseline_loss": task.baseline_loss, "accuracy": state["last"]["accuracy"],
               "parameters": parameters, "best_loss": state["best_loss"],
               "train_loss": state["last"]["train_loss"], "stopped_early": state["stopped"],
               "seconds": state["elapsed"], "task": config.task, "cell": config.cell, "depth": config.depth,
               "hidden": config.hidden, "out_dir": str(out_dir)}
    return summary


def load_run(out_dir: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[DeepRNN, TrainConfig, object]:
    """Rebuild a trained model from ``out_dir/config.json`` and ``out_dir/checkpoint.pt``.

    Returns
    -------
    (model, config, task)
        The model (eval mode, on ``device``) holds the checkpoint's weights (the best weights
        if the run stopped early).

    Raises
    ------
    ValueError
        Missing files, or a checkpoint whose tensors do not fit the configured architecture.
    """
    out_dir = Path(out_dir)
    for name in (CONFIG_FILE, CHECKPOINT_FILE):
        if not (out_dir / name).exists():
            raise ValueError(f"{out_dir} is not a training run: {name} is missing")
    config = _read_config(out_dir / CONFIG_FILE)
    task = config.make_task()
    model = build_model(config, task)
    checkpoint = _load_checkpoint(out_dir / CHECKPOINT_FILE, "cpu")
    _load_model_state(model, checkpoint["model"], out_dir / CHECKPOINT_FILE)
    return model.to(device).eval(), config, task
