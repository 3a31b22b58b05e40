"""Result types and the shared helpers every rank route reports through.

The bottom of the rank engine: it imports nothing of the engine above it, so the
contraction (:mod:`tnrnn.contract`), the scalable method (:mod:`tnrnn.scalable`), the
profiles (:mod:`tnrnn.profile`) and the router (:mod:`tnrnn.rank`) all build on it.

* :class:`Spectrum` and :func:`spectrum`: float diagnostics of particular real weights;
* :class:`RankResult`: a rank with its proven interval, how it was obtained and how
  sure it is (``certified``, ``interval`` or ``float``);
* :func:`entry_degree` and :func:`failure_bound`: the Schwartz-Zippel bound of an exact
  rank at random weights, for the prime actually used.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from tnrnn.circuits import RACSpec

__all__ = ["Spectrum", "spectrum", "RankResult", "entry_degree", "failure_bound"]


@dataclass
class Spectrum:
    """Float diagnostics of a matrix's singular values.

    Attributes
    ----------
    values : ndarray
        All singular values, descending.
    tolerance : float
        ``sigma_max * max(m, n) * eps`` (numpy's ``matrix_rank`` default).
    rank : int
        Number of singular values above ``tolerance``.
    log_gap : float
        Largest drop ``log10(sigma_i / sigma_{i+1})`` among the non-zero values (0 if none).
    log_gap_index : int
        Number of singular values above that largest gap.
    entropy : float
        Entanglement entropy ``-sum(l log l)`` of ``l = sigma^2 / sum(sigma^2)``.
    effective_rank : float
        ``exp(entropy)``.
    """

    values: np.ndarray
    tolerance: float
    rank: int
    log_gap: float
    log_gap_index: int
    entropy: float
    effective_rank: float


def spectrum(matrix: np.ndarray, tolerance: float | None = None) -> Spectrum:
    """Singular spectrum and float rank diagnostics of a real matrix.

    Parameters
    ----------
    matrix : ndarray, 2-D
    tolerance : float, optional
        Absolute threshold; default numpy's ``sigma_max * max(m, n) * eps``.

    Notes
    -----
    One dense SVD, O(min(m,n)^2 max(m,n)).

    Examples
    --------
    >>> s = spectrum(np.diag([1.0, 1e-3, 0.0]))
    >>> s.rank, round(s.log_gap, 6), s.log_gap_index
    (2, 3.0, 1)
    >>> s = spectrum(np.diag([1.0, 1e-170]))  # the second weight underflows: no nan, no warning
    >>> s.rank, s.entropy, s.effective_rank
    (1, 0.0, 1.0)
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"matrix must be 2-D, got shape {matrix.shape}")
    values = np.linalg.svd(matrix, compute_uv=False) if matrix.size else np.zeros(0)
    top = float(values[0]) if values.size else 0.0
    tol = top * max(matrix.shape) * np.finfo(np.float64).eps if tolerance is None else float(tolerance)
    rank = int(np.count_nonzero(values > tol))
    positive = values[values > 0]
    if positive.size >= 2:
        gaps = np.log10(positive[:-1] / positive[1:])
        index = int(np.argmax(gaps))
        log_gap, log_gap_index = float(gaps[index]), index + 1
    else:
        log_gap, log_gap_index = 0.0, int(positive.size)
    if top > 0:
        weights = (positive / top) ** 2
        weights = weights[weights > 0]  # a ratio below ~1e-162 squares to 0: its term w log w -> 0
        weights /= weights.sum()
        entropy = max(0.0, float(-(weights * np.log(weights)).sum()))  # no -0.0
    else:
        entropy = 0.0
    return Spectrum(values, tol, rank, log_gap, log_gap_index, entropy, math.exp(entropy) if top > 0 else 0.0)


@dataclass
class RankResult:
    """A rank, with the interval it is proven to lie in and how it was obtained.

    Attributes
    ----------
    rank : int
        Exact: the rank mod p at the weights drawn (a lower bound of the generic rank).
        Float: the rank at ``spectrum.tolerance``.
    lower, upper : int
        The interval the quantity is proven to lie in. For a generic rank: the best
        exact rank found and every applicable closed form. For a float rank: ``0`` and
        the matrix's smaller dimension (rounding can move it either way).
    certified : bool
        ``lower == upper``: the value is proven. Always ``False`` for float ranks.
    method : str
        How the matricization was ranked (``dense``, ``tn``, ``scalable``, ``float-svd`` ...).
    seconds : float
        Wall-clock time.
    exact : bool
        Whether ``rank`` was computed exactly (mod ``prime``).
    prime : int or None
        The modulus of exact computations.
    failure_bound : float or None
        Schwartz-Zippel bound on the probability that the random draws all missed the
        generic rank (0 when certified; ``None`` for float ranks).
    draws : list of int
        The exact rank of each random draw.
    spectrum : Spectrum or None
        Float diagnostics (float ranks only).
    bounds : dict
        The closed forms used (see :class:`tnrnn.bounds.Bounds`).
    """

    rank: int
    lower: int
    upper: int
    certified: bool
    method: str
    seconds: float
    exact: bool = True
    prime: int | None = None
    failure_bound: float | None = None
    draws: list[int] = field(default_factory=list)
    spectrum: Spectrum | None = None
    bounds: dict = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """``certified``, ``interval`` or ``float``: how to read ``rank``."""
        if not self.exact:
            return "float"
        return "certified" if self.certified else "interval"

    def describe(self) -> str:
        """One human line: the value and how sure it is.

        Examples
        --------
        >>> RankResult(4, 4, 4, True, "dense", 0.01).describe()
        'rank 4 (certified: proven equal to the generic rank; method dense)'
        """
        if not self.exact:
            return (f"float rank {self.rank} at tolerance {self.spectrum.tolerance:.3g} "
                    f"(not exact; method {self.method})")
        if self.certified:
            return f"rank {self.rank} (certified: proven equal to the generic rank; method {self.method})"
        return (f"rank {self.rank} at random weights; generic rank in [{self.lower}, {self.upper}] "
                f"(failure bound {self.failure_bound:.2g}; method {self.method})")

    def to_dict(self) -> dict:
        """JSON-ready dictionary (spectrum values as a list)."""
        out = asdict(self)
        out["kind"] = self.kind
        if self.spectrum is not None:
            out["spectrum"] = {**asdict(self.spectrum), "values": self.spectrum.values.tolist()}
        return out


def entry_degree(spec: RACSpec, length: int) -> int:
    """Degree of one grid-tensor entry ``y`` as a polynomial in the weights.

    ``y`` is homogeneous in the weights: ``h^1_t`` has degree ``2t - 1`` (one input and
    one hidden weight per step), and ``h^l_t = (W^{H,l} h^l_{t-1}) * (W^{I,l} h^{l-1}_t)``
    adds ``2 + deg h^{l-1}_t`` per step, so the degree grows like ``T^L``; plus one for
    ``W^O``.

    Examples
    --------
    >>> entry_degree(RACSpec(2, 2, 1), 8), entry_degree(RACSpec(2, 2, 2), 8)
    (16, 80)
    """
    below = [0] * (length + 1)  # the features: degree 0
    for _ in range(spec.depth):
        layer = [0] * (length + 1)
        for t in range(1, length + 1):
            layer[t] = below[t] + 1 + (layer[t - 1] + 1 if t > 1 else 0)
        below = layer
    return below[length] + 1


def failure_bound(upper: int, spec: RACSpec, length: int, prime: int, draws: int) -> float:
    """Schwartz-Zippel bound that ``draws`` independent draws all miss the generic rank.

    An r x r minor of the matricization is a polynomial of degree at most
    ``r * entry_degree(spec, T)`` in the weights (:func:`entry_degree`); with weights
    uniform in F_p it vanishes with probability at most degree / p per draw. For a route
    that ranks a sampled submatrix (``scalable`` where a side has more than N prefixes or
    suffixes) the bound is about the generic rank of that submatrix; the proven interval
    ``[lower, upper]`` holds regardless.

    Examples
    --------
    >>> failure_bound(45, RACSpec(3, 3, 2), 8, 2_147_483_647, 1) < 1e-5
    True
    """
    degree = upper * entry_degree(spec, length)
    return min(1.0, degree / prime) ** max(draws, 1)
