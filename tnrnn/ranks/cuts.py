"""Generic separation ranks at every contiguous cut of one length, in one call.

:func:`rank_profile` (and :func:`iter_rank_profile`, which yields each cut as it becomes
final) shares the random weights across cuts, and the work that does not depend on the
cut: the scalable engine's monomial tables, or one grid tensor for the dense route.
:func:`plot_rank_profile` draws the result. This module sits above the engines
(:mod:`tnrnn.ranks.scalable`, :mod:`tnrnn.ranks.routes`) and beside the router :mod:`tnrnn.ranks.router`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tnrnn._validation import positive_int
from tnrnn.exact.modular import DEFAULT_PRIME, check_prime, rank_mod
from tnrnn.rac.bounds import bounds as closed_forms
from tnrnn.rac.circuits import RACSpec, RACWeights
from tnrnn.rac.grid import grid_tensor
from tnrnn.ranks.results import (
    ESCALATION_SECONDS,
    LARGE_PRIME,
    LARGE_PRIME_SLOWDOWN,
    BlockRank,
    RankResult,
    large_prime_draws,
    rank_result,
)
from tnrnn.ranks.routes import DENSE_AUTO_ENTRIES, EXACT_METHODS, route
from tnrnn.ranks.scalable import _CutRanker, _partition_at, scalable_plan

__all__ = ["RankProfile", "rank_profile", "iter_rank_profile", "plot_rank_profile"]


@dataclass
class RankProfile:
    """Generic ranks at every contiguous cut k of a length-T sequence.

    Attributes
    ----------
    spec : RACSpec
    length : int
    results : list of RankResult
        One per cut, in the order of ``cuts``; each with its own interval and certificate.
    cuts : list of int
        Cut positions k (prefix lengths).
    method : str
    seconds : float
        Total wall-clock time.
    complete : bool
        ``False`` for a partial profile (built from :func:`iter_rank_profile` when interrupted).
    """

    spec: RACSpec
    length: int
    cuts: list[int] = field(default_factory=list)
    results: list = field(default_factory=list)
    method: str = "scalable"
    seconds: float = 0.0
    complete: bool = True

    @property
    def ranks(self) -> list[int]:
        """The exact rank found at each cut (lower bounds of the generic ranks)."""
        return [r.rank for r in self.results]

    @property
    def argmax(self) -> int:
        """The cut with the largest rank (the first one on ties)."""
        return self.cuts[int(np.argmax(self.ranks))]

    def to_dict(self) -> dict:
        """JSON-ready: parallel lists ``cuts``, ``ranks``, ``lower``, ``upper``, ``certified`` ..."""
        return {
            "templates": self.spec.templates, "hidden": self.spec.hidden, "depth": self.spec.depth,
            "length": self.length, "method": self.method,
            "prime": self.results[0].prime if self.results else None,
            "cuts": list(self.cuts), "ranks": self.ranks,
            "lower": [r.lower for r in self.results], "upper": [r.upper for r in self.results],
            "certified": [r.certified for r in self.results],
            "kind": [r.kind for r in self.results],
            "failure_bound": [r.failure_bound for r in self.results],
            "primes": [r.primes for r in self.results],
            "draws": [r.draws for r in self.results],
            "cut_seconds": [r.seconds for r in self.results],
            "argmax": self.argmax if self.results else None,
            "all_certified": all(r.certified for r in self.results),
            "seconds": self.seconds, "complete": self.complete,
        }


def _check_cuts(cuts, length: int) -> list[int]:
    if length < 2:
        raise ValueError(f"a profile needs length >= 2, got length={length}")
    if cuts is None:
        return list(range(1, length))
    cuts = [int(k) for k in cuts]
    bad = [k for k in cuts if not 1 <= k <= length - 1]
    if bad or not cuts:
        raise ValueError(f"cuts must be a non-empty list of integers in [1, {length - 1}] for "
                         f"length={length}, got {bad or cuts}")
    return sorted(set(cuts))


def _cut_rankers(spec: RACSpec, length: int, method: str, max_bytes: int | None,
                 progress: bool) -> tuple[str, Callable[[RACWeights, int], Callable[[int], int]]]:
    """Resolve ``method`` and return a factory: (weights, draw index) -> (k -> exact rank at cut k)."""
    if method == "auto":
        method = "dense" if spec.templates**length <= DENSE_AUTO_ENTRIES else "scalable"
    if method not in EXACT_METHODS:
        raise ValueError(f"method must be 'auto' or one of {sorted(EXACT_METHODS)}, got {method!r}")
    if method == "scalable":
        def factory(weights, draw):
            ranker = _CutRanker(weights, seed=draw, max_bytes=max_bytes, progress=progress)
            return lambda k: ranker.rank(length, k)
    elif method == "dense":
        def factory(weights, draw):
            tensor = grid_tensor(weights, length, max_bytes=max_bytes)
            return lambda k: rank_mod(_partition_at(length, k).matricize(tensor), weights.modulus)
    else:
        def factory(weights, draw):
            chosen = route(method)
            return lambda k: chosen(weights, _partition_at(length, k), max_bytes=max_bytes, seed=draw)
    return method, factory


def iter_rank_profile(spec: RACSpec, length: int, *, cuts=None, method: str = "auto", draws: int = 3,
                      prime: int | None = None, seed: int | None = 0, max_bytes: int | None = None,
                      progress: bool = True) -> Iterator[tuple[int, object]]:
    """Yield ``(k, RankResult)`` per cut as each becomes final (see :func:`rank_profile`).

    Draw i (weights seeded ``seed + i``) ranks every cut not yet certified; a cut is final
    once certified or after ``draws`` draws (and, with the automatic prime, the draws mod
    :data:`tnrnn.ranks.results.LARGE_PRIME` its failure bound asks for). Interrupting keeps every
    yielded result.
    """
    from tqdm.auto import tqdm

    draws = positive_int(draws, "draws")
    automatic = prime is None
    prime = DEFAULT_PRIME if automatic else check_prime(prime)
    cuts = _check_cuts(cuts, length)
    closed = {k: closed_forms(spec, length, _partition_at(length, k)) for k in cuts}
    chosen, factory = _cut_rankers(spec, length, method, max_bytes, progress)
    if chosen == "scalable":
        for k in cuts:  # every memory check before any work
            scalable_plan(spec, length, k, max_bytes, prime=prime)
    found: dict[int, list[BlockRank]] = {k: [] for k in cuts}
    primes: dict[int, list[int]] = {k: [] for k in cuts}
    spent: dict[int, float] = {k: 0.0 for k in cuts}

    def rank_all(pending: list[int], modulus: int, i: int, label: str) -> None:
        weights = RACWeights.random_mod_p(spec, modulus, None if seed is None else seed + i)
        rank_at = factory(weights, i)
        for k in tqdm(pending, desc=f"cuts ({label})", disable=not progress, leave=False):
            start = time.perf_counter()
            found[k].append(BlockRank.of(rank_at(k)))
            primes[k].append(modulus)
            spent[k] += time.perf_counter() - start

    def result(k: int) -> RankResult:
        return rank_result(found[k], primes[k], closed[k], spec, length, chosen, spent[k])

    pending = list(cuts)
    for i in range(draws):
        rank_all(pending, prime, i, f"draw {i + 1}")
        still = []
        for k in pending:
            done = result(k)
            if done.certified or i == draws - 1:
                more = large_prime_draws(done, spec, length) if automatic else 0
                if more and more * spent[k] / len(found[k]) * LARGE_PRIME_SLOWDOWN <= ESCALATION_SECONDS:
                    still.append(k)  # redrawn below, mod the large prime
                else:
                    yield k, done
            else:
                still.append(k)
        pending = still
        if not pending:
            return
    # cuts whose failure bound asks for draws mod the large prime (one weight draw shared by all)
    for extra in range(3):
        if not pending:
            break
        rank_all(pending, LARGE_PRIME, draws + extra, f"draw mod {LARGE_PRIME}")
        still = []
        for k in pending:
            done = result(k)
            if extra < 2 and large_prime_draws(done, spec, length):
                still.append(k)
            else:
                yield k, done
        pending = still


def rank_profile(spec: RACSpec, length: int, *, cuts=None, method: str = "auto", draws: int = 3,
                 prime: int | None = None, seed: int | None = 0, max_bytes: int | None = None,
                 progress: bool = True) -> RankProfile:
    """Generic separation ranks at every cut k = 1..T-1 (or ``cuts``) in one call.

    Each cut gets a :class:`~tnrnn.ranks.router.RankResult` with the same semantics as
    :func:`tnrnn.ranks.router.generic_rank`: ``rank`` the best exact rank at the random weights
    drawn, ``lower``/``upper`` combined with every closed form at that cut (at k = T/2
    those of the Start-End partition), ``certified`` when they meet, and the
    Schwartz-Zippel failure bound otherwise. Weights are shared across cuts, and so is
    the work that does not depend on the cut.

    Parameters
    ----------
    spec : RACSpec
    length : int
        T (>= 2; any parity).
    cuts : iterable of int, optional
        Cut positions in 1..T-1; default all.
    method : str
        ``auto`` (dense with one shared grid tensor for tiny grids, else ``scalable``) or
        a key of :data:`tnrnn.ranks.router.EXACT_METHODS`.
    draws, prime, seed, max_bytes
        As in :func:`tnrnn.ranks.router.generic_rank`.
    progress : bool
        Show a tqdm bar.

    Returns
    -------
    RankProfile
        A ``KeyboardInterrupt`` propagates; use :func:`iter_rank_profile` to keep the cuts
        finished before it (the CLI does).

    Raises
    ------
    ValueError
        Bad cuts, draws, prime or method, or a cut whose basis would not fit in memory
        (checked for every cut before any work).

    Examples
    --------
    >>> prof = rank_profile(RACSpec(2, 2, 2), 6, progress=False)
    >>> prof.cuts, prof.ranks, prof.to_dict()["certified"]
    ([1, 2, 3, 4, 5], [2, 4, 8, 4, 2], [True, True, True, True, True])
    """
    start = time.perf_counter()
    profile = RankProfile(spec, length)
    chosen, _ = _cut_rankers(spec, length, method, max_bytes, False)
    profile.method = chosen
    results = dict(iter_rank_profile(spec, length, cuts=cuts, method=method, draws=draws, prime=prime,
                                     seed=seed, max_bytes=max_bytes, progress=progress))
    profile.cuts = sorted(results)
    profile.results = [results[k] for k in profile.cuts]
    profile.seconds = time.perf_counter() - start
    return profile


def plot_rank_profile(profile: RankProfile, path: str | Path | None = None, *, ax=None):
    """Rank against cut position, log scale, with the closed-form upper bound as a line.

    Filled markers: certified ranks; a generic rank only known to lie in ``[lower, upper]``
    is a bar between those ends, with an open marker at the exact rank at the random
    weights drawn. Returns the ``Figure`` (made without pyplot, saved through
    :func:`tnrnn.style.save`).
    """
    from tnrnn import style

    with style.context():
        fig, ax = (ax.figure, ax) if ax is not None else style.figure()
        cuts = profile.cuts
        res = profile.results
        colour = style.depth_color(profile.spec.depth)
        ax.plot(cuts, [float(r.upper) for r in res], "-", color="0.5", lw=1.2, label="closed-form upper bound")
        cert = [(k, r.rank) for k, r in zip(cuts, res) if r.lower == r.upper]
        unc = [(k, r) for k, r in zip(cuts, res) if r.lower != r.upper]
        if cert:
            ax.plot(*zip(*cert), "o", color=colour, ms=5, label="rank (certified)")
        if unc:
            style.interval(ax, [k for k, _ in unc], [r.lower for _, r in unc], [r.upper for _, r in unc],
                           color=colour, label="proven interval")
            ax.plot([k for k, _ in unc], [r.rank for _, r in unc], "o", color=colour, mfc="white", ms=5,
                    label="rank at the random weights drawn")
        best = profile.argmax
        ax.axvline(best, color=style.color(5), ls=":", lw=1, label=f"largest rank {max(profile.ranks)}: cut k={best}")
        ax.axvline(profile.length / 2, color="0.3", ls="--", lw=0.8, label="Start-End cut T/2")
        spec = profile.spec
        ax.set_yscale("log")
        ax.set_xlabel("cut position k (prefix length)")
        ax.set_ylabel("separation rank at the cut")
        ax.set_title(f"Rank profile over cuts: M={spec.templates}, R={spec.hidden}, L={spec.depth}, "
                     f"T={profile.length}")
        style.legend_outside(ax)
        if path is not None:
            style.save(fig, path)
    return fig
