"""Contraction engine: cached plans, numpy/torch backends, float64 and exact mod-p execution.

A :class:`ContractionPlan` is computed once per (architecture, length, output order,
optimizer) from the weight-independent :func:`tnrnn.tn.network.network_structure` and
reused for every weight set (``opt_einsum.contract_expression`` for floats, the same
pairwise path for exact arithmetic). The ranks computed from a contraction (the ``tn``
route) are in :mod:`tnrnn.ranks.network`.

**Exact mode.** Every pairwise contraction is a batched matrix product of int64
residues in [0, p) with the left factor split into 16-bit halves (as
:func:`tnrnn.exact.modular.matmul_mod`), each partial product reduced mod p; contracted
dimensions are processed in blocks below 2^16, so every intermediate stays below 2^63 for
every prime p < 2^31 (validated by :func:`tnrnn.exact.modular.check_prime`). Runs on numpy, or
on torch where the device supports int64 matrix products (CPU).

**Dense grid tensors.** A contraction of the duplicated network cannot know that the
copies of a sub-network are identical, so it recomputes them; for the full grid tensor
the engine instead uses the prefix-sharing evaluation of :func:`tnrnn.rac.grid.grid_tensor`
(see :func:`dense_grid`), whose cost is O(M^T L R^2) and peak memory about the output.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from tnrnn.exact.modular import check_prime, matmul_mod
from tnrnn.guards import RAISE_MEMORY, SizeLimitError, memory_limit
from tnrnn.rac.circuits import RACSpec, RACWeights
from tnrnn.rac.grid import grid_tensor
from tnrnn.rac.partitions import Partition, parse_partition
from tnrnn.tn.network import input_index, network_structure

__all__ = [
    "OPTIMIZERS",
    "ContractionPlan",
    "plan_contraction",
    "contract",
    "dense_grid",
]

#: Planner names accepted by :func:`plan_contraction`.
OPTIMIZERS = ("auto", "greedy", "auto-hq", "optimal", "cotengra", "cotengra-hyper")

_MAX_INNER = 1 << 15  # contracted-dimension block of one exact pairwise product (matmul_mod: < 2**16)


@dataclass(frozen=True)
class ContractionPlan:
    """A contraction path of one network structure, reusable across weight sets.

    Attributes
    ----------
    spec : RACSpec
    length : int
    output_inds : tuple of str
        Open indices of the result, in order.
    operand_inds : tuple of tuple of str
        Indices of every operand (the tensors of the network, in structure order).
    path : tuple of tuple of int
        opt_einsum-style pairwise path.
    flops : float
        Cost of the path (opt_einsum's count).
    largest_intermediate : int
        Entries of the largest intermediate tensor (including the output).
    optimizer : str
        The planner that produced the path.
    """

    spec: RACSpec
    length: int
    output_inds: tuple[str, ...]
    operand_inds: tuple[tuple[str, ...], ...]
    path: tuple[tuple[int, ...], ...]
    flops: float
    largest_intermediate: int
    optimizer: str
    _expressions: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def sizes(self) -> dict[str, int]:
        """Dimension of every index."""
        return network_structure(self.spec, self.length).size_dict()

    def operands(self, weights: RACWeights) -> list[np.ndarray]:
        """The weight arrays in operand order."""
        if weights.spec != self.spec:
            raise ValueError(f"weights are for {weights.spec}, the plan for {self.spec}")
        return [slot.data(weights) for slot in network_structure(self.spec, self.length).slots]

    @functools.cached_property
    def unit_free_inds(self) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
        """``(operand_inds, output_inds)`` without the indices of dimension 1.

        An index of dimension 1 (every bond at R = 1, every input at M = 1) adds nothing to a
        contraction (a sum of one term) but one axis to every intermediate that carries it:
        at R = 1 a depth-2 network of T = 12 has intermediates with more axes than the 64
        an array may have. Contracting without them gives the same numbers.
        """
        sizes = self.sizes
        operand_inds = tuple(tuple(n for n in inds if sizes[n] > 1) for inds in self.operand_inds)
        return operand_inds, tuple(n for n in self.output_inds if sizes[n] > 1)

    def unit_free_operands(self, operands: list) -> list:
        """``operands`` with their axes of dimension 1 removed (see :attr:`unit_free_inds`)."""
        sizes = self.sizes
        return [a.reshape(tuple(sizes[n] for n in inds if sizes[n] > 1))
                for a, inds in zip(operands, self.operand_inds)]

    def expression(self):
        """The cached ``opt_einsum.contract_expression`` of this plan (float execution).

        It takes the :meth:`unit_free_operands` and returns the result without its axes of
        dimension 1.
        """
        if "float" not in self._expressions:
            import opt_einsum as oe

            operand_inds, output_inds = self.unit_free_inds
            symbols, equation = _equation(operand_inds, output_inds)
            sizes = self.sizes
            shapes = [tuple(sizes[n] for n in inds) for inds in operand_inds]
            self._expressions["float"] = oe.contract_expression(equation, *shapes, optimize=list(self.path))
        return self._expressions["float"]


def _equation(operand_inds, output_inds):
    import opt_einsum as oe

    symbols: dict[str, str] = {}
    for inds in (*operand_inds, output_inds):
        for name in inds:
            if name not in symbols:
                symbols[name] = oe.get_symbol(len(symbols))
    terms = ",".join("".join(symbols[n] for n in inds) for inds in operand_inds)
    return symbols, f"{terms}->{''.join(symbols[n] for n in output_inds)}"


def _output_order(length: int, partition: Partition | str | None) -> tuple[str, ...]:
    if partition is None:
        return tuple(input_index(t) for t in range(length))
    partition = parse_partition(partition, length)
    return tuple(input_index(t) for t in partition.start + partition.end)


def plan_contraction(spec: RACSpec, length: int, partition: Partition | str | None = None, *,
                     optimizer: str = "auto", max_tensors: int | None = None) -> ContractionPlan:
    """The contraction plan of the RAC network, output ordered as the grid or as ``[A]_{S,E}``.

    Cached per (spec, length, output order, optimizer): computing it once and contracting
    many weight sets is the intended use.

    Parameters
    ----------
    spec : RACSpec
    length : int
    partition : Partition or str, optional
        If given, the output indices are ordered S then E (the matricization's rows and
        columns); otherwise ``x0 .. x{T-1}``.
    optimizer : str
        ``greedy`` (opt_einsum's greedy), ``auto-hq`` / ``optimal`` (opt_einsum),
        ``cotengra`` (cotengra's ``random-greedy-128``), ``cotengra-hyper`` (cotengra's
        ``HyperOptimizer``, slow: tens of seconds), or ``auto`` (default): opt_einsum
        ``greedy`` and cotengra ``random-greedy``, keeping the path with fewer flops
        (as counted by opt_einsum).
    max_tensors : int, optional
        Size guard of :func:`tnrnn.tn.network.network_structure`.

    Raises
    ------
    ValueError
        For an unknown optimizer, bad length or partition, or a network over the size limit.

    Examples
    --------
    >>> plan = plan_contraction(RACSpec(2, 2, 2), 4, "start-end", optimizer="greedy")
    >>> plan.output_inds, plan.largest_intermediate >= 16
    (('x0', 'x1', 'x2', 'x3'), True)
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    output = _output_order(length, partition)
    return _plan_cached(spec, int(length), output, optimizer, max_tensors)


@functools.lru_cache(maxsize=128)
def _plan_cached(spec, length, output, optimizer, max_tensors):
    import opt_einsum as oe

    structure = network_structure(spec, length, max_tensors)
    operand_inds = tuple(slot.inds for slot in structure.slots)
    sizes = structure.size_dict()
    _, equation = _equation(operand_inds, output)
    shapes = [tuple(sizes[n] for n in inds) for inds in operand_inds]
    candidates = []
    if optimizer in ("greedy", "auto-hq", "optimal", "auto"):
        strategy = "greedy" if optimizer == "auto" else optimizer
        if strategy == "optimal" and len(shapes) > 12:
            raise ValueError(f"optimizer='optimal' is exhaustive; the network has {len(shapes)} tensors "
                             f"(use it for at most 12), try 'auto-hq' or 'cotengra'")
        path, _ = oe.contract_path(equation, *shapes, shapes=True, optimize=strategy)
        candidates.append((strategy, path))
    if optimizer in ("cotengra", "cotengra-hyper", "auto"):
        strategy = {"auto": "random-greedy", "cotengra": "random-greedy-128"}.get(optimizer, "hyper")
        candidates.append((f"cotengra:{strategy}", _cotengra_path(operand_inds, output, sizes, strategy)))
    best = None
    for name, path in candidates:
        _, info = oe.contract_path(equation, *shapes, shapes=True, optimize=path)
        cost = (float(info.opt_cost), int(info.largest_intermediate))
        if best is None or cost < best[0]:
            best = (cost, name, path)
    (flops, largest), name, path = best
    return ContractionPlan(spec, length, output, operand_inds, tuple(tuple(p) for p in path),
                           flops, largest, name)


def _cotengra_path(operand_inds, output, sizes, strategy):
    import cotengra as ctg

    inputs = [list(i) for i in operand_inds]
    if strategy == "hyper":
        optimizer = ctg.HyperOptimizer(methods=["greedy"], max_repeats=16, optlib="random",
                                       parallel=False, progbar=False)
        return optimizer.search(inputs, list(output), sizes).get_path()
    return ctg.array_contract_path(inputs, list(output), sizes, optimize=strategy)


# --- execution -------------------------------------------------------------------------


def _check_memory(plan: ContractionPlan, max_bytes: int | None, itemsize: int = 8) -> None:
    limit = memory_limit(max_bytes)
    need = 3 * plan.largest_intermediate * itemsize
    if need > limit:
        from tnrnn.guards import format_gib

        raise SizeLimitError(
            f"contracting the network of {plan.spec} at T={plan.length} ({len(plan.operand_inds):,} "
            f"tensors) passes an intermediate of {plan.largest_intermediate:,} entries "
            f"(about {format_gib(need)} of working memory with its operands), over the limit of "
            f"{format_gib(limit)} ({RAISE_MEMORY}); use a shorter length or method='scalable' "
            f"(`tnrnn rank --method scalable`)"
        )


def contract(weights: RACWeights, length: int, partition: Partition | str | None = None, *,
             output: Literal["grid", "matrix"] = "grid", backend: Literal["numpy", "torch"] = "numpy",
             device: Any = None, optimizer: str = "auto", max_bytes: int | None = None):
    """Contract the RAC's tensor network into its grid tensor or a matricization.

    Parameters
    ----------
    weights : RACWeights
        Real weights (float64) or modular weights (exact, residues mod p).
    length : int
        T.
    partition : Partition or str, optional
        Needed for ``output="matrix"``; default Start-End.
    output : {"grid", "matrix"}
        The order-T grid tensor, or ``[A]_{S,E}`` (rows S, columns E).
    backend : {"numpy", "torch"}
        Array library; with torch the result is a ``torch.Tensor`` on ``device``.
    device : str or torch.device, optional
        Torch device (default CPU). Exact mode needs int64 matrix products (CPU).
    optimizer : str
        Planner, see :func:`plan_contraction`.
    max_bytes : int, optional
        Memory guard on the largest intermediate.

    Returns
    -------
    ndarray or torch.Tensor
        float64, or int64 residues in [0, p).

    Raises
    ------
    ValueError
        Bad arguments, or a contraction over the memory limit (before contracting).

    Notes
    -----
    The duplicated network has O(T^L) tensors and its contraction recomputes shared
    sub-networks: for the dense grid tensor :func:`dense_grid` is faster.

    Examples
    --------
    >>> w = RACWeights.random_mod_p(RACSpec(2, 2, 2), prime=101, seed=0)
    >>> bool((contract(w, 4) == grid_tensor(w, 4)).all())
    True
    """
    if output not in ("grid", "matrix"):
        raise ValueError(f"output must be 'grid' or 'matrix', got {output!r}")
    if backend not in ("numpy", "torch"):
        raise ValueError(f"backend must be 'numpy' or 'torch', got {backend!r}")
    if output == "matrix":
        partition = parse_partition("start-end" if partition is None else partition, length)
    plan = plan_contraction(weights.spec, length, partition if output == "matrix" else None,
                            optimizer=optimizer)
    _check_memory(plan, max_bytes)
    operands = plan.operands(weights)
    if backend == "torch":
        import torch

        dev = torch.device(device or "cpu")
        if weights.modulus is not None and dev.type != "cpu":
            raise ValueError(f"exact (modular) contraction needs int64 matrix products, which torch "
                             f"provides on the CPU only; got device={str(dev)!r}. Use device='cpu' or "
                             f"backend='numpy' (float64 contraction runs on any device)")
        dtype = torch.float64 if weights.modulus is None else torch.int64
        operands = [torch.as_tensor(np.array(a), dtype=dtype, device=dev) for a in operands]
    operands = plan.unit_free_operands(operands)
    if weights.modulus is None:
        result = plan.expression()(*operands, backend="torch" if backend == "torch" else "numpy")
    else:
        result = _contract_mod(plan, operands, weights.modulus)
    m = weights.spec.templates
    if output == "matrix":
        return result.reshape(m ** len(partition.start), m ** len(partition.end))
    return result.reshape((m,) * length)


def _contract_mod(plan: ContractionPlan, operands: list, prime: int):
    """Follow the plan's pairwise path with exact reductions mod ``prime`` (operands without unit axes)."""
    prime = check_prime(prime)
    sizes = plan.sizes
    operand_inds, output_inds = plan.unit_free_inds
    arrays = list(operands)
    inds = [list(i) for i in operand_inds]
    for step in plan.path:
        taken = [(arrays.pop(i), inds.pop(i)) for i in sorted(step, reverse=True)]
        outside = set(output_inds).union(*map(set, inds))
        a, ia = taken[0]
        if len(taken) == 1:
            a, ia = _sum_private(a, ia, outside, prime)
        for j in range(1, len(taken)):
            b, ib = taken[j]
            keep = outside.union(*(set(i) for _, i in taken[j + 1:]))
            a, ia = _pair_mod(a, ia, b, ib, keep, sizes, prime)
        arrays.append(a)
        inds.append(ia)
    (result,), (final,) = arrays, inds
    order = [final.index(n) for n in output_inds]
    return result.permute(order) if hasattr(result, "permute") else np.transpose(result, order)


def _pair_mod(a, ia, b, ib, keep, sizes, prime):
    """Exact pairwise contraction of int64 residues: a batched matmul with 16-bit splits."""
    a, ia = _sum_private(a, ia, set(ib) | keep, prime)
    b, ib = _sum_private(b, ib, set(ia) | keep, prime)
    batch = [n for n in ia if n in ib and n in keep]
    inner = [n for n in ia if n in ib and n not in keep]
    free_a = [n for n in ia if n not in ib]
    free_b = [n for n in ib if n not in ia]
    nb = math.prod(sizes[n] for n in batch)
    na, nk, nbb = (math.prod(sizes[n] for n in group) for group in (free_a, inner, free_b))
    left = _permute(a, [ia.index(n) for n in batch + free_a + inner]).reshape(nb, na, nk)
    right = _permute(b, [ib.index(n) for n in batch + inner + free_b]).reshape(nb, nk, nbb)
    out = None
    for start in range(0, max(nk, 1), _MAX_INNER):
        part = matmul_mod(left[:, :, start:start + _MAX_INNER], right[:, start:start + _MAX_INNER], prime)
        out = part if out is None else (out + part) % prime
    result_inds = batch + free_a + free_b
    return out.reshape(tuple(sizes[n] for n in result_inds)), result_inds


def _sum_private(a, ia, others, prime):
    private = [k for k, n in enumerate(ia) if n not in others]
    if not private:
        return a, ia
    for axis in sorted(private, reverse=True):  # sums of < 2^16 residues each fit in int64
        a = a.sum(axis) % prime
    return a, [n for k, n in enumerate(ia) if k not in private]


def _permute(a, order):
    return a.permute(order) if hasattr(a, "permute") else np.transpose(a, order)


def dense_grid(weights: RACWeights, length: int, *, backend: Literal["numpy", "torch"] = "numpy",
               device: Any = None, max_bytes: int | None = None):
    """The dense grid tensor by the engine's dense route: the prefix-sharing evaluation.

    This is :func:`tnrnn.rac.grid.grid_tensor` (states of all prefixes grown level by level,
    the last levels in chunks written straight into the output). It is the fastest route
    to the full grid: a contraction of the duplicated network recomputes the identical
    copies, and its intermediates at the middle cut have ``R^{T/2+1}`` entries.

    Examples
    --------
    >>> w = RACWeights.gaussian(RACSpec(2, 2, 2), seed=0)
    >>> bool(np.allclose(dense_grid(w, 5), contract(w, 5)))
    True
    """
    return grid_tensor(weights, length, max_bytes=max_bytes, backend=backend, device=device)
