"""Lag weights of the infinite-width tangent kernel of a linear RNN (Emami et al., arXiv:2101.07833).

The linear RNN ``h_t = W h_{t-1} + F x_t``, ``y_t = C h_t`` is the convolution
``y_t = sum_{j>=1} K_j x_{t-j+1}`` with Markov parameters ``K_j = C W^{j-1} F``. At
infinite width its tangent kernel in lag space, ``Theta_jk = <dK_j/dtheta, dK_k/dtheta>``,
is diagonal with weights ``beta_j^2``, so gradient descent on the RNN is gradient descent
on the scaled convolution ``y_t = sum_j beta_j Kt_j x_{t-j+1}`` (``K_j = beta_j Kt_j``).

Derivation (both parameterisations)
-----------------------------------
Write ``W = a_W Wt``, ``C = a_C Ct``, ``F = a_F Ft`` with trained parameters ``Wt, Ct, Ft``.
The three gradients of ``K_j`` are

* ``dK_j/dCt = a_C (W^{j-1} F)^T``,
* ``dK_j/dFt = a_F (C W^{j-1})^T``,
* ``dK_j/dWt = a_W sum_{i=0}^{j-2} (C W^i)^T (W^{j-2-i} F)^T``.

For a Gaussian ``W`` with entry variance ``s_W^2/n``, ``|W v|^2 -> s_W^2 |v|^2`` and the
cross terms between different ``i`` vanish as ``n -> inf``, so with ``|F|^2 -> n s_F^2``
and ``|C|^2 -> n s_C^2 / n = s_C^2``:

* C part: ``a_C^2 n s_F^2 s_W^{2(j-1)}``,
* F part: ``a_F^2 s_C^2 s_W^{2(j-1)}``,
* W part: ``a_W^2 (j-1) n s_C^2 s_F^2 s_W^{2(j-2)}``,

and off-diagonal entries are O(n^-1/2) relative to the diagonal.

* **NTK** (``a_W = s_W/sqrt(n)``, ``a_C = s_C/sqrt(n)``, ``a_F = s_F``, ``Wt, Ct, Ft ~ N(0, 1)``):
  each part is ``s_C^2 s_F^2 s_W^{2(j-1)}`` times 1, 1 and ``j-1``, so
  ``beta_j^2 = (j+1) s_C^2 s_F^2 s_W^{2(j-1)}`` independent of n.
* **standard** (``a = 1``, ``W ~ N(0, s_W^2/n)``, ``C ~ N(0, s_C^2/n)``, ``F ~ N(0, s_F^2)``):
  ``beta_j^2 = s_C^2 s_F^2 s_W^{2(j-1)} [(j-1) n/s_W^2 + n/s_C^2 + 1/s_F^2]``.

The standard parameterisation is the NTK one with per-layer learning rates
(``eta n/s_W^2``, ``eta n/s_C^2``, ``eta/s_F^2``). With one learning rate it is *not* the
NTK kernel up to a scale: the weights grow like n (so the learning rate must shrink like
1/n), the input matrix F barely moves (its part is O(1) against O(n)), and the linear
prefactor becomes ``(j-1)/s_W^2 + 1/s_C^2`` instead of ``j+1``. The geometric factor
``s_W^{2(j-1)}``, hence the decay length, is the same. With ``s_W = s_C`` the prefactor is
``j/s_W^2``: the NTK shape with ``j+1`` replaced by ``j``.

A direct term ``y_t += D x_t`` (lag 0, ``K_0 = D``) has gradient 1 and no other Markov
parameter depends on D, so it adds an exactly decoupled weight ``beta_0^2 = 1``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["PARAMETERIZATIONS", "check_sigma", "check_lags", "check_width", "check_parameterization",
           "lag_weights", "decay_length"]

#: The two supported parameterisations.
PARAMETERIZATIONS = ("ntk", "standard")


def check_sigma(name: str, value: float) -> float:
    """Validate a standard-deviation scale: a finite float > 0."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}") from None
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return number


def check_lags(lags: int) -> int:
    """Validate a number of lags: an integer >= 1."""
    if isinstance(lags, bool) or not isinstance(lags, (int, np.integer)) or lags < 1:
        raise ValueError(f"lags must be an integer >= 1, got {lags!r}")
    return int(lags)


def check_width(width: int) -> int:
    """Validate a hidden width: an integer >= 1."""
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1:
        raise ValueError(f"width must be a positive integer, got {width!r}")
    return int(width)


def check_parameterization(parameterization: str) -> str:
    """Validate a parameterisation name (``'ntk'`` or ``'standard'``)."""
    if parameterization not in PARAMETERIZATIONS:
        raise ValueError(f"parameterization must be one of {PARAMETERIZATIONS}, got {parameterization!r}")
    return parameterization


def lag_weights(lags: int, sigma_w: float, sigma_c: float = 1.0, sigma_f: float = 1.0, *,
                parameterization: str = "ntk", width: int | None = None) -> np.ndarray:
    """Infinite-width lag weights ``beta_j^2`` for ``j = 1..lags``.

    Parameters
    ----------
    lags : int
        J >= 1, the number of lags.
    sigma_w, sigma_c, sigma_f : float
        Scales of the transition, output and input matrices (> 0).
    parameterization : {'ntk', 'standard'}
        See the module docstring for both formulas.
    width : int, optional
        Hidden width n; required for ``'standard'`` (its weights grow like n), ignored for ``'ntk'``.

    Returns
    -------
    ndarray, shape (lags,)
        ``beta_j^2`` (float64); entry ``j-1`` belongs to lag j (Markov parameter ``C W^{j-1} F``).

    Raises
    ------
    ValueError
        Bad lags, sigmas, parameterisation, or a missing width for ``'standard'``.

    Examples
    --------
    >>> lag_weights(4, sigma_w=0.5)
    array([2.     , 0.75   , 0.25   , 0.078125])
    >>> lag_weights(3, sigma_w=1.0, parameterization="standard", width=100)
    array([101., 201., 301.])
    """
    lags = check_lags(lags)
    sigma_w, sigma_c, sigma_f = (check_sigma(name, value) for name, value in
                                 (("sigma_w", sigma_w), ("sigma_c", sigma_c), ("sigma_f", sigma_f)))
    check_parameterization(parameterization)
    j = np.arange(1, lags + 1, dtype=np.float64)
    geometric = sigma_c**2 * sigma_f**2 * sigma_w ** (2 * (j - 1))
    if parameterization == "ntk":
        return (j + 1) * geometric
    if width is None:
        raise ValueError("width is required for parameterization='standard' (its lag weights grow like width)")
    n = check_width(width)
    return geometric * ((j - 1) * n / sigma_w**2 + n / sigma_c**2 + 1 / sigma_f**2)


def decay_length(sigma_w: float) -> float:
    """E-folding length (in lags) of the lag weights' geometric factor ``sigma_w^{2j}``.

    ``-1 / ln(sigma_w^2)`` for ``sigma_w < 1``; ``inf`` for ``sigma_w >= 1`` (no decay:
    the weights grow, linearly at ``sigma_w = 1`` and geometrically above).

    Examples
    --------
    >>> round(decay_length(0.9), 3)
    4.746
    >>> decay_length(1.0)
    inf
    """
    sigma_w = check_sigma("sigma_w", sigma_w)
    if sigma_w >= 1:
        return math.inf
    return -1.0 / math.log(sigma_w**2)
