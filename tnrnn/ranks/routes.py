"""The exact rank routes by name, their one signature, and how ``method="auto"`` chooses among them.

A route takes modular weights and a partition and returns the exact rank mod p of the
matricization ``[A]_{S,E}`` at those weights (an ``int``), or of a block of it (a
:class:`~tnrnn.ranks.results.BlockRank` that says whether the block spans). Every route is
called the same way, ``route(weights, partition, max_bytes=..., seed=...)``
(:class:`RankRoute`); routes that sample rows and columns draw them from ``seed``, the
others ignore it. The registry sits above the engines it
names (:mod:`tnrnn.ranks.network`, :mod:`tnrnn.ranks.scalable`, both imported on first use so that
``import tnrnn`` stays fast) and below the router (:mod:`tnrnn.ranks.router`) and the profiles
(:mod:`tnrnn.ranks.cuts`) that call it.
"""

from __future__ import annotations

import importlib
from typing import Protocol

from tnrnn.exact.modular import rank_mod
from tnrnn.rac.circuits import RACSpec, RACWeights
from tnrnn.rac.grid import check_grid_size, grid_tensor
from tnrnn.rac.partitions import Partition
from tnrnn.ranks.results import BlockRank

__all__ = ["EXACT_METHODS", "DENSE_AUTO_ENTRIES", "RankRoute", "register_route", "route", "resolve_method"]


class RankRoute(Protocol):
    """The one signature of an exact rank route.

    Parameters
    ----------
    weights : RACWeights
        Modular weights (:meth:`RACWeights.random_mod_p`).
    partition : Partition
        The matricization ``[A]_{S,E}`` to rank.
    max_bytes : int, optional
        Memory limit (default :func:`tnrnn.guards.memory_limit`); refused before any work.
    seed : int
        Seed of the rows and columns a sampling route draws (ignored by the others).

    Returns
    -------
    int or BlockRank
        The exact rank mod p of ``[A]_{S,E}``, or of a block of it (``BlockRank.complete``
        says whether the block spans).
    """

    def __call__(self, weights: RACWeights, partition: Partition, *, max_bytes: int | None = None,
                 seed: int = 0) -> int | BlockRank: ...


def _dense_exact(weights: RACWeights, partition: Partition, *, max_bytes: int | None = None, seed: int = 0) -> int:
    tensor = grid_tensor(weights, partition.length, max_bytes=max_bytes)
    return rank_mod(partition.matricize(tensor), weights.modulus)


#: Exact rank routes by name: a :class:`RankRoute`, or ``"module:function"`` imported on first use.
EXACT_METHODS: dict[str, RankRoute | str] = {
    "dense": _dense_exact,
    "tn": "tnrnn.ranks.network:exact_rank_tn",
    "scalable": "tnrnn.ranks.scalable:exact_rank_scalable",
    "lifted": "tnrnn.ranks.lifted:exact_rank_lifted",
}


def register_route(name: str, function: RankRoute | str) -> None:
    """Register an exact rank route under ``name`` (a :class:`RankRoute` or ``"module:function"``).

    Examples
    --------
    >>> from tnrnn.rac.partitions import start_end
    >>> register_route("dense-again", _dense_exact)
    >>> w = RACWeights.random_mod_p(RACSpec(2, 2, 2), prime=1_000_003, seed=0)
    >>> route("dense-again")(w, start_end(6), max_bytes=None, seed=0)
    8
    >>> del EXACT_METHODS["dense-again"]
    """
    if not isinstance(name, str) or not name or name == "auto":
        raise ValueError(f"a route name must be a non-empty string other than 'auto', got {name!r}")
    if not (callable(function) or (isinstance(function, str) and function.count(":") == 1)):
        raise ValueError(f"a route must be callable or 'module:function', got {function!r}")
    EXACT_METHODS[name] = function


def route(name: str) -> RankRoute:
    """The exact route registered as ``name`` (imported on first use).

    Raises
    ------
    KeyError
        For a name that is not registered, listing those that are.
    """
    if name not in EXACT_METHODS:
        raise KeyError(f"no rank route {name!r}; registered routes: {', '.join(sorted(EXACT_METHODS))}")
    found = EXACT_METHODS[name]
    if isinstance(found, str):
        module_name, function_name = found.split(":")
        found = getattr(importlib.import_module(module_name), function_name)
        EXACT_METHODS[name] = found
    return found


#: ``method="auto"`` ranks contiguous cuts densely only while the grid has at most this many
#: entries (M^T); beyond, the scalable method is faster and its memory is polynomial in T.
DENSE_AUTO_ENTRIES = 2**16


def resolve_method(method: str, spec: RACSpec, partition: Partition, max_bytes: int | None) -> str:
    """The route ``method`` names; for ``auto``, dense for tiny grids and other partitions, else scalable.

    Raises
    ------
    ValueError
        An unknown method, or (``auto`` on a non-contiguous partition) a grid tensor that
        would not fit in ``max_bytes``.
    """
    if method != "auto":
        if method not in EXACT_METHODS:
            raise ValueError(f"method must be 'auto' or one of {sorted(EXACT_METHODS)}, got {method!r}")
        return method
    if partition.prefix_length is not None and spec.templates**partition.length > DENSE_AUTO_ENTRIES:
        return "scalable"  # contiguous cuts: polynomial in T, far faster once the grid is not tiny
    check_grid_size(spec.templates, spec.hidden, spec.depth, partition.length, max_bytes)
    return "dense"
