"""Result types and the shared helpers every rank route reports through.

The bottom of the rank engine: it imports nothing of the engine above it, so the
contraction (:mod:`tnrnn.tn.contract`), the scalable method (:mod:`tnrnn.ranks.scalable`), the
profiles (:mod:`tnrnn.ranks.cuts`) and the router (:mod:`tnrnn.ranks.router`) all build on it.

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

from tnrnn.rac.circuits import RACSpec

__all__ = ["Spectrum", "spectrum", "RankResult", "BlockRank", "entry_degree", "failure_bound",
           "draws_failure_bound", "rank_result", "large_prime_draws", "TARGET_FAILURE", "LARGE_PRIME",
           "ESCALATION_SECONDS", "LARGE_PRIME_SLOWDOWN"]


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


@dataclass(frozen=True)
class BlockRank:
    """What an exact route found at one set of weights: a rank mod p, and what it is the rank of.

    Attributes
    ----------
    value : int
        The rank mod p of the block the route ranked.
    complete : bool
        ``True``: ``value`` is the rank of the whole matricization at these weights (the
        block held every row and column, or rows and columns proven to span). ``False``:
        the block may not span, so ``value`` is only a lower bound of that rank.

    Examples
    --------
    >>> int(BlockRank(12, complete=False)), BlockRank.of(5)
    (12, BlockRank(value=5, complete=True))
    """

    value: int
    complete: bool = True

    def __int__(self) -> int:
        return self.value

    @classmethod
    def of(cls, found) -> BlockRank:
        """A route's answer as a BlockRank: a plain integer is the whole matricization's rank."""
        return found if isinstance(found, cls) else cls(int(found), True)


@dataclass(kw_only=True)
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
        Schwartz-Zippel bound on the probability that ``rank`` is below the generic rank
        (0 when certified). ``None`` for float ranks and for lower bounds
        (``complete=False``), where no such bound holds.
    draws : list of int
        The exact rank of each random draw.
    spectrum : Spectrum or None
        Float diagnostics (float ranks only).
    bounds : dict
        The closed forms used (see :class:`tnrnn.rac.bounds.Bounds`).
    complete : bool
        Whether ``rank`` is the rank of the whole matricization at the weights of at least
        one draw (see :class:`BlockRank`). ``False``: every route answer was the rank of a
        block that may not span, so ``rank`` is only a lower bound (``kind`` says so).
    primes : list of int
        The modulus of each draw (the failure bound multiplies over draws).
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
    complete: bool = True
    primes: list[int] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """``certified``, ``interval``, ``lower bound`` or ``float``: how to read ``rank``.

        ``interval``: ``rank`` is the whole matricization's rank at random weights, the
        generic rank except with probability ``failure_bound``; ``lower bound``: a block's
        rank that may fall short of it (no failure bound applies).
        """
        if not self.exact:
            return "float"
        if self.certified:
            return "certified"
        return "interval" if self.complete else "lower bound"

    def describe(self) -> str:
        """One human line: the value and how sure it is.

        Examples
        --------
        >>> RankResult(rank=4, lower=4, upper=4, certified=True, method="dense", seconds=0.01).describe()
        'rank 4 (certified: proven equal to the generic rank; method dense)'
        """
        if not self.exact:
            return (f"float rank {self.rank} at tolerance {self.spectrum.tolerance:.3g} "
                    f"(not exact; method {self.method})")
        if self.certified:
            return f"rank {self.rank} (certified: proven equal to the generic rank; method {self.method})"
        if not self.complete:
            return (f"rank at least {self.lower}: generic rank in [{self.lower}, {self.upper}] (a block "
                    f"that may not span the matricization gave {self.rank}; method {self.method})")
        bound = "" if self.failure_bound is None else f"failure bound {self.failure_bound:.2g}; "
        return (f"rank {self.rank} at random weights; generic rank in [{self.lower}, {self.upper}] "
                f"({bound}method {self.method})")

    def to_dict(self) -> dict:
        """JSON-ready dictionary (spectrum values as a list).

        ``lower``/``upper`` are the proven interval; inside ``bounds``, the closed forms' own
        best bounds are named ``closed_form_lower``/``closed_form_upper`` so that the two
        cannot be confused (the computed rank usually lifts ``lower`` above the closed form's).
        """
        out = asdict(self)
        out["kind"] = self.kind
        closed = dict(out["bounds"])
        for side in ("lower", "upper"):
            if side in closed:
                closed[f"closed_form_{side}"] = closed.pop(side)
        out["bounds"] = closed
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
    """Schwartz-Zippel bound that ``draws`` independent draws mod ``prime`` all miss the generic rank.

    An r x r minor of the matricization is a polynomial of degree at most
    ``r * entry_degree(spec, T)`` in the weights (:func:`entry_degree`); with weights
    uniform in F_p it vanishes with probability at most degree / p per draw. The bound is
    about the rank of the *whole* matricization at each draw: it says nothing of a block
    that may not span it (such a result is a lower bound, see :class:`BlockRank`).

    Examples
    --------
    >>> failure_bound(45, RACSpec(3, 3, 2), 8, 2_147_483_647, 1) < 1e-5
    True
    """
    return draws_failure_bound(upper, spec, length, [prime] * max(draws, 1))


def draws_failure_bound(upper: int, spec: RACSpec, length: int, primes: list[int]) -> float:
    """:func:`failure_bound` for independent draws with one prime each: the product of ``degree / p``.

    Examples
    --------
    >>> spec = RACSpec(2, 2, 3)
    >>> draws_failure_bound(1608, spec, 22, [8_388_593, 2_147_483_647]) < 1e-2
    True
    """
    degree = upper * entry_degree(spec, length)
    bound = 1.0
    for prime in primes:
        bound *= min(1.0, degree / prime)
    return bound


#: The failure bound that ``prime=None`` (the automatic choice) aims for when a rank is not certified.
TARGET_FAILURE = 1e-6
#: The larger prime of the automatic choice (exact ranks on python-flint, several times slower).
LARGE_PRIME = 2_147_483_647
#: The automatic prime choice redraws an uncertified cell mod :data:`LARGE_PRIME` only while
#: those draws are predicted (from the time of the draws before) to take at most this long.
ESCALATION_SECONDS = 60.0
#: A draw mod :data:`LARGE_PRIME` (python-flint, int64 products) against one mod the default
#: prime (BLAS), measured on the scalable route at M=R=2, L=3, T=22: about this many times slower.
LARGE_PRIME_SLOWDOWN = 6.0


def rank_result(found: list[BlockRank], primes: list[int], closed, spec: RACSpec, length: int,
                method: str, seconds: float) -> RankResult:
    """The :class:`RankResult` of exact draws: best rank, proven interval, and an honest failure bound.

    The failure bound multiplies over the draws whose rank is the whole matricization's
    (``complete``); when there is none, the result is a lower bound and has none.

    Raises
    ------
    RuntimeError
        If a rank exceeds the proven upper bound (a bug).
    """
    best = max(f.value for f in found)
    if best > closed.upper:
        raise RuntimeError(f"exact rank {best} exceeds the proven upper bound {closed.upper}: this is "
                           f"a bug, please report it with spec={spec}, length={length}")
    lower, upper = max(best, closed.lower), closed.upper
    certified = lower == upper
    complete_primes = [p for f, p in zip(found, primes) if f.complete]
    if certified:
        bound = 0.0
    elif complete_primes:
        bound = draws_failure_bound(upper, spec, length, complete_primes)
    else:
        bound = None
    return RankResult(rank=best, lower=lower, upper=upper, certified=certified, method=method, seconds=seconds,
                      exact=True, prime=primes[-1],
                      failure_bound=bound, draws=[f.value for f in found], bounds=closed.to_dict(),
                      complete=certified or bool(complete_primes), primes=list(primes))


def large_prime_draws(result: RankResult, spec: RACSpec, length: int, target: float = TARGET_FAILURE) -> int:
    """How many more draws mod :data:`LARGE_PRIME` bring ``result``'s failure bound to ``target`` (0: none needed).

    Only complete, uncertified results are worth redrawing; at most 3 draws are asked for.

    Examples
    --------
    >>> r = RankResult(rank=1604, lower=1604, upper=1608, certified=False, method="scalable", seconds=1.0,
    ...                prime=8_388_593, failure_bound=0.6,
    ...                draws=[1604], primes=[8_388_593])
    >>> large_prime_draws(r, RACSpec(2, 2, 3), 22)
    3
    """
    if result.certified or not result.complete or result.failure_bound is None:
        return 0
    step = draws_failure_bound(result.upper, spec, length, [LARGE_PRIME])
    bound, count = result.failure_bound, 0
    while bound > target and count < 3 and step < 1.0:
        bound *= step
        count += 1
    return count
