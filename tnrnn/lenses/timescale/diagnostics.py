"""Measurements on a model: gate time scales over data and the gradient profile over lags.

:func:`gate_timescales` and :func:`gradient_profile` measure one model on one batch;
:func:`diagnose` does both; :class:`GradientConditionCallback` tracks them during training
(the ``tnrnn.nn`` callback protocol ``callback(step, model, task) -> dict``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from tnrnn.lenses.timescale.model import as_traceable
from tnrnn.lenses.timescale.theory import (
    CONDITION_RULE,
    ExponentialFit,
    TimescaleSummary,
    finite_or_none,
    fit_exponential,
    timescale_summary,
)
from tnrnn.nn.copies import float64_copy

__all__ = [
    "GradientProfile",
    "TimescaleReport",
    "gate_timescales",
    "gradient_profile",
    "diagnose",
    "last_steps_loss",
    "GradientConditionCallback",
]


def _float64_copy(model):
    """A float64 copy, so long-lag gradients and saturated gates do not underflow (mode kept)."""
    return float64_copy(as_traceable(model), eval_mode=False, strict=True)


def _trace(model, inputs):
    return as_traceable(model).trace(inputs)


def gate_timescales(model, inputs: torch.Tensor, *, layer: int = -1, horizon: float | None = None,
                    float64: bool = True) -> TimescaleSummary:
    """The gate-implied time scales of ``model`` on ``inputs``.

    Parameters
    ----------
    model : GatedRNN
        Any model with ``trace(inputs) -> GateTrace``, or one :func:`as_traceable` converts.
    inputs : torch.Tensor
        ``(B, T, input_size)``.
    layer : int
        Which layer's forget gates (default: the top one).
    horizon : float, optional
        Reported ``fraction_above`` threshold (default: T).
    float64 : bool
        Evaluate a float64 copy of the model (default), leaving ``model`` untouched.

    Returns
    -------
    TimescaleSummary

    Examples
    --------
    >>> import math
    >>> import torch
    >>> from tnrnn.lenses.timescale.model import GatedRNN, init_forget_gate
    >>> model = GatedRNN(2, 16)
    >>> init_forget_gate(model, "constant", forget_bias=3.0)
    >>> with torch.no_grad():
    ...     _ = model.layers[0].weight_ih.zero_(), model.layers[0].weight_hh.zero_()
    >>> s = gate_timescales(model, torch.randn(4, 10, 2))
    >>> round(s.min, 6) == round(s.max, 6) == round(-1 / math.log(1 / (1 + math.exp(-3))), 6)
    True
    """
    runner = _float64_copy(model) if float64 else model
    x = inputs.to(next(runner.parameters()).dtype)
    with torch.no_grad():
        trace = _trace(runner, x)
    return timescale_summary(trace.log_forget(layer), layer=layer,
                             horizon=inputs.shape[1] if horizon is None else horizon)


@dataclass
class GradientProfile:
    """``||dL/dc_{T-1-k}||`` against lag k for one layer, and its exponential fit.

    Attributes
    ----------
    norms : numpy.ndarray
        ``(T,)``; ``norms[k]`` is the Frobenius norm over batch and units of the
        gradient of the batch loss with respect to the cell state k steps before the
        last one (for a GRU, the hidden state).
    layer : int
        The layer.
    fit : ExponentialFit
        Exponential fit over the chosen lags.
    """

    norms: np.ndarray
    layer: int
    fit: ExponentialFit


def gradient_profile(model, inputs: torch.Tensor, targets, loss: Callable, *, layer: int = -1,
                     min_lag: int = 1, max_lag: int | None = None, r2_threshold: float = 0.9,
                     float64: bool = True) -> GradientProfile:
    """The gradient profile ``||dL/dc_{T-k}||`` of ``model`` on one batch, with its fit.

    Parameters
    ----------
    model : GatedRNN
        Any model with ``trace(inputs) -> GateTrace``, or one :func:`as_traceable` converts.
    inputs : torch.Tensor
        ``(B, T, input_size)``.
    targets : object
        Passed to ``loss``.
    loss : callable
        ``loss(outputs, targets) -> scalar tensor``, e.g. ``task.loss``.
    layer : int
        Whose cell states (default: the top layer).
    min_lag, max_lag, r2_threshold :
        The fit (:func:`fit_exponential`).
    float64 : bool
        Differentiate a float64 copy of the model (default): float32 gradients
        underflow after a few hundred steps of decay. ``model`` is not modified and its
        parameters' ``.grad`` are not touched.

    Returns
    -------
    GradientProfile

    Raises
    ------
    ValueError
        If the model has no ``trace`` or the lag range is invalid.

    Notes
    -----
    One forward and one backward pass through T steps: O(T B H (I + H)) per layer.

    Examples
    --------
    >>> import torch
    >>> from tnrnn.lenses.timescale.model import GatedRNN
    >>> model = GatedRNN(2, 8, 1)
    >>> x, y = torch.randn(16, 20, 2), torch.randn(16)
    >>> profile = gradient_profile(model, x, y, lambda out, t: ((out[:, -1, 0] - t) ** 2).mean())
    >>> profile.norms.shape, profile.fit.lags
    ((20,), (1, 19))
    """
    runner = _float64_copy(model) if float64 else model
    x = inputs.to(next(runner.parameters()).dtype)
    with torch.enable_grad():
        trace = _trace(runner, x)
        states = trace.cells[layer]
        value = loss(trace.outputs, targets)
        grads = torch.autograd.grad(value, states, allow_unused=True)
    per_step = np.array([0.0 if g is None else float(torch.linalg.vector_norm(g.double())) for g in grads])
    norms = per_step[::-1].copy()  # index by lag k = T-1-t
    fit = fit_exponential(norms, min_lag=min_lag, max_lag=max_lag, r2_threshold=r2_threshold)
    return GradientProfile(norms=norms, layer=layer, fit=fit)


@dataclass
class TimescaleReport:
    """Gate time scales and gradient profile of one model on one batch of a task.

    ``to_dict()`` gives the keys printed by ``tnrnn timescale --json``:
    ``gate_timescales`` (summary statistics), ``gradient_norms`` (per lag),
    ``fit_rate``, ``fit_r2``, ``fit_timescale``, ``fit_lags``, ``condition_holds``,
    ``condition_rule``.
    """

    timescales: TimescaleSummary
    profile: GradientProfile

    def to_dict(self) -> dict:
        fit = self.profile.fit
        return {
            "gate_timescales": self.timescales.to_dict(),
            "gradient_norms": [float(v) for v in self.profile.norms],
            "fit_rate": finite_or_none(fit.rate),
            "fit_r2": finite_or_none(fit.r2),
            "fit_timescale": finite_or_none(fit.timescale),
            "fit_lags": list(fit.lags),
            "condition_holds": fit.condition_holds,
            "condition_rule": CONDITION_RULE.replace("0.9", f"{fit.r2_threshold:g}"),
            "layer": self.profile.layer,
        }


def last_steps_loss(task, steps: int) -> Callable:
    """``task.loss`` restricted to the outputs (and per-step targets) of the last ``steps`` steps.

    With a loss at every step (copying: blanks everywhere) ``dL/dc_{T-k}`` accumulates the
    gradients of all later steps and grows with k; restricting the loss to the recall
    window (the last K steps) isolates how the memory-relevant loss reaches back in time.

    Parameters
    ----------
    task : tnrnn.nn.tasks.Task
    steps : int
        Number of final steps kept, 1 <= steps <= T.

    Returns
    -------
    callable
        ``loss(outputs, targets) -> scalar tensor``.

    Raises
    ------
    ValueError
        If ``steps`` is not in [1, T].
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= task.sequence_length:
        raise ValueError(f"loss_steps must be an integer in [1, {task.sequence_length}], got {steps!r}")

    def loss(outputs, targets):
        per_step = targets.dim() >= 2 and targets.shape[1] == outputs.shape[1]
        return task.loss(outputs[:, -steps:], targets[:, -steps:] if per_step else targets)

    return loss


def diagnose(model, task, *, batch_size: int = 64, seed: int = 0, layer: int = -1, min_lag: int = 1,
             max_lag: int | None = None, r2_threshold: float = 0.9,
             loss_steps: int | None = None) -> TimescaleReport:
    """Time scales and gradient profile of ``model`` on a fresh seeded batch of ``task``.

    Parameters
    ----------
    model : GatedRNN
        Any model with ``trace``, or one :func:`as_traceable` converts.
    task : tnrnn.nn.tasks.Task
        Supplies ``sample(batch_size, generator)`` and ``loss``.
    batch_size, seed : int
        The batch (drawn from ``torch.Generator().manual_seed(seed)``).
    layer, min_lag, max_lag, r2_threshold :
        As in :func:`gradient_profile`.
    loss_steps : int, optional
        Differentiate the task loss of the last ``loss_steps`` steps only
        (:func:`last_steps_loss`); default: the whole task loss.

    Returns
    -------
    TimescaleReport

    Raises
    ------
    ValueError
        On a bad batch size or lag range, or a model without ``trace``.
    """
    loss = task.loss if loss_steps is None else last_steps_loss(task, loss_steps)
    inputs, targets = task.sample(batch_size, torch.Generator().manual_seed(seed))
    device = next(model.parameters()).device
    inputs = inputs.to(device)
    targets = targets.to(device)
    return TimescaleReport(
        timescales=gate_timescales(model, inputs, layer=layer, horizon=task.sequence_length),
        profile=gradient_profile(model, inputs, targets, loss, layer=layer, min_lag=min_lag,
                                 max_lag=max_lag, r2_threshold=r2_threshold),
    )


class GradientConditionCallback:
    """Track the gradient condition and the gate time scales during training.

    Follows the ``tnrnn.nn`` callback protocol: called as ``callback(step, model, task)``
    at every evaluation, it returns a dict merged into that metrics line:
    ``fit_rate``, ``fit_r2``, ``fit_timescale``, ``condition_holds``, ``tau_median``,
    ``tau_q90``, ``tau_geometric_mean``. Every call's full report is kept in
    ``history`` as ``(step, TimescaleReport)``.

    Parameters
    ----------
    batch_size, seed : int
        The fixed diagnostic batch (the same at every step, so changes come from the model).
    layer, min_lag, max_lag, r2_threshold, loss_steps :
        As in :func:`diagnose`.
    """

    def __init__(self, *, batch_size: int = 32, seed: int = 12345, layer: int = -1, min_lag: int = 1,
                 max_lag: int | None = None, r2_threshold: float = 0.9, loss_steps: int | None = None) -> None:
        self.batch_size, self.seed, self.layer = batch_size, seed, layer
        self.min_lag, self.max_lag, self.r2_threshold = min_lag, max_lag, r2_threshold
        self.loss_steps = loss_steps
        self.history: list[tuple[int, TimescaleReport]] = []

    def __call__(self, step: int, model, task) -> dict:
        report = diagnose(model, task, batch_size=self.batch_size, seed=self.seed, layer=self.layer,
                          min_lag=self.min_lag, max_lag=self.max_lag, r2_threshold=self.r2_threshold,
                          loss_steps=self.loss_steps)
        self.history.append((step, report))
        fit, tau = report.profile.fit, report.timescales
        return {"fit_rate": finite_or_none(fit.rate), "fit_r2": finite_or_none(fit.r2),
                "fit_timescale": finite_or_none(fit.timescale), "condition_holds": fit.condition_holds,
                "tau_median": finite_or_none(tau.median), "tau_q90": finite_or_none(tau.q90),
                "tau_geometric_mean": finite_or_none(tau.geometric_mean)}
