"""The configuration of one training run (model, task, optimiser, schedule), validated up front."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from tnrnn.nn.orthogonal import ORTHOGONAL_INITS, ORTHOGONAL_MAPS
from tnrnn.nn.tasks import TASKS, make_task

__all__ = ["TrainConfig", "CELLS", "RESUMABLE_CHANGES"]

#: Cell names: RAC, tanh and modReLU layers (:mod:`tnrnn.nn.cells`), torch's LSTM and GRU.
CELLS = ("rac", "tanh", "modrelu", "lstm", "gru")

#: Fields that may differ between a run and its resumption (everything else must match).
RESUMABLE_CHANGES = ("steps", "device", "eval_every")


def _check_int(value, name: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_float(value, name: str, *, positive: bool = True, upper: float | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if upper is not None and value >= upper:
        raise ValueError(f"{name} must be < {upper}, got {value!r}")


@dataclass
class TrainConfig:
    """Everything that defines a training run; defaults follow the 002 experiments (SCIENCE.md §10).

    Parameters
    ----------
    task : {"copying", "ses", "adding"}
    length : int
        The task's own length parameter (copying delay B; T for ses and adding).
    cell : {"rac", "tanh", "modrelu", "lstm", "gru"}
    depth, hidden : int
        L stacked layers of width R.
    orthogonal : {None, "cayley", "matrix_exp", "householder", "scaled_cayley"}
        Map constraining every ``W^H`` to be orthogonal (rac, tanh, modrelu only).
    orthogonal_init : {"henaff", "cayley", "random"}
        Initial orthogonal matrix.
    alphabet, word_length, variant
        Task options (see :func:`tnrnn.nn.tasks.make_task`).
    steps : int
        Number of optimiser steps (batches).
    seed : int
        Seeds the initialisation, the training batches and the validation set.
    batch_size : int
    lr, lr_orthogonal : float
        RMSprop learning rates of the ordinary and of the orthogonal parameters.
    rmsprop_alpha : float
        RMSprop smoothing constant (0.9 as in the 002 code).
    clip : float or None
        Maximum global gradient norm, None for no clipping.
    eval_every : int
        Steps between evaluations on the validation set (and checkpoints).
    val_size : int
        Size of the fixed validation set.
    plateau_patience : int
        Evaluations without an improvement of more than ``plateau_threshold`` that make a
        plateau; 0 disables the schedule and early stopping.
    plateau_threshold : float
        Minimal improvement of the validation loss.
    plateau_factor : float
        Learning rates are multiplied by this on a plateau.
    max_plateaus : int
        Training stops at this plateau (and the best weights are restored).
    device : str
        Torch device (``"cpu"``, ``"cuda"``, ...).

    Raises
    ------
    ValueError
        Any invalid field, with its name and what is valid; task lengths are checked by
        building the task.

    Examples
    --------
    >>> c = TrainConfig(task="ses", length=8, cell="rac", depth=2, hidden=4)
    >>> TrainConfig.from_dict(c.to_dict()) == c
    True
    >>> TrainConfig(cell="elman")
    Traceback (most recent call last):
    ...
    ValueError: unknown cell 'elman'; valid cells: rac, tanh, modrelu, lstm, gru
    """

    task: str = "copying"
    length: int = 100
    cell: str = "modrelu"
    depth: int = 1
    hidden: int = 64
    orthogonal: str | None = None
    orthogonal_init: str = "henaff"
    alphabet: int | None = None
    word_length: int | None = None
    variant: str | None = None
    steps: int = 1000
    seed: int = 0
    batch_size: int = 128
    lr: float = 1e-3
    lr_orthogonal: float = 1e-4
    rmsprop_alpha: float = 0.9
    clip: float | None = 1.0
    eval_every: int = 100
    val_size: int = 512
    plateau_patience: int = 10
    plateau_threshold: float = 1e-3
    plateau_factor: float = 0.1
    max_plateaus: int = 2
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; valid tasks: {', '.join(TASKS)}")
        if self.cell not in CELLS:
            raise ValueError(f"unknown cell {self.cell!r}; valid cells: {', '.join(CELLS)}")
        if self.orthogonal is not None:
            if self.orthogonal not in ORTHOGONAL_MAPS:
                raise ValueError(f"unknown orthogonal map {self.orthogonal!r}; valid: "
                                 f"{', '.join(ORTHOGONAL_MAPS)} (or None)")
            if self.cell in ("lstm", "gru"):
                raise ValueError(f"orthogonal={self.orthogonal!r} applies to the rac, tanh and modrelu cells, "
                                 f"not to cell={self.cell!r}")
        if self.orthogonal_init not in ORTHOGONAL_INITS:
            raise ValueError(f"unknown orthogonal_init {self.orthogonal_init!r}; valid: "
                             f"{', '.join(ORTHOGONAL_INITS)}")
        for name in ("depth", "hidden", "steps", "batch_size", "eval_every", "val_size", "max_plateaus"):
            _check_int(getattr(self, name), name, 1)
        _check_int(self.seed, "seed", 0)
        _check_int(self.plateau_patience, "plateau_patience", 0)
        for name in ("lr", "lr_orthogonal", "plateau_threshold"):
            _check_float(getattr(self, name), name)
        _check_float(self.rmsprop_alpha, "rmsprop_alpha", upper=1.0)
        _check_float(self.plateau_factor, "plateau_factor", upper=1.0)
        if self.clip is not None:
            _check_float(self.clip, "clip")
        if not isinstance(self.device, str) or not self.device:
            raise ValueError(f"device must be a torch device name such as 'cpu', got {self.device!r}")
        self.make_task()  # validates length, alphabet, word_length, variant for the task

    def make_task(self):
        """The :class:`~tnrnn.nn.tasks.Task` this configuration trains on."""
        return make_task(self.task, self.length, alphabet=self.alphabet, word_length=self.word_length,
                         variant=self.variant)

    def to_dict(self) -> dict:
        """A JSON-ready dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """Rebuild from :meth:`to_dict` output.

        Raises
        ------
        ValueError
            On unknown keys (named) or invalid values.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown TrainConfig fields: {', '.join(unknown)}")
        return cls(**data)

    def differences(self, other: TrainConfig, *, ignore=RESUMABLE_CHANGES) -> list[str]:
        """``"field: mine != other"`` for every field that differs (except ``ignore``)."""
        mine, theirs = self.to_dict(), other.to_dict()
        return [f"{k}: {mine[k]!r} != {theirs[k]!r}" for k in mine if k not in ignore and mine[k] != theirs[k]]
