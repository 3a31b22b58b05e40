"""Ranks of matricizations and separation ranks of RACs, exact or float.

Two kinds of numbers come out of here, and they are never mixed:

* **exact** ranks, computed mod a prime p on integer weights (python-flint). The rank
  mod p of an integer matrix is at most its rank over Q, which is at most the
  generic rank of the architecture: every exact rank is a certified *lower bound*.
  Combined with the closed-form upper bounds of :mod:`tnrnn.bounds` it becomes an
  interval, ``certified`` when the two meet.
* **float** ranks of particular real weights: the whole singular spectrum, the rank at
  numpy's default tolerance, the largest log-gap, the effective rank and entropy.
  Deep RACs have huge dynamic ranges, so a float rank is never a generic rank.
"""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from tnrnn.bounds import bounds as closed_forms
from tnrnn.circuits import RACSpec, RACWeights
from tnrnn.grid import check_grid_size, grid_tensor
from tnrnn.modular import DEFAULT_PRIME, check_prime, rank_mod
from tnrnn.partitions import Partition, parse_partition

__all__ = [
    "RankResult",
    "Spectrum",
    "spectrum",
    "matrix_rank_exact",
    "separation_rank",
    "generic_rank",
    "EXACT_METHODS",
    "failure_bound",
    "entry_degree",
    "rank_profile",
    "DENSE_AUTO_ENTRIES",
]


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
        weights /= weights.sum()
        entropy = float(-(weights * np.log(weights)).sum())
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


def matrix_rank_exact(matrix: np.ndarray, prime: int) -> int:
    """Rank of an integer matrix over F_prime (see :func:`tnrnn.modular.rank_mod`)."""
    return rank_mod(matrix, check_prime(prime))


# --- exact methods: (modular weights, partition) -> exact rank of [A]_{S,E} mod p -------


def _dense_exact(weights: RACWeights, partition: Partition, *, max_bytes: int | None = None) -> int:
    tensor = grid_tensor(weights, partition.length, max_bytes=max_bytes)
    return rank_mod(partition.matricize(tensor), weights.modulus)


#: Exact rank routes by name: a function, or ``"module:function"`` imported on first use.
#: Each is called as ``route(weights, partition, max_bytes=...)`` with modular weights and
#: returns the exact rank mod p of the matricization ``[A]_{S,E}`` at those weights.
EXACT_METHODS: dict[str, Callable[..., int] | str] = {
    "dense": _dense_exact,
    "tn": "tnrnn.contract:exact_rank_tn",
    "scalable": "tnrnn.scalable:exact_rank_scalable",
}


def _route(name: str) -> Callable[..., int]:
    route = EXACT_METHODS[name]
    if isinstance(route, str):
        module_name, function_name = route.split(":")
        route = getattr(importlib.import_module(module_name), function_name)
        EXACT_METHODS[name] = route
    return route


#: ``method="auto"`` ranks contiguous cuts densely only while the grid has at most this many
#: entries (M^T); beyond, the scalable method is faster and its memory is polynomial in T.
DENSE_AUTO_ENTRIES = 2**16


def _resolve_method(method: str, spec: RACSpec, partition: Partition, max_bytes: int | None) -> str:
    if method != "auto":
        if method not in EXACT_METHODS:
            raise ValueError(f"method must be 'auto' or one of {sorted(EXACT_METHODS)}, got {method!r}")
        return method
    if partition.prefix_length is not None and spec.templates**partition.length > DENSE_AUTO_ENTRIES:
        return "scalable"  # contiguous cuts: polynomial in T, far faster once the grid is not tiny
    check_grid_size(spec.templates, spec.hidden, spec.depth, partition.length, max_bytes)
    return "dense"


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


def generic_rank(spec: RACSpec, length: int, partition: Partition | str | None = None, *,
                 method: str = "auto", draws: int = 3, prime: int = DEFAULT_PRIME,
                 seed: int | None = 0, max_bytes: int | None = None) -> RankResult:
    """The generic separation rank of an architecture: exact ranks at random weights mod p.

    Draws integer weights uniformly from F_p, ranks the matricization exactly, keeps the
    maximum over ``draws`` draws (stopping early once it meets the upper bound), and
    combines it with every applicable closed form.

    Parameters
    ----------
    spec : RACSpec
    length : int
        T.
    partition : Partition or str, optional
        Default Start-End; strings as in :func:`tnrnn.partitions.parse_partition`.
    method : str
        ``auto`` (contiguous cuts: dense for tiny grids, at most
        :data:`DENSE_AUTO_ENTRIES` entries, else ``scalable``; other partitions: dense while
        the grid tensor fits), or a key of :data:`EXACT_METHODS`.
    draws : int
        Maximum number of random weight draws.
    prime : int
        Modulus, a prime below 2**31.
    seed : int, optional
        Seed of the first draw (draw i uses ``seed + i``).
    max_bytes : int, optional
        Memory guard for dense routes.

    Returns
    -------
    RankResult
        ``rank`` is the best exact rank found; ``lower``/``upper`` the proven interval.

    Raises
    ------
    ValueError
        For bad lengths, partitions, primes or methods, before any work.

    Examples
    --------
    >>> r = generic_rank(RACSpec(2, 2, 2), 6)
    >>> r.rank, r.lower, r.upper, r.certified
    (8, 8, 8, True)
    """
    start = time.perf_counter()
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise ValueError(f"draws must be a positive integer, got {draws!r}")
    prime = check_prime(prime)
    partition = parse_partition("start-end" if partition is None else partition, length)
    closed = closed_forms(spec, length, partition)
    chosen = _resolve_method(method, spec, partition, max_bytes)
    route = _route(chosen)
    found: list[int] = []
    for i in range(draws):
        weights = RACWeights.random_mod_p(spec, prime, None if seed is None else seed + i)
        # the scalable route samples rows and columns: a fresh sample per draw (seed i)
        extra = {"seed": i} if chosen == "scalable" else {}
        found.append(int(route(weights, partition, max_bytes=max_bytes, **extra)))
        if max(found) >= closed.upper:
            break
    best = max(found)
    if best > closed.upper:
        raise RuntimeError(f"exact rank {best} exceeds the proven upper bound {closed.upper}: "
                           f"this is a bug, please report it with spec={spec}, length={length}")
    lower, upper = max(best, closed.lower), closed.upper
    certified = lower == upper
    bound = 0.0 if certified else failure_bound(upper, spec, length, prime, len(found))
    return RankResult(best, lower, upper, certified, chosen, time.perf_counter() - start, True,
                      prime, bound, found, None, closed.to_dict())


def separation_rank(weights: RACWeights, length: int, partition: Partition | str | None = None, *,
                    method: str = "auto", tolerance: float | None = None,
                    max_bytes: int | None = None) -> RankResult:
    """Rank of the matricization of one RAC's grid tensor (particular weights).

    Modular weights give an exact rank (a lower bound of the generic rank, so ``lower``
    is it and ``upper`` the closed-form bound). Real weights give a float rank with its
    whole spectrum; ``certified`` is then ``False``.

    Examples
    --------
    >>> from tnrnn.circuits import RACSpec
    >>> w = RACWeights.gaussian(RACSpec(2, 2, 1), seed=0)
    >>> r = separation_rank(w, 4)
    >>> r.rank, r.exact, r.certified
    (2, False, False)
    """
    start = time.perf_counter()
    spec = weights.spec
    partition = parse_partition("start-end" if partition is None else partition, length)
    closed = closed_forms(spec, length, partition)
    if weights.exact:
        chosen = _resolve_method(method, spec, partition, max_bytes)
        value = int(_route(chosen)(weights, partition, max_bytes=max_bytes))
        lower = max(value, closed.lower)
        return RankResult(value, lower, closed.upper, lower == closed.upper, chosen,
                          time.perf_counter() - start, True, weights.modulus, None, [value], None,
                          closed.to_dict())
    if method not in ("auto", "dense", "tn"):
        raise ValueError(f"float ranks of real weights use method='dense' or 'tn', got method={method!r}")
    if method == "tn":
        from tnrnn.contract import spectrum_tn

        spec_info, upper = spectrum_tn(weights, partition, tolerance=tolerance, max_bytes=max_bytes)
        return RankResult(spec_info.rank, 0, upper, False, "float-tn", time.perf_counter() - start,
                          False, None, None, [], spec_info, closed.to_dict())
    matrix = partition.matricize(grid_tensor(weights, length, max_bytes=max_bytes))
    spec_info = spectrum(matrix, tolerance)
    return RankResult(spec_info.rank, 0, min(matrix.shape), False, "float-svd",
                      time.perf_counter() - start, False, None, None, [], spec_info, closed.to_dict())


def rank_profile(spec: RACSpec, length: int, **options):
    """Generic ranks at every cut k = 1..T-1 in one call: see :func:`tnrnn.scalable.rank_profile`."""
    from tnrnn.scalable import rank_profile as profile

    return profile(spec, length, **options)
