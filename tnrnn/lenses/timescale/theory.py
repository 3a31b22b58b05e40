"""Time scales of forget gates and the exponential fit of the gradient condition (numpy only).

A constant forget gate ``f`` gives the time scale ``tau = -1/ln f``; the gradient
condition of K. Ohno & A. Kumagai (arXiv:2111.03282) asks that ``||dL/dc_{T-k}||`` decay
exponentially in the lag k. :func:`timescale_summary` summarises gate time scales;
:func:`fit_exponential` fits the decay and gives the verdict of :data:`CONDITION_RULE`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = [
    "CONDITION_RULE",
    "TimescaleSummary",
    "ExponentialFit",
    "timescale_summary",
    "fit_exponential",
    "finite_or_none",
]

#: The verdict rule, in words; the thresholds are the defaults of :func:`fit_exponential`.
CONDITION_RULE = ("gradient condition holds when a least-squares fit of ln ||dL/dc_{T-k}|| against k "
                  "over the fitted lags has rate > 0 (decay) and R^2 >= 0.9 (exponential shape)")

_QUANTILES = {"q10": 0.1, "median": 0.5, "q90": 0.9}


def finite_or_none(value: float) -> float | None:
    """``float(value)``, or None where it is infinite or NaN (JSON has no infinity).

    Parameters
    ----------
    value : float
        Any number (numpy scalars included).

    Returns
    -------
    float or None

    Examples
    --------
    >>> finite_or_none(2), finite_or_none(float("inf")), finite_or_none(float("nan"))
    (2.0, None, None)
    """
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
        out = {k: (finite_or_none(v) if isinstance(v, float) else v)
               for k, v in asdict(self).items() if k != "per_unit"}
        if per_unit:
            out["per_unit"] = [finite_or_none(v) for v in self.per_unit]
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
    with np.errstate(divide="ignore", over="ignore"):
        # ln f == 0 (a gate saturated to 1 even in float64, either sign of zero): tau = +inf;
        # ln f subnormal (|ln f| < 1/DBL_MAX): -1/ln f overflows to +inf, the time scale it is
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
        return {"rate": finite_or_none(self.rate), "intercept": finite_or_none(self.intercept),
                "r2": finite_or_none(self.r2), "timescale": finite_or_none(self.timescale),
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
