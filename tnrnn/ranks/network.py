"""The tensor-network rank route (``method="tn"`` of :func:`tnrnn.ranks.router.separation_rank`).

* **depth 1, contiguous cut**: the MPS environments. Exactly mod p, bases of the
  reachable left states and right functionals (span growth, at most R vectors each) and
  the rank of their R x R pairing: O(T M R^3), T = 1000 in milliseconds. Gram matrices
  are not used mod p, because over F_p a non-zero vector can be orthogonal to itself.
  In float64 the singular values of ``G_L^{1/2} G_R^{1/2}`` with the environment Gram
  matrices, which are the non-zero singular values of ``[A]_{S,E}``.
* **otherwise**: contract the duplicated network (:mod:`tnrnn.tn.contract`) straight into
  the matricization ``[A]_{S,E}`` (output indices ordered S then E) and rank it.
"""

from __future__ import annotations

import math

import numpy as np

from tnrnn._validation import positive_int
from tnrnn.exact.modular import matmul_mod, rank_mod, to_nmod_mat
from tnrnn.guards import RAISE_MEMORY, SizeLimitError, format_gib, format_size, memory_limit
from tnrnn.rac.circuits import RACSpec, RACWeights
from tnrnn.rac.partitions import Partition
from tnrnn.ranks.results import spectrum
from tnrnn.tn.contract import contract

__all__ = ["exact_rank_tn", "spectrum_tn", "shallow_rank_exact", "shallow_singular_values", "check_matrix_size"]


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
    >>> from tnrnn.rac.circuits import RACSpec, RACWeights
    >>> from tnrnn.rac.grid import grid_tensor
    >>> w = RACWeights.random_mod_p(RACSpec(3, 3, 1), prime=101, seed=1)
    >>> shallow_rank_exact(w, 2, 2) == rank_mod(grid_tensor(w, 4).reshape(9, 9), 101)
    True
    """
    if weights.modulus is None or weights.spec.depth != 1:
        raise ValueError("shallow_rank_exact needs modular weights of a depth-1 RAC")
    for name, value in (("prefix_length", prefix_length), ("suffix_length", suffix_length)):
        positive_int(value, name)
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
    >>> from tnrnn.rac.circuits import RACSpec, RACWeights
    >>> from tnrnn.rac.grid import grid_tensor
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


def exact_rank_tn(weights: RACWeights, partition: Partition, max_bytes: int | None = None, *,
                  seed: int = 0) -> int:
    """Exact rank mod p of ``[A]_{S,E}`` by the tensor-network route (``seed``: unused, nothing is sampled).

    Depth 1 at a contiguous cut: environment bases (:func:`shallow_rank_exact`), any T.
    Otherwise: exact contraction of the duplicated network into the matricization, ranked
    by :func:`tnrnn.exact.modular.rank_mod`. Registered as ``EXACT_METHODS["tn"]`` in
    :mod:`tnrnn.ranks.routes`.

    Raises
    ------
    ValueError
        For real weights, or (before contracting) a contraction over the memory limit.

    Examples
    --------
    >>> from tnrnn.rac.circuits import RACSpec, RACWeights
    >>> from tnrnn.rac.grid import grid_tensor
    >>> from tnrnn.rac.partitions import start_end
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
    check_matrix_size(weights.spec, partition, max_bytes)
    matrix = contract(weights, partition.length, partition, output="matrix", max_bytes=max_bytes)
    return rank_mod(matrix, weights.modulus)


def check_matrix_size(spec: RACSpec, partition: Partition, max_bytes: int | None = None) -> None:
    """Refuse a matricization ``[A]_{S,E}`` of ``M^T`` float64 entries over the memory limit."""
    limit = memory_limit(max_bytes)
    entries = spec.templates ** partition.length
    if 8 * entries > limit:
        raise SizeLimitError(
            f"the matricization for {spec} at T={partition.length} has M^T = {format_size(entries)} entries "
            f"(about {format_gib(8 * entries)}), over the limit of {format_gib(limit)} ({RAISE_MEMORY}); "
            f"use method='scalable' (`tnrnn rank --method scalable`) or a shorter length"
        )


def spectrum_tn(weights: RACWeights, partition: Partition, *, tolerance: float | None = None,
                max_bytes: int | None = None):
    """Float spectrum of ``[A]_{S,E}`` of real weights by the tensor-network route.

    Returns
    -------
    (Spectrum, int)
        The :class:`tnrnn.ranks.router.Spectrum` and the matricization's smaller dimension (an
        upper bound on its rank). Depth 1 at a contiguous cut uses the environment Gram
        matrices (:func:`shallow_singular_values`, any T); the default tolerance is then
        numpy's ``sigma_max * max(m, n) * eps`` of the full matrix while that dimension is
        at most 2^20, and ``sigma_max * R * eps`` beyond. Otherwise the network is
        contracted into the matricization and passed to :func:`tnrnn.ranks.router.spectrum`.

    Examples
    --------
    >>> from tnrnn.rac.circuits import RACSpec, RACWeights
    >>> from tnrnn.rac.grid import grid_tensor
    >>> from tnrnn.rac.partitions import start_end
    >>> s, upper = spectrum_tn(RACWeights.gaussian(RACSpec(2, 2, 1), seed=0), start_end(4))
    >>> s.rank, upper
    (2, 4)
    """
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
    check_matrix_size(weights.spec, partition, max_bytes)
    matrix = contract(weights, partition.length, partition, output="matrix", max_bytes=max_bytes)
    return spectrum(matrix, tolerance), min(matrix.shape)
