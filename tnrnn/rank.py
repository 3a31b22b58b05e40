"""The router: separation ranks of RACs and generic ranks of architectures, exact or float.

The top of the rank engine. It picks a route (:mod:`tnrnn.routes`: dense, tensor
network, scalable), combines its exact rank with the closed forms of
:mod:`tnrnn.bounds`, and reports a :class:`~tnrnn.results.RankResult`. The result types
and the failure bound live in :mod:`tnrnn.results` and are re-exported here.

Two kinds of numbers come out of here, and they are never mixed:

* **exact** ranks, computed mod a prime p on integer weights (:func:`tnrnn.modular.rank_mod`). The rank
  mod p of an integer matrix is at most its rank over Q, which is at most the
  generic rank of the architecture: every exact rank is a certified *lower bound*.
  Combined with the closed-form upper bounds of :mod:`tnrnn.bounds` it becomes an
  interval, ``certified`` when the two meet.
* **float** ranks of particular real weights: the whole singular spectrum, the rank at
  numpy's default tolerance, the largest log-gap, the effective rank and entropy.
  Deep RACs have huge dynamic ranges, so a float rank is never a generic rank.
"""

from __future__ import annotations

import time

import numpy as np

from tnrnn.bounds import bounds as closed_forms
from tnrnn.circuits import RACSpec, RACWeights
from tnrnn.grid import grid_tensor
from tnrnn.modular import DEFAULT_PRIME, check_prime, rank_mod
from tnrnn.partitions import Partition, parse_partition
from tnrnn.results import RankResult, Spectrum, entry_degree, failure_bound, spectrum
from tnrnn.routes import DENSE_AUTO_ENTRIES, EXACT_METHODS, resolve_method, route

_route = route  # the name this module used before the registry moved to tnrnn.routes

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


def matrix_rank_exact(matrix: np.ndarray, prime: int) -> int:
    """Rank of an integer matrix over F_prime (see :func:`tnrnn.modular.rank_mod`)."""
    return rank_mod(matrix, check_prime(prime))


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
    chosen = resolve_method(method, spec, partition, max_bytes)
    chosen_route = route(chosen)
    found: list[int] = []
    for i in range(draws):
        weights = RACWeights.random_mod_p(spec, prime, None if seed is None else seed + i)
        # the scalable route samples rows and columns: a fresh sample per draw (seed i)
        extra = {"seed": i} if chosen in ("scalable", "lifted") else {}
        found.append(int(chosen_route(weights, partition, max_bytes=max_bytes, **extra)))
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
        chosen = resolve_method(method, spec, partition, max_bytes)
        value = int(route(chosen)(weights, partition, max_bytes=max_bytes))
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
    """Generic ranks at every cut k = 1..T-1 in one call: see :func:`tnrnn.profile.rank_profile`."""
    from tnrnn.profile import rank_profile as profile

    return profile(spec, length, **options)
