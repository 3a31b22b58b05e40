"""The exact rank routes by name, and how ``method="auto"`` chooses among them.

A route takes modular weights and a partition and returns the exact rank mod p of the
matricization ``[A]_{S,E}`` at those weights. The registry sits above the engines it
names (:mod:`tnrnn.ranks.network`, :mod:`tnrnn.ranks.scalable`, both imported on first use so that
``import tnrnn`` stays fast) and below the router (:mod:`tnrnn.ranks.router`) and the profiles
(:mod:`tnrnn.ranks.cuts`) that call it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from tnrnn.exact.modular import rank_mod
from tnrnn.rac.circuits import RACSpec, RACWeights
from tnrnn.rac.grid import check_grid_size, grid_tensor
from tnrnn.rac.partitions import Partition

__all__ = ["EXACT_METHODS", "DENSE_AUTO_ENTRIES", "route", "resolve_method"]


def _dense_exact(weights: RACWeights, partition: Partition, *, max_bytes: int | None = None) -> int:
    tensor = grid_tensor(weights, partition.length, max_bytes=max_bytes)
    return rank_mod(partition.matricize(tensor), weights.modulus)


#: Exact rank routes by name: a function, or ``"module:function"`` imported on first use.
#: Each is called as ``route(weights, partition, max_bytes=...)`` with modular weights and
#: returns the exact rank mod p of the matricization ``[A]_{S,E}`` at those weights.
EXACT_METHODS: dict[str, Callable[..., int] | str] = {
    "dense": _dense_exact,
    "tn": "tnrnn.ranks.network:exact_rank_tn",
    "scalable": "tnrnn.ranks.scalable:exact_rank_scalable",
    "lifted": "tnrnn.ranks.lifted:exact_rank_lifted",
}


def route(name: str) -> Callable[..., int]:
    """The exact route registered as ``name`` (imported on first use)."""
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
