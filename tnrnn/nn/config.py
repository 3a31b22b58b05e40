"""The configuration of one training run (model, task, optimiser, schedule), validated up front."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from tnrnn.nn.orthogonal import ORTHOGONAL_INITS, ORTHOGONAL_MAPS
from tnrnn.nn.tasks import TASKS, make_task

__all__ = ["TrainConfig", "CELLS", "RESUMABLE_CHANGES", "PRESETS", "INITIAL_STATES", "preset_fields"]

#: Cell names: RAC, tanh and modReLU layers (:mod:`tnrnn.nn.cells`), torch's LSTM and GRU.
CELLS = ("rac", "tanh", "modrelu", "lstm", "gru")

#: Fields that may differ between a run and its resumption (everything else must match).
RESUMABLE_CHANGES = ("steps", "device", "eval_every")

#: ``h_0`` of tanh and modReLU layers: ``"zero"``, or ``"uniform"`` in ±sqrt(3/R), drawn
#: afresh for every batch (from the run's data generator) as in the scoRNN code.
INITIAL_STATES = ("zero", "uniform")

#: Named settings (:meth:`TrainConfig.preset`). ``"paper"`` follows the public code of
#: Levine et al. (arXiv:1710.09431) and Ziv (arXiv:2003.10163), the HUJI-Deep
#: ``Long-Term-Memory-of-Deep-RNNs`` repository: scoRNN cells (scaled Cayley map with the
#: ±1 diagonal, Cayley-uniform initial phases), modReLU, input weights U(±0.01), modReLU
#: bias 0, initial states U(±sqrt(3/R)) redrawn per batch, Xavier readout, the recurrent
#: gradient rescaled to an ∞-norm of 10 and no other clipping, RMSprop (decay 0.9, its
#: accumulator starting at 1 as TensorFlow 1's does) at 1e-3 and 1e-4 for the skew
#: matrices, batch 128, validation every 1000 steps, a separate 10,000-sample test set,
#: learning rates ÷10 at the first plateau (no improvement above 1e-3 for *more than* 10
#: checks: ``plateau_patience = 11``) and a stop, with the best weights restored, at the
#: second, within a cap of 50,000 steps (the published runs' ``-num_iters``). One choice
#: differs from that code on purpose: the validation set holds 100,000 samples instead of
#: 5000, because the plateau rule's 1e-3 threshold is below the sampling noise of a
#: 5000-sample loss (measured on SES, T = 40, m = 8, depth 1, steps 1000-8000 at rate
#: 1e-3: per-sample losses spread by 0.33-0.52, so a 5000-sample loss has a noise of
#: 0.0047-0.0074 and the change between two checks one of 0.0032-0.0062; at 100,000
#: samples 0.0010-0.0017 and 0.0007-0.0014; ``benchmarks/validation_noise.py``). The test set scores the
#: best-validation weights, as in that code. On the copying task the preset
#: also picks that code's layout (:func:`preset_fields`): 30 symbols from 32 with the
#: recall marker (``variant="marker"``) and an improvement threshold of 1e-3 · K / T.
PRESETS: dict[str, dict] = {
    "paper": {
        "cell": "modrelu", "orthogonal": "scaled_cayley", "orthogonal_init": "cayley", "init": "paper",
        "initial_state": "uniform", "recurrent_clip": 10.0, "clip": None, "lr": 1e-3, "lr_orthogonal": 1e-4,
        "rmsprop_alpha": 0.9, "rmsprop_initial": 1.0, "batch_size": 128, "eval_every": 1000,
        "val_size": 100_000, "test_size": 10_000, "plateau_patience": 11, "plateau_threshold": 1e-3,
        "plateau_factor": 0.1, "max_plateaus": 2, "steps": 50_000,
    },
}


def preset_fields(name: str, **fields) -> dict:
    """The fields of preset ``name`` with ``fields`` overriding them, task-specific defaults filled in.

    For ``"paper"`` on the copying task (the default task), ``variant`` defaults to
    ``"marker"`` (30 of 32 symbols with the recall marker) and ``plateau_threshold`` to
    ``1e-3 · K / T`` (K recalled symbols, T the sequence length), as in the published code;
    a value given in ``fields`` wins.

    Raises
    ------
    ValueError
        An unknown preset name (the valid ones are listed).

    Examples
    --------
    >>> f = preset_fields("paper", task="copying", length=100)
    >>> f["variant"], f["plateau_threshold"] == 1e-3 * 30 / 160
    ('marker', True)
    >>> preset_fields("paper", task="ses", length=40)["plateau_threshold"]
    0.001
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; valid presets: {', '.join(PRESETS)}")
    merged = {**PRESETS[name], **fields}
    if name == "paper" and merged.get("task", "copying") == "copying":
        merged.setdefault("variant", "marker")
        if "plateau_threshold" not in fields:
            task = make_task("copying", merged.get("length", 100), alphabet=merged.get("alphabet"),
                             word_length=merged.get("word_length"), variant=merged["variant"])
            merged["plateau_threshold"] = PRESETS[name]["plateau_threshold"] * task.word_length \
                / task.sequence_length
    return merged


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
    """Everything that defines a training run.

    The defaults are quick CPU settings (no orthogonal constraint, global gradient-norm
    clipping, frequent evaluation on a small validation set); they are *not* the settings
    of the published experiments. ``TrainConfig.preset("paper", ...)`` gives those (see
    :data:`PRESETS`, and the documentation's list of the differences that remain).

    Parameters
    ----------
    task : {"copying", "ses", "adding"}
    length : int
        The task's own length parameter (copying delay B; T for ses and adding).
    cell : {"rac", "tanh", "modrelu", "lstm", "gru"}
    depth, hidden : int
        L stacked layers of width R.
    orthogonal : {None, "cayley", "matrix_exp", "householder", "scaled_cayley"}
        Map constraining every ``W^H`` to be orthogonal (rac, tanh, modrelu only):
        ``"scaled_cayley"`` is scoRNN's map (with the ±1 diagonal); the other three are
        PyTorch's ``orthogonal`` parametrization (``"cayley"`` there has no diagonal).
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
        RMSprop smoothing constant (0.9 in the published code).
    rmsprop_initial : float
        Starting value of RMSprop's running average of squared gradients (0 in PyTorch,
        1 in TensorFlow 1, which damps the first steps).
    clip : float or None
        Maximum global gradient norm over all parameters, None for no clipping.
    recurrent_clip : float or None
        Rescale the gradient of each ``W^H`` to an ∞-norm of at most this (a gradient
        with a non-finite entry becomes 0); rac, tanh, modrelu only.
    init : {"default", "paper"}
        Initialisation scheme (:data:`tnrnn.nn.stack.INITS`).
    initial_state : {"zero", "uniform"}
        ``h_0`` of tanh and modReLU layers (:data:`INITIAL_STATES`).
    eval_every : int
        Steps between evaluations on the validation set (and checkpoints).
    val_size : int
        Size of the fixed validation set (drives the plateau schedule and early stop).
    test_size : int
        Size of the separate test set, scored once with the final weights.
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
    rmsprop_initial: float = 0.0
    clip: float | None = 1.0
    recurrent_clip: float | None = None
    init: str = "default"
    initial_state: str = "zero"
    eval_every: int = 100
    val_size: int = 512
    test_size: int = 1024
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
        from tnrnn.nn.stack import INITS

        if self.init not in INITS:
            raise ValueError(f"unknown init {self.init!r}; valid: {', '.join(INITS)}")
        if self.initial_state not in INITIAL_STATES:
            raise ValueError(f"unknown initial_state {self.initial_state!r}; valid: {', '.join(INITIAL_STATES)}")
        if self.initial_state != "zero" and self.cell not in ("tanh", "modrelu"):
            raise ValueError(f"initial_state={self.initial_state!r} applies to the tanh and modrelu cells, "
                             f"not to cell={self.cell!r}")
        if self.recurrent_clip is not None:
            _check_float(self.recurrent_clip, "recurrent_clip")
            if self.cell in ("lstm", "gru"):
                raise ValueError(f"recurrent_clip applies to the rac, tanh and modrelu cells, not to "
                                 f"cell={self.cell!r}")
        for name in ("depth", "hidden", "steps", "batch_size", "eval_every", "val_size", "test_size",
                     "max_plateaus"):
            _check_int(getattr(self, name), name, 1)
        _check_int(self.seed, "seed", 0)
        _check_int(self.plateau_patience, "plateau_patience", 0)
        for name in ("lr", "lr_orthogonal", "plateau_threshold"):
            _check_float(getattr(self, name), name)
        _check_float(self.rmsprop_alpha, "rmsprop_alpha", upper=1.0)
        _check_float(self.rmsprop_initial, "rmsprop_initial", positive=False)
        if self.rmsprop_initial < 0:
            raise ValueError(f"rmsprop_initial must be >= 0, got {self.rmsprop_initial!r}")
        _check_float(self.plateau_factor, "plateau_factor", upper=1.0)
        if self.clip is not None:
            _check_float(self.clip, "clip")
        if not isinstance(self.device, str) or not self.device:
            raise ValueError(f"device must be a torch device name such as 'cpu', got {self.device!r}")
        self.make_task()  # validates length, alphabet, word_length, variant for the task

    @classmethod
    def preset(cls, name: str, **fields) -> TrainConfig:
        """A configuration from a named preset (:data:`PRESETS`), with ``fields`` overriding it.

        Examples
        --------
        >>> c = TrainConfig.preset("paper", task="ses", length=24, word_length=2, depth=2, hidden=36)
        >>> c.orthogonal, c.recurrent_clip, c.eval_every, c.test_size
        ('scaled_cayley', 10.0, 1000, 10000)
        >>> TrainConfig.preset("fast")
        Traceback (most recent call last):
        ...
        ValueError: unknown preset 'fast'; valid presets: paper
        """
        return cls(**preset_fields(name, **fields))

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
