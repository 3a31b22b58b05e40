"""Training loop: RMSprop with a separate orthogonal learning rate, plateau schedule, early stop,
validation on a fixed set, JSON-lines metrics, atomic checkpoints and exact resumption.

A run lives in a directory::

    config.json      the TrainConfig (written first)
    metrics.jsonl    one JSON object per evaluation
    checkpoint.pt    model, optimiser, data-generator and schedule state (atomic write)

Schedule (as in the code of Levine et al., arXiv:1710.09431, and Ziv, arXiv:2003.10163;
configurable): every ``eval_every`` steps the model is scored
on a fixed validation set; an evaluation that does not improve the best validation loss
by more than ``plateau_threshold`` counts against ``plateau_patience``; when the patience
runs out the learning rates are multiplied by ``plateau_factor``, and at the
``max_plateaus``-th plateau training stops and the best weights are restored. A non-finite
training loss also stops the run (event ``diverged``) and restores the best weights. The
summary's validation and test scores are always those of the best-validation weights (also
when the run reaches its step cap), with the step they are from (``best_step``) and how the
run ended (``ended``: ``plateau``, ``cap`` or ``diverged``).

The loop is the package's one training loop, :func:`tnrnn.nn.loop.run_steps`: this module
supplies one step (every active seed of a run or ensemble), the evaluation (score, log,
checkpoint), the stop rule (no seed active) and the checkpoint saved on Ctrl-C; the loop
decides when each runs.

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
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from tnrnn._files import (
    atomic_write_text,
    output_dir,
    read_json,
    remove_stale_temps,
    safe_torch_load,
    save_torch,
)
from tnrnn._heap import keep_freed_memory
from tnrnn._runfiles import (
    append_metrics,
    check_checkpoint,
    check_ensemble_checkpoint,
    check_weights,
    read_manifest,
    read_metrics,
    rewrite_metrics,
)
from tnrnn.nn._rmsprop import step_together
from tnrnn.nn.budget import check_train_size
from tnrnn.nn.config import TrainConfig
from tnrnn.nn.loop import on_schedule, run_steps
from tnrnn.nn.stack import DeepRNN, build_model, count_free_parameters, count_parameters

__all__ = ["train", "train_ensemble", "member_dir", "load_run", "evaluate_model", "CONFIG_FILE", "METRICS_FILE",
           "CHECKPOINT_FILE", "ENSEMBLE_FILE", "ENSEMBLE_CHECKPOINT_FILE"]

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_FILE = "checkpoint.pt"
ENSEMBLE_FILE = "ensemble.json"
ENSEMBLE_CHECKPOINT_FILE = "ensemble.pt"

Callback = Callable[[int, torch.nn.Module, object], "dict | None"]

# Generators of the fixed sets never meet a training seed (nor each other).
_VALIDATION_SEED_OFFSET = 1 << 40
_TEST_SEED_OFFSET = 2 << 40
_EVAL_STATE_SEED_OFFSET = 3 << 40  # initial states drawn during evaluation


# --- files ------------------------------------------------------------------------------


def _write_json(path: Path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2) + "\n", "run file")


def _read_config(path: Path) -> TrainConfig:
    data = read_json(path, "run config")  # names the file on bad JSON
    if not isinstance(data, dict):
        raise ValueError(f"run config {str(path)!r} is not a JSON object; fix or delete it")
    try:
        return TrainConfig.from_dict(data)
    except (ValueError, TypeError) as error:  # the value's check, with the file that holds it
        raise ValueError(f"run config {str(path)!r}: {error}; fix or delete it") from None


def _read_metrics(path: Path, up_to_step: int | None = None) -> list[dict]:
    return read_metrics(path, up_to_step)[0]  # structure checked; a torn last line dropped with a note


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


# --- one seed's run --------------------------------------------------------------------


class _FixedSet:
    """A fixed evaluation set, kept as tokens for symbol tasks (one-hot encoded chunk by chunk)."""

    def __init__(self, task, size: int, seed: int) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.task = task
        if task.alphabet_size is not None:
            self.data, self.targets = task.sample_tokens(size, generator)
        else:
            self.data, self.targets = task.sample(size, generator)

    def __len__(self) -> int:
        return self.targets.shape[0]

    def chunks(self, size: int):
        for start in range(0, len(self), size):
            data = self.data[start:start + size]
            inputs = self.task.encode(data) if self.task.alphabet_size is not None else data
            yield inputs, self.targets[start:start + size]


def _initial_states(config: TrainConfig, batch: int, generator: torch.Generator) -> torch.Tensor | None:
    """``h_0`` of every layer, ``(L, batch, R)``: None (zero) or uniform in ±sqrt(3/R)."""
    if config.initial_state == "zero":
        return None
    bound = math.sqrt(3.0 / config.hidden)
    return torch.empty(config.depth, batch, config.hidden).uniform_(-bound, bound, generator=generator)


def evaluate_model(model: torch.nn.Module, task, inputs, targets: torch.Tensor | None = None,
                   chunk: int = 512, *, config: TrainConfig | None = None, seed: int = 0) -> tuple[float, float]:
    """``(loss, metric)`` of ``model`` on a fixed set, by chunks of ``chunk`` sequences.

    ``inputs, targets`` are tensors, or ``inputs`` is a fixed set with ``chunks(size)``
    (``targets`` then None). The loss is the chunk-size-weighted mean of the task loss
    (every task loss is a mean over sequences, so this is the loss of the whole set). With
    ``config.initial_state == "uniform"`` the initial states are drawn from a generator
    seeded by ``seed``, so the score is reproducible.
    """
    parameter = next(model.parameters())
    device, dtype = parameter.device, parameter.dtype
    chunks = inputs.chunks(chunk) if targets is None else (
        (inputs[s:s + chunk], targets[s:s + chunk]) for s in range(0, inputs.shape[0], chunk))
    generator = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    total_loss = total_metric = 0.0
    count = 0
    with torch.no_grad():
        for x, y in chunks:
            x, y = x.to(device, dtype), y.to(device)
            initial = None if config is None else _initial_states(config, x.shape[0], generator)
            out = model(x) if initial is None else model(x, initial.to(device, dtype))
            total_loss += float(task.loss(out, y)) * x.shape[0]
            total_metric += task.metric(out, y) * x.shape[0]
            count += x.shape[0]
    model.train(was_training)
    return total_loss / count, total_metric / count


def _optimizer(model: DeepRNN, config: TrainConfig) -> torch.optim.RMSprop:
    orthogonal = model.orthogonal_parameters() if model.layers is not None else []
    orthogonal_ids = {id(p) for p in orthogonal}
    others = [p for p in model.parameters() if id(p) not in orthogonal_ids]
    groups = [{"params": others, "lr": config.lr, "name": "default"}]
    if orthogonal:
        groups.append({"params": orthogonal, "lr": config.lr_orthogonal, "name": "orthogonal"})
    optimizer = torch.optim.RMSprop(groups, alpha=config.rmsprop_alpha)
    if config.rmsprop_initial:  # TensorFlow 1 starts the running average at 1, torch at 0
        for group in optimizer.param_groups:
            for p in group["params"]:
                optimizer.state[p] = {"step": torch.zeros(()),
                                      "square_avg": torch.full_like(p, config.rmsprop_initial,
                                                                    memory_format=torch.preserve_format)}
    return optimizer


def _prepare_dir(out_dir: Path, config: TrainConfig, *, resume: bool | None = None) -> bool:
    """Create ``out_dir``; check a previous run there matches ``config``. Returns whether to resume.

    ``resume`` (default: a checkpoint exists in ``out_dir``) is decided by the caller for
    ensemble members, whose checkpoint of record is the ensemble's. The caller writes
    ``config.json`` once the checkpoint and metrics are checked, so a refused run
    directory is left exactly as it was.
    """
    output_dir(out_dir, "out_dir")
    remove_stale_temps(out_dir)  # left by a save that a crash interrupted
    config_path, checkpoint_path = out_dir / CONFIG_FILE, out_dir / CHECKPOINT_FILE
    resume = checkpoint_path.exists() if resume is None else resume
    if resume:
        if not config_path.exists():
            raise ValueError(f"{checkpoint_path} exists without {CONFIG_FILE}: cannot tell what it trained")
        differences = _read_config(config_path).differences(config)
        if differences:
            raise ValueError(f"{out_dir} holds a run with a different configuration "
                             f"(stored != requested): {'; '.join(differences)}; use another --out directory")
    elif (out_dir / METRICS_FILE).exists():
        (out_dir / METRICS_FILE).unlink()  # metrics of a run that never checkpointed
    return resume


@dataclass
class _RunState:
    """A run's schedule state: the ``"state"`` dict of its checkpoint, as typed attributes.

    :meth:`to_dict` and :meth:`from_dict` write and read that dict exactly as it has always
    been stored (the same keys, in the same order, with the same values), so checkpoints of
    earlier versions resume here and the ones written here resume in them;
    :func:`tnrnn._runfiles.check_checkpoint` checks its types on load.

    Attributes
    ----------
    step : int
        Optimiser steps taken.
    train_sum, train_count : float, int
        The training losses summed since the last evaluation, and how many.
    best_loss : float
        The lowest validation loss of any evaluation.
    best_tracked : float
        The plateau rule's reference: the validation loss of the last improvement by more
        than ``plateau_threshold`` (the best weights are from that evaluation).
    bad_evals, plateaus : int
        Evaluations since that improvement; plateaus so far.
    stopped : bool
        The run stopped early (plateau rule or divergence).
    elapsed : float
        Wall-clock seconds of training, over every session.
    last : dict or None
        ``val_loss``, ``accuracy``, ``train_loss`` of the last evaluation (after a restore of
        the best weights, their scores).
    best_step : int or None
        The step of the best weights.
    ended : str or None
        ``"plateau"`` or ``"diverged"`` once the run stopped early.
    extra : dict
        Keys of a stored state that this version does not know, written back as they were.
    """

    step: int = 0
    train_sum: float = 0.0
    train_count: int = 0
    best_loss: float = math.inf
    best_tracked: float = math.inf
    bad_evals: int = 0
    plateaus: int = 0
    stopped: bool = False
    elapsed: float = 0.0
    last: dict | None = None
    best_step: int | None = None
    ended: str | None = None
    extra: dict = field(default_factory=dict)

    #: The stored keys, in the order they are written.
    KEYS = ("step", "train_sum", "train_count", "best_loss", "best_tracked", "bad_evals", "plateaus", "stopped",
            "elapsed", "last", "best_step", "ended")

    def to_dict(self) -> dict:
        """The checkpoint's ``"state"``."""
        return {**{key: getattr(self, key) for key in self.KEYS}, **self.extra}

    @classmethod
    def from_dict(cls, stored: dict) -> _RunState:
        """The state of a checkpoint's ``"state"``; a key it lacks keeps the value of a new run.

        Checkpoints written before ``best_tracked``, ``best_step`` and ``ended`` were
        recorded lack them: they take ``inf``, None and None, as they always have here.
        """
        return cls(**{key: stored[key] for key in cls.KEYS if key in stored},
                   extra={key: value for key, value in stored.items() if key not in cls.KEYS})


class _Run:
    """One seed's run: network, optimiser, data stream, fixed sets, schedule state, best weights."""

    def __init__(self, config: TrainConfig, out_dir: Path, task, device: torch.device) -> None:
        self.config, self.dir, self.task, self.device = config, out_dir, task, device
        self.model = build_model(config, task).to(device)
        self.optimizer = _optimizer(self.model, config)
        self.data = torch.Generator().manual_seed(config.seed)
        self.validation = _FixedSet(task, config.val_size, config.seed + _VALIDATION_SEED_OFFSET)
        self.parameters = count_parameters(self.model)
        self.free_parameters = count_free_parameters(self.model)
        self.state = _RunState()
        self.best_model = None
        self.metrics_path = out_dir / METRICS_FILE
        self.checkpoint_path = out_dir / CHECKPOINT_FILE

    @property
    def active(self) -> bool:
        return not self.state.stopped and self.state.step < self.config.steps

    def payload(self) -> dict:
        """Everything the next step depends on (the checkpoint of a single run)."""
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "data_generator": self.data.get_state(), "state": self.state.to_dict(),
                "best_model": self.best_model, "config": self.config.to_dict()}

    def restore(self, payload: dict, source: Path) -> None:
        check_checkpoint(payload, source, seed=self.config.seed)
        _load_model_state(self.model, payload["model"], source)
        if payload.get("best_model") is not None:  # restored at an early stop: it must fit the model too
            check_weights(payload["best_model"], {k: tuple(v.shape) for k, v in self.model.state_dict().items()},
                          f"checkpoint {str(source)!r}", "its best weights")
        try:
            self.optimizer.load_state_dict(payload["optimizer"])
            self.data.set_state(payload["data_generator"].cpu())
        except (ValueError, KeyError, TypeError, RuntimeError, IndexError) as error:
            raise ValueError(f"checkpoint {str(source)!r}: its optimiser or data-generator state does not fit this "
                             f"run ({type(error).__name__}: {str(error)[:120]}); delete it (and retrain or resume "
                             f"from scratch) or restore a good copy") from None
        self.state = _RunState.from_dict(payload["state"])
        self.best_model = payload.get("best_model")
        kept, clean = read_metrics(self.metrics_path, self.state.step)
        if not clean:  # a torn line or lines logged after the checkpoint: a new file, renamed over the old
            rewrite_metrics(self.metrics_path, kept)

    def save(self) -> None:
        payload = self.payload()
        save_torch(payload, self.checkpoint_path)

    def batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """The next training batch ``(inputs, targets, initial states)``, on the run's device and dtype."""
        inputs, targets = self.task.sample(self.config.batch_size, self.data)
        initial = _initial_states(self.config, self.config.batch_size, self.data)
        dtype = next(self.model.parameters()).dtype
        return (inputs.to(self.device, dtype), targets.to(self.device),
                None if initial is None else initial.to(self.device, dtype))

    @staticmethod
    def batches(runs: list[_Run]) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor | None]:
        """The next batch of every run of an ensemble, stacked: ``(inputs, targets, initial states)``.

        Each run draws from its own generator exactly what :meth:`batch` draws. A symbol
        task's inputs are symbols ``(K, B, T)``, which the ensemble looks up instead of
        multiplying one-hot vectors; others are ``(K, B, T, input_size)``.
        """
        first = runs[0]
        if first.task.alphabet_size is None:
            drawn = [run.batch() for run in runs]
            initial = None if drawn[0][2] is None else torch.stack([b[2] for b in drawn])
            return torch.stack([b[0] for b in drawn]), [b[1] for b in drawn], initial
        size = first.config.batch_size
        inputs, targets = first.task.sample_tokens_together(size, [run.data for run in runs])
        initial = [_initial_states(run.config, size, run.data) for run in runs]  # after the sample, as batch()
        dtype = next(first.model.parameters()).dtype
        return (inputs.to(first.device), list(targets.to(first.device).unbind(0)),
                None if initial[0] is None else torch.stack(initial).to(first.device, dtype))

    def clip_gradients(self) -> None:
        """The norm clip of ``config.clip``, if any (the recurrent ∞-norm clip is a hook of the model)."""
        if self.config.clip is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.clip)

    def count_step(self, loss_value: float) -> None:
        """Count a step taken, and its training loss."""
        self.state.step += 1
        self.state.train_sum += loss_value
        self.state.train_count += 1

    def evaluate(self, callbacks, diverged: bool = False) -> dict:
        """Score on the validation set, advance the plateau schedule, log one metrics line."""
        config, state, optimizer, model = self.config, self.state, self.optimizer, self.model
        val_loss, val_metric = self._score(self.validation)
        line = {"step": state.step,
                "train_loss": state.train_sum / max(state.train_count, 1),
                "val_loss": val_loss, "accuracy": val_metric, "baseline_loss": self.task.baseline_loss,
                "lr": optimizer.param_groups[0]["lr"]}
        if len(optimizer.param_groups) > 1:
            line["lr_orthogonal"] = optimizer.param_groups[1]["lr"]
            line["orthogonality_error"] = model.orthogonality_error()
        state.train_sum, state.train_count = 0.0, 0
        if val_loss < state.best_loss:  # the best loss seen, whatever the threshold
            state.best_loss = val_loss
        if val_loss < state.best_tracked - config.plateau_threshold:
            state.best_tracked, state.bad_evals = val_loss, 0
            state.best_step = state.step
            self.best_model = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:  # as Keras' ReduceLROnPlateau: the reference moves only by improvements > threshold
            state.bad_evals += 1
        if diverged:
            line["event"] = "diverged: non-finite training loss; best weights restored"
            state.stopped, state.ended = True, "diverged"
        elif config.plateau_patience and state.bad_evals >= config.plateau_patience:
            state.plateaus += 1
            state.bad_evals = 0
            if state.plateaus >= config.max_plateaus:
                line["event"] = "early stop: best weights restored"
                state.stopped, state.ended = True, "plateau"
            else:
                line["event"] = f"plateau {state.plateaus}: learning rates x{config.plateau_factor}"
                for group in optimizer.param_groups:
                    group["lr"] *= config.plateau_factor
        model.eval()
        for callback in callbacks:
            extra = callback(state.step, model, self.task)
            if extra:
                line.update(extra)
        model.train()
        if state.stopped and self.best_model is not None:
            model.load_state_dict(self.best_model)
            line["restored_val_loss"], line["restored_accuracy"] = self._score(self.validation)
        state.last = {"val_loss": line.get("restored_val_loss", val_loss),
                      "accuracy": line.get("restored_accuracy", val_metric),
                      "train_loss": line["train_loss"]}
        line["seconds"] = state.elapsed
        append_metrics(self.metrics_path, line)  # the whole line or nothing, never rewritten
        return line

    def _score(self, fixed: _FixedSet) -> tuple[float, float]:
        return evaluate_model(self.model, self.task, fixed, chunk=max(self.config.batch_size, 512),
                              config=self.config, seed=self.config.seed + _EVAL_STATE_SEED_OFFSET)

    def summary(self) -> dict:
        """The run's summary: validation and test scores of the best-validation weights.

        Whatever ended the run (the plateau rule, the step cap, a divergence), the scored
        weights are those of the best validation check, as in the published code (which
        restores its best checkpoint before testing); ``best_step`` says which step they
        are from and ``ended`` how the run ended. The network's own weights (those the
        next step would continue from) are left as they were.
        """
        state, config = self.state, self.config
        # best weights from the last check: its validation scores are theirs (the same evaluation)
        scored = state.last if self.best_model is not None and state.best_step == state.step and state.last else None
        current = None
        if self.best_model is not None:
            current = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            self.model.load_state_dict(self.best_model)
        try:
            if scored is not None:
                val_loss, val_metric = scored["val_loss"], scored["accuracy"]
            else:
                val_loss, val_metric = self._score(self.validation)
            test_loss, test_metric = self._score(
                _FixedSet(self.task, config.test_size, config.seed + _TEST_SEED_OFFSET))
        finally:
            if current is not None:
                self.model.load_state_dict(current)
        ended = state.ended or ("cap" if state.step >= config.steps else "interrupted")
        last = state.last or {}
        return {"seed": config.seed, "steps": state.step, "final_loss": val_loss,
                "baseline_loss": self.task.baseline_loss, "accuracy": val_metric,
                "test_loss": test_loss, "test_accuracy": test_metric, "parameters": self.parameters,
                "free_parameters": self.free_parameters, "best_loss": state.best_loss,
                "best_step": state.best_step if self.best_model is not None else None,
                "ended": ended, "last_val_loss": last.get("val_loss"), "last_accuracy": last.get("accuracy"),
                "train_loss": last.get("train_loss"), "stopped_early": state.stopped,
                "seconds": state.elapsed, "task": config.task, "cell": config.cell, "depth": config.depth,
                "hidden": config.hidden, "out_dir": str(self.dir)}


# --- the loop ------------------------------------------------------------------------------


class _torch_threads:
    """Run a block with ``torch.set_num_threads(threads)`` (None: unchanged), then restore the setting."""

    def __init__(self, threads: int | None) -> None:
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
        self.threads, self.before = threads, None

    def __enter__(self):
        if self.threads is not None:
            self.before = torch.get_num_threads()
            torch.set_num_threads(self.threads)
        return self

    def __exit__(self, *exc):
        if self.before is not None:
            torch.set_num_threads(self.before)
        return False


class _Steps:
    """The work of one step of :func:`_train_runs`, as the callables :func:`~tnrnn.nn.loop.run_steps` takes.

    One run steps through its own network; several step through one stacked forward pass
    (:func:`tnrnn.nn.ensemble.stacked_forward`), each with its own batch, loss, gradient,
    optimiser step, schedule and evaluations. The active runs share their step count (they
    step together from one checkpoint; a stopped run drops out), which is the loop's ``i``.
    """

    def __init__(self, runs: list[_Run], save: Callable[[], None], callbacks: list[Callback]) -> None:
        self.runs, self.save, self.callbacks = runs, save, callbacks
        self.started = time.perf_counter() - max(run.state.elapsed for run in runs)
        self.stepped: list[_Run] = []  # the runs the last step advanced, and their training losses
        self.losses: list[float] = []

    def done(self) -> bool:
        """No run is active: each stopped (plateau, divergence) or reached its step count."""
        return not any(run.active for run in self.runs)

    def step(self, i: int) -> list[float]:
        """One optimiser step of every active run; their training losses."""
        runs = self.runs
        active = [run for run in runs if run.active]
        for run in active:
            run.optimizer.zero_grad(set_to_none=True)
        if len(runs) == 1:
            inputs, target, initial = active[0].batch()
            outputs = [active[0].model(inputs) if initial is None else active[0].model(inputs, initial)]
            targets = [target]
        else:
            from tnrnn.nn.ensemble import stacked_forward

            inputs, targets, initial = _Run.batches(active)
            outputs = stacked_forward([run.model for run in active], inputs, initial,
                                      last_step_only=active[0].task.last_step_only).unbind(0)
        losses = [run.task.loss(out, target) for run, out, target in zip(active, outputs, targets)]
        stacked = torch.stack(losses)
        stacked.sum().backward()  # member k's parameters see only its own loss
        values = stacked.tolist()
        for run in active:
            run.clip_gradients()
        step_together([run.optimizer for run in active])  # one foreach update for all, the same numbers
        for run, value in zip(active, values):
            run.count_step(value)
        self.stepped, self.losses = active, values
        return values

    @staticmethod
    def diverged(losses: list[float]) -> bool:
        """A training loss is not finite: that run is evaluated (and stopped) at once."""
        return not all(math.isfinite(value) for value in losses)

    def evaluate(self, i: int) -> list[dict]:
        """Score and log the runs that stepped (on the schedule) or diverged (off it); checkpoint every run."""
        scheduled = on_schedule(i, self.runs[0].config.eval_every, self.runs[0].config.steps)
        lines = []
        for run, value in zip(self.stepped, self.losses):
            finite = math.isfinite(value)
            if scheduled or not finite:
                run.state.elapsed = time.perf_counter() - self.started
                lines.append(run.evaluate(self.callbacks, diverged=not finite))
        self.save()
        return lines

    def interrupted(self, i: int) -> None:
        """Ctrl-C after step ``i``: checkpoint it."""
        for run in self.runs:
            run.state.elapsed = time.perf_counter() - self.started
        self.save()

    @staticmethod
    def postfix(lines: list[dict]) -> dict:
        """The bar of a single run after an evaluation."""
        return {"loss": f"{lines[0]['train_loss']:.4f}", "val": f"{lines[0]['val_loss']:.4f}"}

    def step_postfix(self, losses: list[float]) -> dict:
        """The bar after a step: a single run's training loss; an ensemble's active members and lowest loss."""
        if len(self.runs) == 1:
            return {"loss": f"{losses[0]:.4f}"}
        return {"active": len([run for run in self.runs if run.active]), "loss": f"{min(losses):.4f}"}


def _train_runs(runs: list[_Run], save: Callable[[], None], callbacks: Iterable[Callback], progress: bool,
                description: str) -> None:
    """Step every active run together on :func:`~tnrnn.nn.loop.run_steps` until all have stopped or reached their cap.

    The runs share their configuration but for the seed. A resumed run continues from its
    checkpoint's step with no evaluation there; every ``eval_every`` steps, at the cap, and
    after a step with a non-finite training loss the runs concerned are evaluated and
    ``save`` checkpoints every run; Ctrl-C lets the step in progress finish, then ``save``
    runs and ``KeyboardInterrupt`` is raised.
    """
    work = _Steps(runs, save, list(callbacks))
    config = runs[0].config
    active = [run for run in runs if run.active]
    if len({run.state.step for run in active}) > 1:
        raise ValueError("the active members of this ensemble checkpoint are at different steps "
                         f"({sorted({run.state.step for run in active})}): it was not written by train_ensemble; "
                         "restore a good copy")
    for run in runs:
        run.model.train()
    with keep_freed_memory():  # each step's large buffers reused, not page-faulted in again (tnrnn._heap)
        run_steps(work.step, config.steps, work.evaluate, every=config.eval_every,
                  start=min(run.state.step for run in active or runs),  # with none active nothing is stepped
                  evaluate_first=False,
                  evaluate_when=work.diverged, done=work.done, defer_interrupt=True, on_interrupt=work.interrupted,
                  catch_interrupt=False, desc=description, progress=progress,
                  postfix=work.postfix if len(runs) == 1 else None, step_postfix=work.step_postfix)


def train(config: TrainConfig, out_dir: str | os.PathLike, *, callbacks: Iterable[Callback] = (),
          progress: bool = True, threads: int | None = 1) -> dict:
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
    threads : int or None
        torch CPU threads while training (restored afterwards); default 1: on a shared
        2-core machine torch's default of one thread per core ran 5-25x slower. None
        leaves torch's setting alone.

    Returns
    -------
    dict
        ``seed``, ``steps``, ``final_loss`` and ``accuracy`` (validation loss and metric of
        the best-validation weights, whatever ended the run), ``test_loss`` and
        ``test_accuracy`` (the same weights on the separate test set), ``best_step`` (the
        step those weights are from), ``ended`` (``"plateau"``: stopped by the plateau
        rule; ``"cap"``: reached ``config.steps``; ``"diverged"``), ``best_loss`` (the
        lowest validation loss of any evaluation), ``last_val_loss`` and ``last_accuracy``
        (the last evaluation), ``baseline_loss``, ``parameters`` (stored),
        ``free_parameters`` (an orthogonal R×R matrix counts R(R-1)/2), ``train_loss``,
        ``stopped_early``, ``seconds``, ``out_dir`` and the architecture.

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
    thread_setting = _torch_threads(threads)  # checked before anything is written
    check_train_size(config)  # the memory limit in force (tnrnn.limits), before any directory or tensor
    out_dir = Path(out_dir)
    resume = _prepare_dir(out_dir, config)
    run = _Run(config, out_dir, config.make_task(), torch.device(config.device))
    if resume:
        run.restore(_load_checkpoint(run.checkpoint_path, run.device), run.checkpoint_path)
    _write_json(out_dir / CONFIG_FILE, config.to_dict())  # after the checks: a refused directory stays as it was
    with thread_setting:
        _train_runs([run], run.save, callbacks, progress, f"{config.task} {config.cell} L={config.depth}")
    return run.summary()


def _check_seeds(seeds) -> list[int]:
    seeds = list(seeds) if not isinstance(seeds, (str, bytes)) else seeds
    if not isinstance(seeds, list) or not seeds or any(
            isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds):
        raise ValueError(f"seeds must be a non-empty list of integers >= 0, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        repeated = sorted({s for s in seeds if seeds.count(s) > 1})
        raise ValueError(f"seeds must be distinct, got {seeds!r} (repeated: {repeated})")
    return seeds


def member_dir(out_dir: str | os.PathLike, seed: int) -> Path:
    """The run directory of seed ``seed`` inside an ensemble directory."""
    return Path(out_dir) / f"seed-{seed}"


def train_ensemble(config: TrainConfig, seeds, out_dir: str | os.PathLike, *,
                   callbacks: Iterable[Callback] = (), progress: bool = True, threads: int | None = 1) -> dict:
    """Train one network per seed, all together, and write each seed's run to its own directory.

    The members share ``config`` except ``seed``; each has its own initialisation,
    orthogonal map, RMSprop state, data stream, validation and test sets, plateau schedule,
    early stop and best weights, and its directory ``out_dir/seed-<s>`` is an ordinary run
    directory (``tnrnn probe``, :func:`load_run` and plots read it as they read a single
    run). The arithmetic is shared: every step is one stacked forward and backward pass
    (:mod:`tnrnn.nn.ensemble`), so K members cost far less than K runs. A member follows
    the same run as ``train(dataclasses.replace(config, seed=s))`` up to float rounding.

    Parameters
    ----------
    config : TrainConfig
        The architecture, task and schedule (its ``seed`` is ignored).
    seeds : sequence of int
        Distinct seeds >= 0, one member each.
    out_dir : path
        Ensemble directory (created): ``ensemble.json`` (the seeds), ``ensemble.pt`` (the
        checkpoint of every member, written atomically: the one a resumption reads) and
        ``seed-<s>/`` per member (``config.json``, ``metrics.jsonl``, ``checkpoint.pt``).
    callbacks, progress, threads
        As for :func:`train` (callbacks run for every member).

    Returns
    -------
    dict
        ``members``: one :func:`train` summary per seed, in the order of ``seeds``;
        ``seeds``, ``seconds`` (wall clock of the whole ensemble), ``out_dir``.

    Raises
    ------
    ValueError
        Seeds repeated, negative or empty; a cell that cannot be stacked (LSTM, GRU); an
        ``out_dir`` holding an ensemble of other seeds or another configuration.
    KeyboardInterrupt
        After saving a checkpoint of the last finished step.

    Examples
    --------
    >>> import tempfile
    >>> config = TrainConfig(task="ses", length=8, word_length=2, cell="modrelu", depth=2, hidden=6,
    ...                      orthogonal="scaled_cayley", steps=4, eval_every=2, val_size=16, test_size=16)
    >>> result = train_ensemble(config, [0, 1, 2], tempfile.mkdtemp(), progress=False)
    >>> [(m["seed"], m["steps"]) for m in result["members"]]
    [(0, 4), (1, 4), (2, 4)]
    """
    import dataclasses

    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
    seeds = _check_seeds(seeds)
    thread_setting = _torch_threads(threads)
    if config.cell not in ("rac", "tanh", "modrelu"):
        raise ValueError(f"cell {config.cell!r} cannot be trained as an ensemble (its layers are torch's fused "
                         f"modules): use rac, tanh or modrelu, or train each seed alone")
    check_train_size(config, len(seeds))  # the memory limit in force, before any directory or tensor
    out_dir = Path(out_dir)
    output_dir(out_dir, "out_dir")
    remove_stale_temps(out_dir)  # left by an ensemble checkpoint save that a crash interrupted
    manifest_path, checkpoint_path = out_dir / ENSEMBLE_FILE, out_dir / ENSEMBLE_CHECKPOINT_FILE
    common = {k: v for k, v in config.to_dict().items() if k != "seed"}
    if manifest_path.exists():
        stored = read_manifest(manifest_path)
        if stored["seeds"] != seeds:
            raise ValueError(f"{out_dir} holds an ensemble of seeds {stored.get('seeds')}, not {seeds}: resume "
                             f"with the same --seeds or use another --out directory")
    resume = checkpoint_path.exists()
    task = config.make_task()
    device = torch.device(config.device)
    runs = []
    for seed in seeds:
        member_config = dataclasses.replace(config, seed=seed)
        directory = member_dir(out_dir, seed)
        _prepare_dir(directory, member_config, resume=resume)
        runs.append(_Run(member_config, directory, task, device))
    if resume:
        checkpoint = check_ensemble_checkpoint(_load_checkpoint(checkpoint_path, device), checkpoint_path, seeds)
        for run in runs:  # every member's history checked before any is touched
            read_metrics(run.metrics_path, note=lambda text: None)
        for run, payload in zip(runs, checkpoint["members"]):
            run.restore(payload, checkpoint_path)
    # written after the checks: a refused ensemble directory stays as it was
    _write_json(manifest_path, {"seeds": seeds, "config": common})
    for run in runs:
        _write_json(run.dir / CONFIG_FILE, run.config.to_dict())

    def save() -> None:
        payloads = [run.payload() for run in runs]
        save_torch({"seeds": seeds, "members": payloads}, checkpoint_path, "ensemble checkpoint")
        for run, payload in zip(runs, payloads):  # each member's directory stays a complete run
            save_torch(payload, run.checkpoint_path)

    started = time.perf_counter()
    with thread_setting:
        _train_runs(runs, save, callbacks, progress,
                    f"{config.task} {config.cell} L={config.depth} x{len(seeds)} seeds")
    return {"members": [run.summary() for run in runs], "seeds": seeds,
            "seconds": time.perf_counter() - started, "out_dir": str(out_dir)}


def load_run(out_dir: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[DeepRNN, TrainConfig, object]:
    """Rebuild a trained model from ``out_dir/config.json`` and ``out_dir/checkpoint.pt``.

    Returns
    -------
    (model, config, task)
        The model (eval mode, on ``device``) holds the run's best-validation weights (the
        weights its test score is from), or the checkpoint's current weights if it has
        none (no evaluation yet).

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
    check_train_size(config, 1, None, source=f"run config {str(out_dir / CONFIG_FILE)!r}", training=False)
    model = build_model(config, task)
    checkpoint = check_checkpoint(_load_checkpoint(out_dir / CHECKPOINT_FILE, "cpu"), out_dir / CHECKPOINT_FILE,
                                  seed=config.seed)
    best = checkpoint.get("best_model")  # the tested weights: the best-validation ones where recorded
    _load_model_state(model, checkpoint["model"] if best is None else best, out_dir / CHECKPOINT_FILE)
    return model.to(device).eval(), config, task
