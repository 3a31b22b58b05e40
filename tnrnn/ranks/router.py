"""The router: separation ranks of RACs and generic ranks of architectures, exact or float.

The top of the rank engine. It picks a route (:mod:`tnrnn.ranks.routes`: dense, tensor
network, scalable), combines its exact rank with the closed forms of
:mod:`tnrnn.rac.bounds`, and reports a :class:`~tnrnn.ranks.results.RankResult`. The result types
and the failure bound live in :mod:`tnrnn.ranks.results` and are re-exported here.

Two kinds of numbers come out of here, and they are never mixed:

* **exact** ranks, computed mod a prime p on integer weights (:func:`tnrnn.exact.modular.rank_mod`). The rank
  mod p of an integer matrix is at most its rank over Q, which is at most the
  generic rank of the architecture: every exact rank is a certified *lower bound*.
  Combined with the closed-form upper bounds of :mod:`tnrnn.rac.bounds` it becomes an
  interval, ``certified`` when the two meet.
* **float** ranks of particular real weights: the whole singular spectrum, the rank at
  numpy's default tolerance, the largest log-gap, the effective rank and entropy.
  Deep RACs have huge dynamic ranges, so a float rank is never a generic rank.
"""

from __future__ import annotations

import time

import numpy as np

from tnrnn._validation import positive_int
from tnrnn.exact.modular import DEFAULT_PRIME, check_prime, rank_mod
from tnrnn.rac.bounds import bounds as closed_forms
from tnrnn.rac.circuits import RACSpec, RACWeights
from tnrnn.rac.grid import grid_tensor
from tnrnn.rac.partitions import Partition, parse_partition
from tnrnn.ranks.cuts import rank_profile as profile
from tnrnn.ranks.plan import plan
from tnrnn.ranks.results import (
    ESCALATION_SECONDS,
    LARGE_PRIME,
    LARGE_PRIME_SLOWDOWN,
    TARGET_FAILURE,
    BlockRank,
    RankResult,
    Spectrum,
    entry_degree,
    failure_bound,
    large_prime_draws,
    rank_result,
    spectrum,
)
from tnrnn.ranks.routes import DENSE_AUTO_ENTRIES, EXACT_METHODS, resolve_method, route

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
    "BlockRank",
    "TARGET_FAILURE",
    "LARGE_PRIME",
    "rank_profile",
    "DENSE_AUTO_ENTRIES",
]


def matrix_rank_exact(matrix: np.ndarray, prime: int) -> int:
    """Rank of an integer matrix over F_prime (see :func:`tnrnn.exact.modular.rank_mod`)."""
    return rank_mod(matrix, check_prime(prime))


def generic_rank(spec: RACSpec, length: int, partition: Partition | str | None = None, *,
                 method: str = "auto", draws: int = 3, prime: int | None = None,
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
        Default Start-End; strings as in :func:`tnrnn.rac.partitions.parse_partition`.
    method : str
        ``auto`` (contiguous cuts: dense for tiny grids, at most
        :data:`DENSE_AUTO_ENTRIES` entries, else ``scalable``; other partitions: dense while
        the grid tensor fits), or a key of :data:`EXACT_METHODS`.
    draws : int
        Maximum number of random weight draws.
    prime : int, optional
        Modulus, a prime below 2**31. Default (``None``): the automatic choice, draws mod
        :data:`tnrnn.exact.modular.DEFAULT_PRIME` (fast, BLAS), then, for a rank that is not
        certified and whose failure bound is above :data:`TARGET_FAILURE`, up to three
        more draws mod :data:`LARGE_PRIME` where they are predicted to take at most
        :data:`ESCALATION_SECONDS`.
    seed : int, optional
        Seed of the first draw (draw i uses ``seed + i``).
    max_bytes : int, optional
        Memory guard for dense routes.

    Returns
    -------
    RankResult
        ``rank`` is the best exact rank found; ``lower``/``upper`` the proven interval;
        ``kind`` says how to read it (``certified``, ``interval`` with a failure bound, or
        ``lower bound`` where the route ranked a block that may not span).

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
    draws = positive_int(draws, "draws")
    automatic = prime is None
    prime = DEFAULT_PRIME if automatic else check_prime(prime)
    partition = parse_partition("start-end" if partition is None else partition, length)
    # the route, its memory and its time, refused over the limits before any weights are drawn
    chosen = plan(spec, length, partition, method=method, draws=draws, prime=prime, max_bytes=max_bytes).check().method
    closed = closed_forms(spec, length, partition)
    chosen_route = route(chosen)
    found: list[BlockRank] = []
    primes: list[int] = []
    slowest = 0.0

    def draw(modulus: int) -> None:
        nonlocal slowest
        began = time.perf_counter()
        index = len(found)
        weights = RACWeights.random_mod_p(spec, modulus, None if seed is None else seed + index)
        # sampling routes draw rows and columns from the seed: a fresh sample per draw (seed i)
        found.append(BlockRank.of(chosen_route(weights, partition, max_bytes=max_bytes, seed=index)))
        primes.append(modulus)
        slowest = max(slowest, time.perf_counter() - began)

    for _ in range(draws):
        draw(prime)
        if max(f.value for f in found) >= closed.upper:
            break
    result = rank_result(found, primes, closed, spec, length, chosen, time.perf_counter() - start)
    more = large_prime_draws(result, spec, length) if automatic else 0
    if more and more * slowest * LARGE_PRIME_SLOWDOWN <= ESCALATION_SECONDS:
        for _ in range(more):
            draw(LARGE_PRIME)
        result = rank_result(found, primes, closed, spec, length, chosen, time.perf_counter() - start)
    return result


def separation_rank(weights: RACWeights, length: int, partition: Partition | str | None = None, *,
                    method: str = "auto", tolerance: float | None = None,
                    max_bytes: int | None = None) -> RankResult:
    """Rank of the matricization of one RAC's grid tensor (particular weights).

    Modular weights give an exact rank (a lower bound of the generic rank, so ``lower``
    is it and ``upper`` the closed-form bound). Real weights give a float rank with its
    whole spectrum; ``certified`` is then ``False``.

    Examples
    --------
    >>> from tnrnn.rac.circuits import RACSpec
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
        found = BlockRank.of(route(chosen)(weights, partition, max_bytes=max_bytes, seed=0))
        lower = max(found.value, closed.lower)
        certified = lower == closed.upper
        return RankResult(rank=found.value, lower=lower, upper=closed.upper, certified=certified, method=chosen,
                          seconds=time.perf_counter() - start, exact=True, prime=weights.modulus,
                          draws=[found.value], bounds=closed.to_dict(), complete=found.complete or certified,
                          primes=[weights.modulus])
    if method not in ("auto", "dense", "tn"):
        raise ValueError(f"float ranks of real weights use method='dense' or 'tn', got method={method!r}")
    if method == "tn":
        from tnrnn.ranks.network import spectrum_tn

        spec_info, upper = spectrum_tn(weights, partition, tolerance=tolerance, max_bytes=max_bytes)
        return RankResult(rank=spec_info.rank, lower=0, upper=upper, certified=False, method="float-tn",
                          seconds=time.perf_counter() - start, exact=False, spectrum=spec_info,
                          bounds=closed.to_dict())
    matrix = partition.matricize(grid_tensor(weights, length, max_bytes=max_bytes))
    spec_info = spectrum(matrix, tolerance)
    return RankResult(rank=spec_info.rank, lower=0, upper=min(matrix.shape), certified=False, method="float-svd",
                      seconds=time.perf_counter() - start, exact=False, spectrum=spec_info, bounds=closed.to_dict())


def rank_profile(spec: RACSpec, length: int, **options):
    """Generic ranks at every cut k = 1..T-1 in one call: see :func:`tnrnn.ranks.cuts.rank_profile`."""
    return profile(spec, length, **options)
