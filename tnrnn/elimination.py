"""Exact Gaussian elimination modulo a prime below 2**23, on float64 BLAS.

The rank of a matrix over F_p is computed by a column-recursive elimination whose work
is matrix products, so it runs at the speed of the float64 BLAS (numpy, or torch on CPU
or CUDA). Residues are stored as float64 integers. A product is exact while every
partial sum stays below 2**53: with the *balanced* representatives ``|x| <= (p-1)/2``
and ``p < 2**23``, a sum of ``CHUNK = 256`` products is below
``2**8 * 2**44 = 2**52``, and adding one reduced residue keeps it below 2**53. So a
product of inner dimension k is computed as ``ceil(k / 256)`` BLAS calls with one
reduction after each ("delayed reduction", the technique of the FFLAS-FFPACK library).

The recursion (``A`` is n x m)::

    A = [ A_1 | A_2 ]                 split the columns in two
    rank(A_1) = k1 with pivot rows P, pivot columns C, B = A_1[P, C] invertible (k1 x k1)
    S = A_2[rest] - A_1[rest, C] B^{-1} A_2[P]        the Schur complement
    rank(A) = k1 + rank(S)

This holds for any k1 x k1 nonsingular minor B with ``rank(A_1) = k1``, so it is exact.
The pivot columns found are those of the reduced row echelon form of ``A`` (leftmost
greedy). A left child returns ``B^{-1}`` as well, assembled from its own two children
by the block-inverse formula. Narrow panels (at most :data:`BASE` columns) are reduced
by plain row operations on the rows that are non-zero in the pivot column.

Cost: about ``n m min(n, m)`` multiply-adds in BLAS (1.5 to 2 times an LU
factorisation), plus ``O(n m log m)`` copies and ``O(n m BASE)`` element-wise operations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["FAST_PRIME_LIMIT", "CHUNK", "BASE", "Echelon", "echelon_blas"]

#: Exclusive upper limit of the primes this module accepts: below it, balanced residues
#: make a sum of :data:`CHUNK` products exact in float64 (see the module docstring).
FAST_PRIME_LIMIT = 2**23
#: Inner dimension of one exact float64 product before a reduction mod p.
CHUNK = 256
#: Panels of at most this many columns are reduced by row operations.
BASE = 32


@dataclass(frozen=True)
class Echelon:
    """Rank, pivot columns and pivot rows of a matrix over F_p.

    Attributes
    ----------
    rank : int
    pivot_columns : tuple of int
        The pivot columns of the reduced row echelon form (increasing).
    pivot_rows : tuple of int
        ``rank`` rows such that ``matrix[pivot_rows][:, pivot_columns]`` is nonsingular.
    """

    rank: int
    pivot_columns: tuple[int, ...]
    pivot_rows: tuple[int, ...]


class _Ops:
    """The handful of array operations the elimination needs, for numpy or torch."""

    def __init__(self, like: Any) -> None:
        self.torch = not isinstance(like, np.ndarray)
        if self.torch:
            import torch

            self.lib, self.device = torch, like.device
        else:
            self.lib, self.device = np, None

    def index(self, values) -> Any:
        if self.torch:
            return self.lib.as_tensor(np.asarray(values, dtype=np.int64), device=self.device)
        return np.asarray(values, dtype=np.intp)

    def to_list(self, indices) -> list[int]:
        return [int(i) for i in (indices.tolist() if self.torch else indices)]

    def nonzero(self, vector) -> Any:
        if self.torch:
            return self.lib.nonzero(vector).flatten()
        return np.flatnonzero(vector)

    def cat(self, parts) -> Any:
        return self.lib.cat(parts) if self.torch else np.concatenate(parts)

    def zeros(self, rows: int, cols: int) -> Any:
        if self.torch:
            return self.lib.zeros((rows, cols), dtype=self.lib.float64, device=self.device)
        return np.zeros((rows, cols), dtype=np.float64)

    def eye(self, n: int) -> Any:
        if self.torch:
            return self.lib.eye(n, dtype=self.lib.float64, device=self.device)
        return np.eye(n, dtype=np.float64)


def _reduce(x, p: int):
    """Balanced residues of float64 integers ``|x| < 2**53``, in place: ``|x| <= p/2 + 1``.

    ``q = rint(x / p)`` may be one off the nearest integer only where ``x / p`` is within
    rounding of a half-integer; ``x - q p`` is then an exact integer of magnitude at most
    ``p/2 + 1``, congruent to ``x``.
    """
    q = x * (1.0 / p)
    q.round_() if hasattr(q, "round_") else np.rint(q, out=q)
    q *= p
    x -= q
    return x


def _matmul(a, b, p: int):
    """Exact ``a @ b mod p`` for balanced float64 residues, p < 2**23: balanced result.

    Entries of magnitude at most ``p/2 + 1 <= 2**22 + 1``: a sum of :data:`CHUNK` = 2**8
    products is below ``2**52 + 2**32``, and adding a balanced residue keeps it below 2**53.
    """
    inner = a.shape[1]
    out = a[:, :CHUNK] @ b[:CHUNK]
    _reduce(out, p)
    for start in range(CHUNK, inner, CHUNK):
        out += a[:, start:start + CHUNK] @ b[start:start + CHUNK]
        _reduce(out, p)
    return out


def _inverse_small(block, p: int, ops: _Ops):
    """Inverse mod p of a small nonsingular k x k block (Gauss-Jordan, int64): balanced."""
    values = block.cpu().numpy() if ops.torch else block
    k = values.shape[0]
    work = np.concatenate([np.mod(values.astype(np.int64), p), np.eye(k, dtype=np.int64)], axis=1)
    for col in range(k):
        piv = col + int(np.flatnonzero(work[col:, col])[0])
        if piv != col:
            work[[col, piv]] = work[[piv, col]]
        work[col] = work[col] * pow(int(work[col, col]), -1, p) % p
        factor = work[:, col].copy()
        factor[col] = 0
        work -= factor[:, None] * work[col][None, :] % p
        work %= p
    inverse = work[:, k:].astype(np.float64)
    inverse -= p * (inverse > (p - 1) // 2)
    return ops.lib.as_tensor(inverse, device=ops.device) if ops.torch else inverse


def _base(a, p: int, need_inverse: bool, ops: _Ops):
    """Row reduction of a narrow panel: (row order, pivot columns, inverse of the pivot block)."""
    n, w = a.shape
    work = a.clone() if ops.torch else a.copy()
    active = work[:, 0] == work[:, 0]  # all True, on the right device
    pivot_rows: list[int] = []
    pivot_cols: list[int] = []
    for j in range(w):
        candidates = ops.nonzero(active & (work[:, j] != 0))
        if len(candidates) == 0:
            continue
        i = int(candidates[0])
        pivot_rows.append(i)
        pivot_cols.append(j)
        active[i] = False
        if len(candidates) > 1 and j + 1 < w:
            factor = work[:, j] * pow(int(work[i, j]), -1, p)
            _reduce(factor, p)
            factor *= active
            update = factor[:, None] * work[i, j + 1:][None, :]
            work[:, j + 1:] -= update
            _reduce(work[:, j + 1:], p)
    rest = ops.nonzero(active)
    order = ops.cat([ops.index(pivot_rows), rest])
    inverse = None
    if need_inverse and pivot_rows:
        inverse = _inverse_small(a[ops.index(pivot_rows)[:, None], ops.index(pivot_cols)[None, :]], p, ops)
    elif need_inverse:
        inverse = ops.zeros(0, 0)
    return order, pivot_cols, inverse


def _recurse(a, p: int, need_inverse: bool, ops: _Ops):
    """(row order, pivot columns, inverse of the pivot block or None) of ``a`` (not modified)."""
    n, m = a.shape
    if n == 0:
        return ops.index([]), [], (ops.zeros(0, 0) if need_inverse else None)
    if m <= BASE:
        return _base(a, p, need_inverse, ops)
    half = m // 2
    order1, cols1, inv1 = _recurse(a[:, :half], p, True, ops)
    k1 = len(cols1)
    top, rest = order1[:k1], order1[k1:]
    right = a[:, half:]
    if k1:
        c1 = ops.index(cols1)
        x = _matmul(inv1, right[top], p)  # B^{-1} A_2[P]
        schur = right[rest] - _matmul(a[rest[:, None], c1[None, :]], x, p)
        _reduce(schur, p)
    else:
        schur = right[rest]
    order2, cols2, inv2 = _recurse(schur, p, need_inverse, ops)
    k2 = len(cols2)
    order = ops.cat([top, rest[order2]])
    cols = list(cols1) + [half + c for c in cols2]
    if not need_inverse:
        return order, cols, None
    if k2 == 0:
        return order, cols, inv1
    if k1 == 0:
        return order, cols, inv2
    # block inverse of [[B11, B12], [B21, B22]] with S = B22 - B21 B11^{-1} B12, S^{-1} = inv2
    u = x[:, ops.index(cols2)]  # B11^{-1} B12
    b21 = a[rest[order2[:k2]][:, None], c1[None, :]]
    v = _matmul(b21, inv1, p)  # B21 B11^{-1}
    wmat = _matmul(u, inv2, p)  # B11^{-1} B12 S^{-1}
    inverse = ops.zeros(k1 + k2, k1 + k2)
    inverse[:k1, :k1] = _reduce(inv1 + _matmul(wmat, v, p), p)
    inverse[:k1, k1:] = -wmat
    inverse[k1:, :k1] = -_matmul(inv2, v, p)
    inverse[k1:, k1:] = inv2
    return order, cols, inverse


def echelon_blas(matrix, prime: int) -> Echelon:
    """Rank, pivot columns and pivot rows of a matrix over F_prime, prime < 2**23, by BLAS.

    Parameters
    ----------
    matrix : ndarray or torch.Tensor, 2-D
        Integer entries (any integer or float dtype holding integers); reduced mod
        ``prime`` first. A torch tensor is eliminated on its own device (CPU or CUDA).
    prime : int
        A prime below :data:`FAST_PRIME_LIMIT` (not checked for primality here: see
        :func:`tnrnn.modular.rank_mod`, which does).

    Returns
    -------
    Echelon

    Raises
    ------
    ValueError
        If the matrix is not 2-D or ``prime`` is not below :data:`FAST_PRIME_LIMIT`.

    Notes
    -----
    About ``n m min(n, m)`` float64 multiply-adds for an n x m matrix; memory a few
    copies of the matrix in float64.

    Examples
    --------
    >>> e = echelon_blas(np.array([[1, 2, 3], [2, 4, 6], [0, 0, 1]]), 7)
    >>> e.rank, e.pivot_columns
    (2, (0, 2))
    """
    if not 2 <= int(prime) < FAST_PRIME_LIMIT:
        raise ValueError(f"prime={prime} is outside the BLAS route's range [2, 2**23): "
                         f"use tnrnn.modular.rank_mod, which sends larger primes to python-flint")
    p = int(prime)
    ops = _Ops(matrix)
    if not ops.torch:
        matrix = np.asarray(matrix)
    if matrix.ndim != 2:
        raise ValueError(f"matrix must be 2-D, got shape {tuple(matrix.shape)}")
    floating = matrix.is_floating_point() if ops.torch else matrix.dtype.kind == "f"
    size = matrix.numel() if ops.torch else matrix.size
    if not floating and size:
        if int(matrix.max()) >= 2**52 or int(matrix.min()) <= -(2**52):
            matrix = matrix % p  # integers beyond float64's exact range: reduce them first
    a = matrix.to(ops.lib.float64, copy=True) if ops.torch else matrix.astype(np.float64)
    _reduce(a, p)  # balanced residues
    order, cols, _ = _recurse(a, p, False, ops)
    k = len(cols)
    return Echelon(k, tuple(cols), tuple(ops.to_list(order[:k])))
