"""Contraction engine: cached plans, numpy/torch backends, float64 and exact mod-p execution.

A :class:`ContractionPlan` is computed once per (architecture, length, output order,
optimizer) from the weight-independent :func:`tnrnn.tensornet.network_structure` and
reused for every weight set (``opt_einsum.contract_expression`` for floats, the same
pairwise path for exact arithmetic).

Routes to a rank (``method="tn"`` of :func:`tnrnn.rank.separation_rank`):

* **depth 1, contiguous cut**: the MPS environments. Exactly mod p, bases of the
  reachable left states and right functionals (span growth, at most R vectors each) and
  the rank of their R x R pairing: O(T M R^3), T = 1000 in milliseconds. Gram matrices
  are not used mod p, because over F_p a non-zero vector can be orthogonal to itself.
  In float64 the singular values of ``G_L^{1/2} G_R^{1/2}`` with the environment Gram
  matrices, which are the non-zero singular values of ``[A]_{S,E}``.
* **otherwise**: contract the duplicated network straight into the matricization
  ``[A]_{S,E}`` (output indices ordered S then E) and rank it.

**Exact mode.** Every pairwise contraction is a batched matrix product of int64
residues in [0, p) with the left factor split into 16-bit halves (as
:func:`tnrnn.modular.matmul_mod`), each partial product reduced mod p; contracted
dimensions are processed in blocks below 2^16, so every intermediate stays below 2^63 for
every prime p < 2^31 (validated by :func:`tnrnn.modular.check_prime`). Runs on numpy, or
on torch where the device supports int64 matrix products (CPU).

**Dense grid tensors.** A contraction of the duplicated network cannot know that the
copies of a sub-network are identical, so it recomputes them; for the full grid tensor
the engine instead uses the prefix-sharing evaluation of :func:`tnrnn.grid.grid_tensor`
(see :func:`dense_grid`), whose cost is O(M^T L R^2) and peak memory about the output.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from tnrnn.circuits import RACSpec, RACWeights
from tnrnn.grid import DEFAULT_MAX_BYTES, grid_tensor
from tnrnn.modular import check_prime, matmul_mod, rank_mod, to_nmod_mat
from tnrnn.partitions import Partition, parse_partition
from tnrnn.tensornet import NetworkTooLargeError, input_index, network_structure

__all__ = [
    "OPTIMIZERS",
    "ContractionPlan",
    "plan_contraction",
    "contract",
    "dense_grid",
    "exact_rank_tn",
    "spectrum_tn",
    "shallow_rank_exact",
    "shallow_singular_values",
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

    def expression(self):
        """The cached ``opt_einsum.contract_expression`` of this plan (float execution)."""
        if "float" not in self._expressions:
            import opt_einsum as oe

            symbols, equation = _equation(self.operand_inds, self.output_inds)
            sizes = self.sizes
            shapes = [tuple(sizes[n] for n in inds) for inds in self.operand_inds]
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
        Size guard of :func:`tnrnn.tensornet.network_structure`.

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
    limit = DEFAULT_MAX_BYTES if max_bytes is None else max_bytes
    need = 3 * plan.largest_intermediate * itemsize
    if need > limit:
        from tnrnn._guards import format_gib

        raise NetworkTooLargeError(
            f"contracting the network of {plan.spec} at T={plan.length} ({len(plan.operand_inds):,} "
            f"tensors) passes an intermediate of {plan.largest_intermediate:,} entries "
            f"(about {format_gib(need)} of working memory with its operands), over the limit of "
            f"{format_gib(limit)} (max_bytes / TNRNN_MAX_BYTES). Use a shorter length or "
            f"method='scalable'."
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
    if weights.modulus is None:
        result = plan.expression()(*operands, backend="torch" if backend == "torch" else "numpy")
    else:
        result = _contract_mod(plan, operands, weights.modulus)
    m = weights.spec.templates
    if output == "matrix":
        return result.reshape(m ** len(partition.start), m ** len(partition.end))
    return result.reshape((m,) * length)


def _contract_mod(plan: ContractionPlan, operands: list, prime: int):
    """Follow the plan's pairwise path with exact reductions mod ``prime``."""
    prime = check_prime(prime)
    sizes = plan.sizes
    arrays = list(operands)
    inds = [list(i) for i in plan.operand_inds]
    for step in plan.path:
        taken = [(arrays.pop(i), inds.pop(i)) for i in sorted(step, reverse=True)]
        outside = set(plan.output_inds).union(*map(set, inds))
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
    order = [final.index(n) for n in plan.output_inds]
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

    This is :func:`tnrnn.grid.grid_tensor` (states of all prefixes grown level by level,
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


# --- ranks -----------------------------------------------------------------------------


def _row_basis_mod(rows: np.ndarray, prime: int) -> np.ndarray:
    """A basis (reduced echelon rows) of the row space of an int64 matrix mod ``prime``."""
    reduced, rank = to_nmod_mat(rows, prime).rref()
    cols = rows.shape[1]
    entries = np.array([int(v) for v in reduced.entries()], dtype=np.int64).reshape(-1, cols)
    return entries[:rank]


def shallow_rank_exact(weights: RACWeights, prefix_length: int, suffix_length: int) -> int:
    """Exact rank mod p of ``[A]`` at the cut after ``prefix_length`` steps of a depth-1 RAC.

    Grows a basis of the span of the states ``h_k`` of all prefixes (the left environment)
    and of the output functionals ``phi_s`` of all suffixes (the right environment), each
    at most R vectors, and ranks their pairing: entries of ``[A]`` are ``h_p . phi_s``, so
    ``rank [A] = rank(V U^T)`` for bases V, U of the two spans.

    Parameters
    ----------
    weights : RACWeights
        Modular weights of a depth-1 RAC.
    prefix_length, suffix_length : int
        k >= 1 and T - k >= 1.

    Raises
    ------
    ValueError
        For real weights, depth > 1 or lengths below 1.

    Notes
    -----
    O(T M R^3) word operations (one reduced echelon form of at most M R x R per step).

    Examples
    --------
    >>> w = RACWeights.random_mod_p(RACSpec(3, 3, 1), prime=101, seed=1)
    >>> shallow_rank_exact(w, 2, 2) == rank_mod(grid_tensor(w, 4).reshape(9, 9), 101)
    True
    """
    if weights.modulus is None or weights.spec.depth != 1:
        raise ValueError("shallow_rank_exact needs modular weights of a depth-1 RAC")
    for name, value in (("prefix_length", prefix_length), ("suffix_length", suffix_length)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    left, right = _shallow_bases(weights, int(prefix_length), int(suffix_length))
    if len(left) == 0 or len(right) == 0:
        return 0
    return rank_mod(matmul_mod(left, np.ascontiguousarray(right.T), weights.modulus), weights.modulus)


def _shallow_bases(weights: RACWeights, prefix_length: int, suffix_length: int):
    p = weights.modulus
    w_in, w_hid = weights.input[0], weights.hidden[0]
    columns = np.ascontiguousarray(w_in.T)  # (M, R): W^I e_d
    r = weights.spec.hidden
    left = _row_basis_mod(columns, p)
    for _ in range(prefix_length - 1):
        if len(left) == 0:
            break
        carried = matmul_mod(left, np.ascontiguousarray(w_hid.T), p)  # rows W^H v
        left = _row_basis_mod(((carried[:, None, :] * columns[None]) % p).reshape(-1, r), p)
    right = _row_basis_mod(weights.output[None, :], p)
    for _ in range(suffix_length):
        if len(right) == 0:
            break
        scaled = ((right[:, None, :] * columns[None]) % p).reshape(-1, r)  # phi * w_d
        right = _row_basis_mod(matmul_mod(scaled, w_hid, p), p)  # rows W^H^T (phi * w_d)
    return left, right


def shallow_singular_values(weights: RACWeights, prefix_length: int, suffix_length: int) -> np.ndarray:
    """Non-zero singular values of ``[A]`` at a contiguous cut of a depth-1 RAC, float64.

    ``G_L = sum_p h_p h_p^T`` over prefixes and ``G_R = sum_s phi_s phi_s^T`` over suffixes
    obey ``G_L <- (W^H G_L W^H^T) o K`` and ``G_R <- W^H^T (G_R o K) W^H`` with
    ``K = W^I W^I^T`` (``o``: element-wise product); ``[A] = P Phi^T`` with ``P^T P = G_L``
    and ``Phi^T Phi = G_R``, so its singular values are those of ``G_L^{1/2} G_R^{1/2}``.

    Returns
    -------
    ndarray, shape (R,)
        Descending; the rest of the spectrum of ``[A]`` is zero. Each Gram matrix is
        renormalised at every step and the scale restored at the end (values overflow to
        ``inf`` only if the true singular values exceed the float64 range).

    Notes
    -----
    O(T R^3).

    Examples
    --------
    >>> w = RACWeights.gaussian(RACSpec(2, 3, 1), seed=0)
    >>> a = grid_tensor(w, 6).reshape(8, 8)
    >>> bool(np.allclose(shallow_singular_values(w, 3, 3), np.linalg.svd(a, compute_uv=False)[:3]))
    True
    """
    if weights.modulus is not None or weights.spec.depth != 1:
        raise ValueError("shallow_singular_values needs real weights of a depth-1 RAC")
    w_in, w_hid, w_out = weights.input[0], weights.hidden[0], weights.output
    kernel = w_in @ w_in.T
    gram_left, log_left = kernel.copy(), 0.0
    for _ in range(prefix_length - 1):
        gram_left = (w_hid @ gram_left @ w_hid.T) * kernel
        gram_left, log_left = _renormalise(gram_left, log_left)
    gram_right, log_right = np.outer(w_out, w_out), 0.0
    for _ in range(suffix_length):
        gram_right = w_hid.T @ (gram_right * kernel) @ w_hid
        gram_right, log_right = _renormalise(gram_right, log_right)
    core = _psd_sqrt(gram_left) @ _psd_sqrt(gram_right)
    values = np.linalg.svd(core, compute_uv=False)
    with np.errstate(over="ignore"):
        return values * math.exp(0.5 * (log_left + log_right)) if values.size else values


def _renormalise(gram, log_scale):
    norm = float(np.abs(gram).max())
    if norm == 0.0 or not math.isfinite(norm):
        return gram, log_scale
    return gram / norm, log_scale + math.log(norm)


def _psd_sqrt(gram):
    values, vectors = np.linalg.eigh((gram + gram.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def exact_rank_tn(weights: RACWeights, partition: Partition, max_bytes: int | None = None) -> int:
    """Exact rank mod p of ``[A]_{S,E}`` by the tensor-network route.

    Depth 1 at a contiguous cut: environment bases (:func:`shallow_rank_exact`), any T.
    Otherwise: exact contraction of the duplicated network into the matricization, ranked
    by :func:`tnrnn.modular.rank_mod`. Registered as ``EXACT_METHODS["tn"]`` in
    :mod:`tnrnn.routes`.

    Raises
    ------
    ValueError
        For real weights, or (before contracting) a contraction over the memory limit.

    Examples
    --------
    >>> from tnrnn.partitions import start_end
    >>> w = RACWeights.random_mod_p(RACSpec(2, 2, 2), prime=1_000_003, seed=0)
    >>> exact_rank_tn(w, start_end(6))
    8
    """
    if weights.modulus is None:
        raise ValueError("exact_rank_tn needs modular weights (RACWeights.random_mod_p); "
                         "for real weights use spectrum_tn or separation_rank(..., method='tn')")
    k = partition.prefix_length
    if weights.spec.depth == 1 and k is not None:
        prefix = k  # the cut is after k steps whichever side holds the prefix
        return shallow_rank_exact(weights, prefix, partition.length - prefix)
    _check_matrix_size(weights.spec, partition, max_bytes)
    matrix = contract(weights, partition.length, partition, output="matrix", max_bytes=max_bytes)
    return rank_mod(matrix, weights.modulus)


def _check_matrix_size(spec, partition, max_bytes):
    limit = DEFAULT_MAX_BYTES if max_bytes is None else max_bytes
    entries = spec.templates ** partition.length
    if 8 * entries > limit:
        from tnrnn._guards import format_gib, format_size

        raise NetworkTooLargeError(
            f"the matricization for {spec} at T={partition.length} has M^T = {format_size(entries)} entries "
            f"(about {format_gib(8 * entries)}), over the limit of {format_gib(limit)}; "
            f"use method='scalable' or a shorter length"
        )


def spectrum_tn(weights: RACWeights, partition: Partition, *, tolerance: float | None = None,
                max_bytes: int | None = None):
    """Float spectrum of ``[A]_{S,E}`` of real weights by the tensor-network route.

    Returns
    -------
    (Spectrum, int)
        The :class:`tnrnn.rank.Spectrum` and the matricization's smaller dimension (an
        upper bound on its rank). Depth 1 at a contiguous cut uses the environment Gram
        matrices (:func:`shallow_singular_values`, any T); the default tolerance is then
        numpy's ``sigma_max * max(m, n) * eps`` of the full matrix while that dimension is
        at most 2^20, and ``sigma_max * R * eps`` beyond. Otherwise the network is
        contracted into the matricization and passed to :func:`tnrnn.rank.spectrum`.

    Examples
    --------
    >>> from tnrnn.partitions import start_end
    >>> s, upper = spectrum_tn(RACWeights.gaussian(RACSpec(2, 2, 1), seed=0), start_end(4))
    >>> s.rank, upper
    (2, 4)
    """
    from tnrnn.results import spectrum

    if weights.modulus is not None:
        raise ValueError("spectrum_tn needs real weights; for modular weights use exact_rank_tn")
    m = weights.spec.templates
    k = partition.prefix_length
    if weights.spec.depth == 1 and k is not None:
        prefix = k  # the cut is after k steps whichever side holds the prefix
        suffix = partition.length - prefix
        values = shallow_singular_values(weights, prefix, suffix)
        big = max(m**prefix, m**suffix)
        small = min(m**prefix, m**suffix)
        values = values[: min(len(values), small)]
        if tolerance is None and values.size:
            factor = big if big <= 2**20 else weights.spec.hidden
            tolerance = float(values[0]) * factor * np.finfo(np.float64).eps
        return spectrum(np.diag(values), tolerance), small
    _check_matrix_size(weights.spec, partition, max_bytes)
    matrix = contract(weights, partition.length, partition, output="matrix", max_bytes=max_bytes)
    return spectrum(matrix, tolerance), min(matrix.shape)
