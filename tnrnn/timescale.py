"""Forget gates as time scales and the gradient condition (seed 000, SCIENCE.md §11).

With a constant forget gate ``f`` an LSTM's memory of an input decays like ``f^k``:
its time scale is ``tau = -1/ln f``. Ohno & Kumagai (arXiv 2111.03282) argue that this
reading of the gate is valid when the gradient of the loss with respect to the cell
state decays exponentially going back in time, ``||dL/dc_{T-k}|| ~ exp(-k / tau)``
(the *gradient condition*), and that common RNNs satisfy it early in training. This
module measures both on any :class:`~tnrnn.nn.gated.GatedRNN` and task:

* :func:`gate_timescales`: the gate-implied time scales ``tau = -1/ln f`` over data,
  time and units (exact ``ln f`` from the pre-activations, so saturated gates give
  finite, correct time scales), summarised per unit and overall;
* :func:`gradient_profile`: ``||dL/dc_{T-k}||`` for every lag k with an exponential
  fit (:func:`fit_exponential`: rate, R^2 of the log-linear fit, implied time scale)
  and the verdict of :data:`CONDITION_RULE`;
* :class:`GradientConditionCallback`: the same tracked during training (the
  ``tnrnn.nn`` callback protocol ``callback(step, model, task) -> dict``);
* :func:`train_gated`, :func:`compare_gate_variants`, :func:`plot_timescale_comparison`:
  the experiment comparing forget-gate variants on the adding and copying tasks.

Nothing here reproduces the seed paper's own gate (we do not know its formula); the
gates compared are the published constructions of :mod:`tnrnn.nn.gated`.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = [
    "CONDITION_RULE",
    "TimescaleSummary",
    "ExponentialFit",
    "GradientProfile",
    "TimescaleReport",
    "as_traceable",
    "gate_timescales",
    "timescale_summary",
    "fit_exponential",
    "gradient_profile",
    "diagnose",
    "last_steps_loss",
    "GradientConditionCallback",
    "GateVariant",
    "DEFAULT_VARIANTS",
    "build_gated_model",
    "train_gated",
    "compare_gate_variants",
    "plot_timescale_comparison",
    "EXPERIMENT",
    "summarize_comparison",
    "experiment_results_dir",
    "load_comparison",
    "timescale_experiment",
]

#: The verdict rule, in words; the thresholds are the defaults of :func:`fit_exponential`.
CONDITION_RULE = ("gradient condition holds when a least-squares fit of ln ||dL/dc_{T-k}|| against k "
                  "over the fitted lags has rate > 0 (decay) and R^2 >= 0.9 (exponential shape)")

_QUANTILES = {"q10": 0.1, "median": 0.5, "q90": 0.9}
_TAU_PLOT_CAP = 1e6


def _finite_or_none(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


# ----------------------------------------------------------------------------- time scales

@dataclass
class TimescaleSummary:
    """Distribution of gate-implied time scales ``tau = -1/ln f`` of one layer.

    Attributes
    ----------
    layer : int
        The layer (0-based; negative counts from the top as given).
    per_unit : numpy.ndarray
        ``(H,)`` median of tau over data and time, per unit.
    count : int
        Number of gate values summarised (batch x time x units).
    min, q10, median, q90, max : float
        Quantiles of tau over all gate values.
    geometric_mean : float
        ``exp(mean ln tau)``: time scales span decades, so the geometric mean.
    fraction_above : float
        Fraction of gate values with tau above ``horizon``.
    fraction_infinite : float
        Fraction of gate values equal to 1 even in float64 (``ln f`` rounds to 0,
        tau = inf): the fast gate ``sigmoid(sinh a)`` gets there at a > 7.3.
    horizon : float or None
        The horizon (usually the sequence length T); None when not given.
    """

    layer: int
    per_unit: np.ndarray
    count: int
    min: float
    q10: float
    median: float
    q90: float
    max: float
    geometric_mean: float
    fraction_above: float
    fraction_infinite: float
    horizon: float | None

    def to_dict(self, per_unit: bool = True) -> dict:
        """JSON-ready dict (``per_unit`` as a list unless ``per_unit=False``; inf and nan as None)."""
        out = {k: (_finite_or_none(v) if isinstance(v, float) else v)
               for k, v in asdict(self).items() if k != "per_unit"}
        if per_unit:
            out["per_unit"] = [_finite_or_none(v) for v in self.per_unit]
        return out


def timescale_summary(log_f: torch.Tensor | np.ndarray, *, layer: int = -1,
                      horizon: float | None = None) -> TimescaleSummary:
    """Summarise ``tau = -1/ln f`` from ``ln f`` values of shape ``(B, T, H)``.

    Parameters
    ----------
    log_f : torch.Tensor or numpy.ndarray
        ``ln f`` (strictly negative) for a batch, over time and units.
    layer : int
        Recorded in the result.
    horizon : float, optional
        Report the fraction of time scales above it (e.g. the sequence length).

    Returns
    -------
    TimescaleSummary

    Raises
    ------
    ValueError
        If ``log_f`` is not 3-dimensional or has a positive entry.

    Notes
    -----
    Quantiles are order statistics (numpy's ``inverted_cdf``), so that gates saturated
    to exactly 1 (tau = inf) are counted, not turned into nan by interpolation.

    Examples
    --------
    >>> import numpy as np
    >>> s = timescale_summary(np.log(np.full((2, 3, 4), 0.9)), horizon=5)
    >>> round(s.median, 4), s.count, s.fraction_above
    (9.4912, 24, 1.0)
    """
    values = np.asarray(log_f.detach().cpu().double() if hasattr(log_f, "detach") else log_f, dtype=float)
    if values.ndim != 3:
        raise ValueError(f"log_f must have shape (batch, time, units), got {values.shape}")
    if not np.all(values <= 0):
        raise ValueError("log_f must be <= 0 (forget gates in (0, 1])")
    with np.errstate(divide="ignore"):
        # ln f == 0 (a gate saturated to 1 even in float64, either sign of zero): tau = +inf
        tau = np.where(values == 0, np.inf, -1.0 / values)
    flat = tau.reshape(-1)
    # order statistics (inverted CDF): data values, well defined with infinite time scales
    quantiles = {name: float(np.quantile(flat, q, method="inverted_cdf")) for name, q in _QUANTILES.items()}
    return TimescaleSummary(
        layer=layer,
        per_unit=np.quantile(tau.reshape(-1, tau.shape[-1]), 0.5, axis=0, method="inverted_cdf"),
        count=int(flat.size),
        min=float(flat.min()),
        max=float(flat.max()),
        geometric_mean=float(np.exp(np.mean(np.log(flat)))),
        fraction_above=float(np.mean(flat > horizon)) if horizon is not None else float("nan"),
        fraction_infinite=float(np.mean(np.isinf(flat))),
        horizon=None if horizon is None else float(horizon),
        **quantiles,
    )


def as_traceable(model):
    """``model`` itself if it has ``trace``, else an equivalent :class:`~tnrnn.nn.gated.GatedRNN`.

    A model holding a ``torch.nn.LSTM`` / ``GRU`` as ``model.rnn`` (``batch_first``) and a
    per-step ``model.readout`` (``tnrnn.nn.DeepRNN`` with cell ``"lstm"`` or ``"gru"``)
    is converted to a copy with the same weights whose gates and cell states are visible.

    Parameters
    ----------
    model : torch.nn.Module

    Returns
    -------
    torch.nn.Module
        A model with ``trace(inputs) -> GateTrace``.

    Raises
    ------
    ValueError
        If the model has neither ``trace`` nor a batch-first ``rnn`` LSTM/GRU.

    Examples
    --------
    >>> import torch
    >>> from tnrnn.nn import DeepRNN
    >>> net = DeepRNN("lstm", input_size=2, output_size=1, hidden=4, depth=2)
    >>> x = torch.randn(3, 5, 2)
    >>> torch.allclose(as_traceable(net).trace(x).outputs, net(x), atol=1e-6)
    True
    """
    if callable(getattr(model, "trace", None)):
        return model
    from torch import nn

    from tnrnn.nn.gated import GatedRNN

    rnn = getattr(model, "rnn", None)
    if isinstance(rnn, (nn.LSTM, nn.GRU)) and rnn.batch_first:
        gated = GatedRNN.from_torch(rnn)
        readout = getattr(model, "readout", None)
        if readout is not None:
            gated.readout = copy.deepcopy(readout)
            gated.output_size = readout.out_features
        return gated
    raise ValueError(f"model must expose trace(inputs) -> GateTrace (e.g. tnrnn.nn.gated.GatedRNN) or hold "
                     f"a batch-first torch LSTM/GRU as .rnn, got {type(model).__name__}")


def _trace(model, inputs):
    return as_traceable(model).trace(inputs)


def _float64_copy(model):
    """A float64 copy of the model, so long-lag gradients and saturated gates do not underflow."""
    return copy.deepcopy(as_traceable(model)).double()


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
    >>> import torch
    >>> from tnrnn.nn.gated import GatedRNN, init_forget_gate
    >>> model = GatedRNN(2, 16)
    >>> init_forget_gate(model, "constant", forget_bias=3.0)
    >>> with torch.no_grad():
    ...     _ = model.layers[0].weight_ih.zero_(), model.layers[0].weight_hh.zero_()
    >>> s = gate_timescales(model, torch.randn(4, 10, 2))
    >>> round(s.min, 6) == round(s.max, 6) == round(-1 / math.log(1 / (1 + math.exp(-3))), 6)
    True
    """
    import torch

    runner = _float64_copy(model) if float64 else model
    x = inputs.to(next(runner.parameters()).dtype)
    with torch.no_grad():
        trace = _trace(runner, x)
    return timescale_summary(trace.log_forget(layer), layer=layer,
                             horizon=inputs.shape[1] if horizon is None else horizon)


# ----------------------------------------------------------------------------- gradient profile

@dataclass
class ExponentialFit:
    """Least-squares fit ``ln norm_k = intercept - rate * k`` over lags ``k`` in ``lags``.

    Attributes
    ----------
    rate : float
        Decay rate per step (nan when fewer than 3 usable points).
    intercept : float
        Fitted ``ln norm`` at lag 0.
    r2 : float
        Coefficient of determination of the log-linear fit (1.0 for an exactly flat profile).
    timescale : float
        ``1 / rate`` (inf when rate <= 0): the time scale the gradient implies.
    lags : tuple[int, int]
        First and last lag used (inclusive).
    points : int
        Number of lags used (zero or non-finite norms are left out).
    condition_holds : bool
        The verdict: ``rate > 0 and r2 >= r2_threshold``.
    r2_threshold : float
        The R^2 threshold of the verdict.
    """

    rate: float
    intercept: float
    r2: float
    timescale: float
    lags: tuple[int, int]
    points: int
    condition_holds: bool
    r2_threshold: float

    def to_dict(self) -> dict:
        """JSON-ready dict (inf and nan as None)."""
        return {"rate": _finite_or_none(self.rate), "intercept": _finite_or_none(self.intercept),
                "r2": _finite_or_none(self.r2), "timescale": _finite_or_none(self.timescale),
                "lags": list(self.lags), "points": self.points, "condition_holds": self.condition_holds,
                "r2_threshold": self.r2_threshold}


def fit_exponential(norms: Sequence[float] | np.ndarray, *, min_lag: int = 1, max_lag: int | None = None,
                    r2_threshold: float = 0.9) -> ExponentialFit:
    """Fit ``norms[k] ~ exp(intercept - rate k)`` over ``min_lag <= k <= max_lag``.

    Parameters
    ----------
    norms : sequence of float
        Gradient norms indexed by lag k = 0, 1, ... (k = 0 is the last step).
    min_lag, max_lag : int
        The fitted range (inclusive; ``max_lag`` defaults to the last lag). Zero or
        non-finite norms (underflow) inside the range are left out.
    r2_threshold : float
        R^2 the fit must reach for the verdict (see :data:`CONDITION_RULE`).

    Returns
    -------
    ExponentialFit

    Raises
    ------
    ValueError
        On negative norms, an empty or inverted lag range, or ``r2_threshold`` outside [0, 1].

    Notes
    -----
    O(K) for K lags. The fitted rate is a weighted mean of the per-step log-ratios
    ``ln(norm_k / norm_{k+1})`` with non-negative weights summing to 1, so it lies
    between their smallest and largest value.

    Examples
    --------
    >>> fit = fit_exponential(0.8 ** np.arange(30))
    >>> round(fit.rate, 6) == round(-math.log(0.8), 6), round(fit.r2, 6), fit.condition_holds
    (True, 1.0, True)
    >>> fit_exponential(np.ones(30)).condition_holds  # flat: no decay
    False
    """
    values = np.asarray(norms, dtype=float)
    if values.ndim != 1 or np.any(values < 0):
        raise ValueError("norms must be a 1-D sequence of non-negative numbers")
    if not 0.0 <= r2_threshold <= 1.0:
        raise ValueError(f"r2_threshold must be in [0, 1], got {r2_threshold!r}")
    last = len(values) - 1 if max_lag is None else int(max_lag)
    if not 0 <= min_lag <= last < len(values):
        raise ValueError(f"lag range must satisfy 0 <= min_lag <= max_lag < {len(values)}, "
                         f"got min_lag={min_lag}, max_lag={max_lag}")
    lags = np.arange(min_lag, last + 1)
    usable = np.isfinite(values[lags]) & (values[lags] > 0)
    k, y = lags[usable].astype(float), np.log(values[lags][usable])
    if k.size < 3:
        return ExponentialFit(float("nan"), float("nan"), float("nan"), float("nan"),
                              (int(min_lag), int(last)), int(k.size), False, r2_threshold)
    slope, intercept = np.polyfit(k, y, 1)
    residual = y - (intercept + slope * k)
    total = float(np.sum((y - y.mean()) ** 2))
    ss_res = float(np.sum(residual ** 2))
    r2 = 1.0 - ss_res / total if total > 0 else (1.0 if ss_res == 0 else 0.0)
    rate = -float(slope)
    return ExponentialFit(
        rate=rate, intercept=float(intercept), r2=float(r2),
        timescale=1.0 / rate if rate > 0 else float("inf"),
        lags=(int(k[0]), int(k[-1])), points=int(k.size),
        condition_holds=bool(rate > 0 and r2 >= r2_threshold), r2_threshold=r2_threshold,
    )


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
    >>> from tnrnn.nn.gated import GatedRNN
    >>> model = GatedRNN(2, 8, 1)
    >>> x, y = torch.randn(16, 20, 2), torch.randn(16)
    >>> profile = gradient_profile(model, x, y, lambda out, t: ((out[:, -1, 0] - t) ** 2).mean())
    >>> profile.norms.shape, profile.fit.lags
    ((20,), (1, 19))
    """
    import torch

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
            "fit_rate": _finite_or_none(fit.rate),
            "fit_r2": _finite_or_none(fit.r2),
            "fit_timescale": _finite_or_none(fit.timescale),
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
    import torch

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
        return {"fit_rate": _finite_or_none(fit.rate), "fit_r2": _finite_or_none(fit.r2),
                "fit_timescale": _finite_or_none(fit.timescale), "condition_holds": fit.condition_holds,
                "tau_median": _finite_or_none(tau.median), "tau_q90": _finite_or_none(tau.q90),
                "tau_geometric_mean": _finite_or_none(tau.geometric_mean)}


# ----------------------------------------------------------------------------- experiment

@dataclass(frozen=True)
class GateVariant:
    """One forget-gate construction: activation, initialisation and its parameters.

    Attributes
    ----------
    name : str
        Label in tables and figures.
    gate : {"sigmoid", "fast", "timescale"}
    init : {"pytorch", "constant", "chrono", "uniform"}
    forget_bias : float
        B for ``init="constant"``.
    tmax : float or None
        T_max for ``init="chrono"`` (None: the task's sequence length).
    """

    name: str
    gate: str = "sigmoid"
    init: str = "constant"
    forget_bias: float = 1.0
    tmax: float | None = None


#: The variants compared by default, each named by its origin.
DEFAULT_VARIANTS: tuple[GateVariant, ...] = (
    GateVariant("sigmoid, bias 1 (Gers 2000)", "sigmoid", "constant", 1.0),
    GateVariant("sigmoid, chrono (Tallec 2018)", "sigmoid", "chrono"),
    GateVariant("sigmoid, uniform (Gu 2020)", "sigmoid", "uniform"),
    GateVariant("fast sigma(sinh), chrono (Ohno 2023)", "fast", "chrono"),
    GateVariant("tau = 1 + softplus, chrono", "timescale", "chrono"),
    GateVariant("fast sigma(sinh), bias 1", "fast", "constant", 1.0),
    GateVariant("tau = 1 + softplus, bias 1", "timescale", "constant", 1.0),
)


def build_gated_model(task, variant: GateVariant, *, cell: str = "lstm", hidden: int = 32, depth: int = 1,
                      seed: int = 0):
    """A :class:`~tnrnn.nn.gated.GatedRNN` sized for ``task`` with ``variant``'s gate and init.

    Parameters
    ----------
    task : tnrnn.nn.tasks.Task
    variant : GateVariant
    cell : {"lstm", "gru"}
    hidden, depth, seed : int
        Width, number of layers, and the seed of the weights and of the init's draws.

    Returns
    -------
    GatedRNN

    Raises
    ------
    ValueError
        On a bad size, cell, gate or init.
    """
    import torch

    from tnrnn.nn.gated import GatedRNN, init_forget_gate

    torch.manual_seed(seed)
    model = GatedRNN(task.input_size, hidden, task.output_size, cell=cell, depth=depth, gate=variant.gate)
    tmax = variant.tmax if variant.tmax is not None else float(task.sequence_length)
    init_forget_gate(model, variant.init, forget_bias=variant.forget_bias, tmax=tmax,
                     generator=torch.Generator().manual_seed(seed + 1))
    return model


def train_gated(model, task, *, steps: int, batch_size: int = 64, lr: float = 1e-2, clip: float = 1.0,
                seed: int = 0, eval_every: int = 50, eval_batch: int = 256, solve_fraction: float = 0.1,
                callbacks: Sequence[Callable] = (), progress: bool = True, desc: str = "train") -> dict:
    """Train ``model`` on ``task`` with Adam; a small loop for the gate experiment.

    (``tnrnn.nn.train`` builds its model from a ``TrainConfig``, which has no gate
    variants; this loop takes a ready model and follows the same callback protocol.)

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
    """
    import torch
    from tqdm.auto import tqdm

    for name, value in (("steps", steps), ("batch_size", batch_size), ("eval_every", eval_every),
                        ("eval_batch", eval_batch)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    device = next(model.parameters()).device
    train_gen = torch.Generator().manual_seed(seed)
    eval_inputs, eval_targets = task.sample(eval_batch, torch.Generator().manual_seed(seed + 10**6))
    eval_inputs, eval_targets = eval_inputs.to(device), eval_targets.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history: list[dict] = []
    solved_at = None
    start = time.perf_counter()

    def evaluate(step: int) -> None:
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
        history.append(line)

    evaluate(0)
    bar = tqdm(range(1, steps + 1), desc=desc, disable=not progress, leave=False)
    for step in bar:
        inputs, targets = task.sample(batch_size, train_gen)
        loss = task.loss(model(inputs.to(device)), targets.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        if step % eval_every == 0 or step == steps:
            evaluate(step)
            bar.set_postfix(loss=f"{history[-1]['loss']:.4g}")
    return {"history": history, "final_loss": history[-1]["loss"], "final_metric": history[-1]["metric"],
            "baseline_loss": task.baseline_loss, "steps_to_solve": solved_at,
            "min_loss": min(line["loss"] for line in history), "seconds": time.perf_counter() - start}


def _atomic_append(path: Path, record: dict) -> None:
    """Append one JSON line by rewriting the file atomically (results survive interruption)."""
    existing = path.read_text() if path.exists() else ""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(existing + json.dumps(record) + "\n")
    os.replace(tmp, path)


def compare_gate_variants(task_specs: Sequence[dict], out_dir: str | Path, *,
                          variants: Sequence[GateVariant] = DEFAULT_VARIANTS, cell: str = "lstm",
                          hidden: int = 32, depth: int = 1, steps: int = 600, batch_size: int = 64,
                          lr: float = 1e-2, seed: int = 0, eval_every: int = 50, diag_batch: int = 32,
                          progress: bool = True) -> list[dict]:
    """Train every gate variant on every task and record losses, time scales and gradient fits.

    Each finished run is appended to ``out_dir/results.jsonl`` (atomically); a rerun
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
    import torch
    from tqdm.auto import tqdm

    from tnrnn.nn.tasks import make_task

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
        _atomic_append(path, record)
        records.append(record)
        if progress:
            bar.write(f"{name} {length} | {variant.name}: final loss {summary['final_loss']:.4g} "
                      f"(baseline {task.baseline_loss:.4g}), solved at {summary['steps_to_solve']}, "
                      f"{summary['seconds']:.0f} s")
    return records


def plot_timescale_comparison(records: Sequence[dict], out_dir: str | Path, *,
                              prefix: str = "timescale") -> list[Path]:
    """Figures of a :func:`compare_gate_variants` run, one set per task.

    Writes ``{prefix}_<task>_<length>_loss.png`` (evaluation loss against step, with
    the memoryless baseline), ``{prefix}_<task>_<length>_hist.png`` (per-unit gate
    time scales before and after training, log axis, with the sequence length) and
    ``{prefix}_<task>_<length>_condition.png`` (R^2 of the gradient fit and implied
    gradient time scale against step).

    Parameters
    ----------
    records : sequence of dict
        As returned by :func:`compare_gate_variants`.
    out_dir : path
        Where the PNGs go (created if missing).
    prefix : str
        File-name prefix.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    groups: dict[tuple[str, int], list[dict]] = {}
    for record in records:
        groups.setdefault((record["task"], record["length"]), []).append(record)
    written = []
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for (task, length), runs in groups.items():
        stem = f"{prefix}_{task}_{length}"
        fig, ax = plt.subplots(figsize=(6.4, 4))
        for i, run in enumerate(runs):
            steps = [line["step"] for line in run["history"]]
            ax.plot(steps, [line["loss"] for line in run["history"]], color=colors[i % len(colors)],
                    label=run["variant"])
        ax.axhline(runs[0]["baseline_loss"], color="k", ls="--", lw=1, label="memoryless baseline")
        ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.set_ylabel("evaluation loss" + (" (MSE)" if task == "adding" else " (cross-entropy)"))
        ax.set_title(f"{task} (length {length}, T = {runs[0]['sequence_length']}): "
                     f"{runs[0]['cell'].upper()} width {runs[0]['hidden']}", fontsize=10)
        ax.legend(fontsize=7)
        fig.tight_layout()
        written.append(out / f"{stem}_loss.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)

        fig, axes = plt.subplots(len(runs), 1, figsize=(6.4, 1.3 * len(runs) + 0.8), sharex=True)
        axes = np.atleast_1d(axes)
        def per_unit(summary: dict) -> np.ndarray:  # None (tau = inf) and huge values drawn at the cap
            return np.array([_TAU_PLOT_CAP if v is None else min(v, _TAU_PLOT_CAP) for v in summary["per_unit"]])

        all_tau = np.concatenate([per_unit(r[k]) for r in runs for k in ("timescales_initial", "timescales_final")])
        bins = np.logspace(np.log10(max(all_tau.min(), 1e-2)), np.log10(all_tau.max()) + 1e-9, 30)
        for ax, run in zip(axes, runs):
            ax.hist(per_unit(run["timescales_initial"]), bins=bins, alpha=0.5, label="initial")
            ax.hist(per_unit(run["timescales_final"]), bins=bins, alpha=0.5, label="trained")
            ax.axvline(run["timescales_final"]["horizon"], color="k", ls="--", lw=1)
            ax.set_xscale("log")
            ax.set_ylabel("units", fontsize=8)
            ax.set_title(run["variant"], fontsize=8, loc="left")
        axes[0].legend(fontsize=7, loc="upper right")
        axes[-1].set_xlabel(r"gate time scale $\tau = -1/\ln f$ per unit (median over data and time; "
                            "dashed: T; " + r"$\tau > 10^{6}$ or $\infty$ drawn at $10^{6}$)", fontsize=8)
        fig.tight_layout()
        written.append(out / f"{stem}_hist.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)

        fig, (ax_r2, ax_tau) = plt.subplots(1, 2, figsize=(9, 4.4))
        for i, run in enumerate(runs):
            steps = [line["step"] for line in run["history"]]
            color = colors[i % len(colors)]
            r2 = [np.nan if line.get("fit_r2") is None else line["fit_r2"] for line in run["history"]]
            ts = [np.nan if line.get("fit_timescale") is None else line["fit_timescale"]
                  for line in run["history"]]
            ax_r2.plot(steps, r2, color=color, label=run["variant"])
            ax_tau.plot(steps, ts, color=color)
        ax_r2.axhline(0.9, color="k", ls=":", lw=1, label="R² threshold 0.9")
        ax_r2.set_xlabel("training step")
        ax_r2.set_ylabel(r"R² of the fit of $\ln\|\partial L/\partial c_{T-k}\|$")
        ax_tau.set_yscale("log")
        ax_tau.set_xlabel("training step")
        ax_tau.set_ylabel("gradient time scale 1/rate (steps)\n(gaps: no decay, rate <= 0)", fontsize=9)
        window = runs[0].get("diagnostic_loss_steps")
        scope = f"; loss on the last {window} steps, fit from lag {window}" if window else ""
        fig.suptitle(f"gradient condition during training: {task} (T = {runs[0]['sequence_length']}{scope})",
                     fontsize=10)
        fig.tight_layout(rect=(0, 0.13, 1, 1))
        fig.legend(*ax_r2.get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=7, frameon=False)
        written.append(out / f"{stem}_condition.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)
    return written


def _per_unit_quantile(summary: dict, q: float) -> float | None:
    values = np.array([np.inf if v is None else v for v in summary["per_unit"]])
    return _finite_or_none(np.quantile(values, q, method="inverted_cdf"))


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
