"""Exact Gaussian elimination modulo a prime below 2**23, on float64 BLAS.

The rank of a matrix over F_p is computed by a blocked, right-looking elimination whose
work is matrix products, so it runs at the speed of the float64 BLAS (through torch, on
CPU or CUDA; a numpy matrix is ranked on the CPU). Residues are stored as float64
integers. A product is exact while every partial sum stays below 2**53: with the
*balanced* representatives ``|x| <= p/2 + 1`` and ``p < 2**23``, a sum of
``PANEL = 256`` products is below ``2**8 * (2**22 + 1)**2 < 2**52 + 2**39``, and adding
one reduced residue keeps it below 2**53. So each trailing update below is one BLAS
product followed by one reduction mod p ("delayed reduction", the technique of the
FFLAS-FFPACK library).

The elimination (``A`` is n x m, the rank found so far r, the columns processed c)::

    panel = A[r:, c:c+PANEL]           find its pivots: k pivot rows P, pivot columns C,
                                       and B^{-1}, B = panel[P, C] (k x k, nonsingular)
    move the rows P to positions r..r+k-1
    A[r+k:, c+PANEL:] -= A[r+k:, C] (B^{-1} A[r:r+k, c+PANEL:])       the Schur complement
    r += k, c += PANEL

``rank(A) = k + rank(Schur complement)`` for any nonsingular k x k minor B with
``rank(panel) = k``, so the rank is exact, and the pivot columns found are those of the
reduced row echelon form of ``A`` (leftmost greedy). A panel is factored by a
column-recursive elimination that returns ``B^{-1}`` as well (assembled from its two
halves by the block-inverse formula), with narrow slices of at most :data:`BASE` columns
reduced by plain row operations. The panel's pivots are first sought among its first
``2 * PANEL`` rows only: where those already have full column rank (the usual case), so
has the panel, and the other rows are never looked at.

Cost: about ``n m min(n, m) - min(n, m)**3 / 3`` multiply-adds in BLAS (one LU
factorisation: ``n**3 / 3`` for a square matrix), one element-wise reduction of the
trailing matrix per panel (a ``1 / PANEL`` overhead), and ``O(n PANEL)`` element-wise
work per panel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["FAST_PRIME_LIMIT", "PANEL", "BASE", "SCRATCH_ENTRIES", "Echelon", "echelon_blas", "balanced",
           "matmul_balanced", "reduce_balanced", "left_null_space_blas"]

#: Exclusive upper limit of the primes this module accepts: below it, balanced residues
#: make a sum of :data:`PANEL` products exact in float64 (see the module docstring).
FAST_PRIME_LIMIT = 2**23
#: Columns per panel: the inner dimension of one exact float64 product before a reduction.
PANEL = 256
#: Slices of a panel of at most this many columns are reduced by row operations.
BASE = 16
#: Entries of the work space that holds quotients during a reduction (64 MiB of float64).
SCRATCH_ENTRIES = 2**23


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


def reduce_balanced(x, p: int, scratch=None):
    """Balanced residues of a float64 tensor of integers ``|x| < 2**53``, in place: ``|x| <= p/2 + 1``.

    ``q = rint(x / p)`` may be one off the nearest integer only where ``x / p`` is within
    rounding of a half-integer; ``x - q p`` is then an exact integer of magnitude at most
    ``p/2 + 1``, congruent to ``x``. ``scratch``, a tensor of ``x``'s shape, avoids
    allocating the quotient.

    Examples
    --------
    >>> import torch
    >>> reduce_balanced(torch.tensor([5.0, 6.0, 2.0**52 + 1], dtype=torch.float64), 7).tolist()
    [-2.0, -1.0, 3.0]
    """
    import torch

    q = torch.mul(x, 1.0 / p, out=scratch) if scratch is not None else x * (1.0 / p)
    q.round_()
    x.add_(q, alpha=-p)
    return x


def _reduce_rows(x, p: int, scratch) -> None:
    """:func:`reduce_balanced` of a 2-D ``x`` in blocks of rows, the quotients in the flat ``scratch``."""
    rows, cols = x.shape
    if cols > scratch.numel():  # not even one row fits
        reduce_balanced(x, p)
        return
    step = scratch.numel() // max(cols, 1)
    for start in range(0, rows, step):
        block = x[start:start + step]
        reduce_balanced(block, p, scratch[:block.numel()].view(block.shape))


def _matmul(a, b, p: int):
    """Exact ``a @ b mod p`` for balanced float64 residues, p < 2**23: balanced result."""
    inner = a.shape[1]
    out = a[:, :PANEL] @ b[:PANEL]
    reduce_balanced(out, p)
    for start in range(PANEL, inner, PANEL):
        out.addmm_(a[:, start:start + PANEL], b[start:start + PANEL])
        reduce_balanced(out, p)
    return out


def _float64(matrix, prime: int, in_place: bool = False):
    """``matrix`` (numpy or torch, integers) as a float64 torch tensor of exact integers.

    Integers beyond float64's exact range are reduced mod ``prime`` first. With
    ``in_place``, a C-contiguous, writable float64 matrix is used as it is (no copy).
    """
    import torch

    if isinstance(matrix, torch.Tensor):
        values = matrix.detach()
        if not values.is_floating_point():
            if values.numel() and (int(values.max()) >= 2**52 or int(values.min()) <= -(2**52)):
                values = values % prime
            return values.to(torch.float64)
        if in_place and values.dtype == torch.float64 and values.is_contiguous():
            return values
        return values.to(torch.float64, memory_format=torch.contiguous_format, copy=True)
    array = np.asarray(matrix)
    if array.dtype.kind in "iu":
        if array.size and (int(array.max()) >= 2**52 or int(array.min()) <= -(2**52)):
            array = np.mod(array, prime)
        array = array.astype(np.float64)
    elif not (in_place and array.dtype == np.float64 and array.flags.c_contiguous and array.flags.writeable):
        array = np.array(array, dtype=np.float64, order="C")
    return torch.from_numpy(array)


def balanced(matrix, prime: int):
    """A float64 torch tensor of the balanced residues of an integer matrix, ``prime < 2**23``.

    Examples
    --------
    >>> balanced(np.array([[5, 6, -1]]), 7).tolist()
    [[-2.0, -1.0, -1.0]]
    """
    return reduce_balanced(_float64(matrix, prime), prime)


def matmul_balanced(a, b, prime: int):
    """Exact ``a @ b mod prime`` of balanced float64 tensors (:func:`balanced`), ``prime < 2**23``.

    One BLAS product and one reduction per :data:`PANEL` inner terms; the result is balanced.

    Examples
    --------
    >>> p = 8_388_593
    >>> out = matmul_balanced(balanced(np.array([[p - 1, 2]]), p), balanced(np.array([[p - 1], [3]]), p), p)
    >>> int(out[0, 0]) % p == ((p - 1) ** 2 + 6) % p
    True
    """
    return _matmul(a, b, prime)


def _index(values, device) -> Any:
    import torch

    return torch.as_tensor(np.asarray(values, dtype=np.int64), device=device)


def _inverse_small(block: np.ndarray, p: int) -> np.ndarray:
    """Inverse mod p of a small nonsingular k x k block (Gauss-Jordan, int64): balanced float64."""
    k = block.shape[0]
    work = np.concatenate([np.mod(block.astype(np.int64), p), np.eye(k, dtype=np.int64)], axis=1)
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
    return inverse


def _tensor(values: np.ndarray, like):
    """``values`` as a float64 tensor on the device of ``like``."""
    import torch

    return torch.as_tensor(values, dtype=torch.float64, device=like.device)


def _base(a, p: int):
    """Row reduction of a narrow slice: (row order, pivot columns, inverse of the pivot block).

    Done on the CPU in numpy, on the transpose (a column of the slice is a contiguous
    row there): the slices are small (at most :data:`BASE` columns), and per-column work
    there costs microseconds where a torch call costs tens.
    """
    values = a.cpu().numpy()
    n, w = values.shape
    work = np.array(values.T, dtype=np.float64, order="C")  # balanced residues, w x n
    active = np.ones(n, dtype=bool)
    quotient = np.empty_like(work)
    pivot_rows: list[int] = []
    pivot_cols: list[int] = []
    for j in range(w):
        candidates = np.flatnonzero(active & (work[j] != 0))
        if len(candidates) == 0:
            continue
        i = int(candidates[0])
        pivot_rows.append(i)
        pivot_cols.append(j)
        active[i] = False
        if len(candidates) > 1 and j + 1 < w:
            factor = work[j] * float(pow(int(work[j, i]), -1, p))
            _reduce_numpy(factor, p, quotient[j])
            factor *= active
            rest = work[j + 1:]
            rest -= np.outer(work[j + 1:, i], factor)
            _reduce_numpy(rest, p, quotient[j + 1:])
    order = np.concatenate([np.asarray(pivot_rows, dtype=np.int64), np.flatnonzero(active)])
    if pivot_rows:
        inverse = _inverse_small(values[np.ix_(pivot_rows, pivot_cols)], p)
    else:
        inverse = np.zeros((0, 0))
    return _index(order, a.device), pivot_cols, _tensor(inverse, a)


def _reduce_numpy(x: np.ndarray, p: int, scratch: np.ndarray) -> None:
    """:func:`reduce_balanced` for a numpy array, in place, the quotient in ``scratch``."""
    np.multiply(x, 1.0 / p, out=scratch)
    np.rint(scratch, out=scratch)
    scratch *= p
    x -= scratch


def _factor(a, p: int):
    """(row order, pivot columns, inverse of the pivot block) of a panel ``a`` (not modified).

    The rows ``order[:k]`` and the columns returned hold a nonsingular block B, and the
    inverse returned is ``B^{-1}`` with rows and columns in that order.
    """
    n, m = a.shape
    if n == 0:
        return _index([], a.device), [], a.new_zeros((0, 0))
    if m <= BASE:
        return _base(a, p)
    half = m // 2
    order1, cols1, inv1 = _factor(a[:, :half], p)
    k1 = len(cols1)
    top, rest = order1[:k1], order1[k1:]
    right = a[:, half:]
    if k1:
        c1 = _index(cols1, a.device)
        x = _matmul(inv1, right[top], p)  # B^{-1} A_2[P]
        schur = right[rest]
        schur.addmm_(a[rest[:, None], c1[None, :]], x, alpha=-1)
        reduce_balanced(schur, p)
    else:
        schur = right[rest]
    order2, cols2, inv2 = _factor(schur, p)
    k2 = len(cols2)
    order = _cat(top, rest[order2])
    cols = list(cols1) + [half + c for c in cols2]
    if k2 == 0:
        return order, cols, inv1
    if k1 == 0:
        return order, cols, inv2
    # block inverse of [[B11, B12], [B21, B22]] with S = B22 - B21 B11^{-1} B12, S^{-1} = inv2
    u = x[:, _index(cols2, a.device)]  # B11^{-1} B12
    b21 = a[rest[order2[:k2]][:, None], c1[None, :]]
    v = _matmul(b21, inv1, p)  # B21 B11^{-1}
    wmat = _matmul(u, inv2, p)  # B11^{-1} B12 S^{-1}
    inverse = a.new_zeros((k1 + k2, k1 + k2))
    inverse[:k1, :k1] = reduce_balanced(inv1 + _matmul(wmat, v, p), p)
    inverse[:k1, k1:] = -wmat
    inverse[k1:, :k1] = -_matmul(inv2, v, p)
    inverse[k1:, k1:] = inv2
    return order, cols, inverse


def _cat(first, second):
    import torch

    return torch.cat([first, second])


def _panel(panel, p: int, width: int):
    """Factor a panel, first from its leading ``2 * width`` rows alone (enough when of full rank)."""
    head = min(panel.shape[0], 2 * width)
    if head < panel.shape[0]:
        order, cols, inverse = _factor(panel[:head], p)
        if len(cols) == panel.shape[1]:
            return order[:len(cols)], cols, inverse
    order, cols, inverse = _factor(panel, p)
    return order[:len(cols)], cols, inverse


def _eliminate(a, p: int) -> tuple[list[int], list[int]]:
    """Pivot rows (original indices) and pivot columns of the float64 integers ``a`` (overwritten)."""
    import torch

    n, m = a.shape
    width = PANEL
    scratch = a.new_empty(min(a.numel(), SCRATCH_ENTRIES))
    _reduce_rows(a, p, scratch)  # balanced residues
    rows = torch.arange(n, device=a.device)  # rows[i]: the original index of the row now at i
    pivot_cols: list[int] = []
    r = 0
    for c in range(0, m, width):
        if r == n:
            break
        end = min(c + width, m)
        pivots, cols, inverse = _panel(a[r:, c:end], p, width)
        k = len(cols)
        if k == 0:
            continue
        pivot_cols.extend(c + j for j in cols)
        # move the pivot rows to r..r+k-1 by swapping at most 2k rows
        chosen = [int(i) for i in pivots.tolist()]
        inside = set(chosen)
        leaving = [i for i in range(k) if i not in inside]
        arriving = [i for i in chosen if i >= k]
        source = _index(chosen + leaving, a.device) + r
        target = _index(list(range(k)) + arriving, a.device) + r
        a[target, c:] = a[source, c:]
        rows[target] = rows[source]
        if end < m and r + k < n:
            x = torch.mm(inverse, a[r:r + k, end:])  # B^{-1} A[P, right]: inner k <= PANEL
            reduce_balanced(x, p)
            trailing = a[r + k:, end:]
            trailing.addmm_(a[r + k:, _index([c + j for j in cols], a.device)], x, alpha=-1)
            _reduce_rows(trailing, p, scratch)
        r += k
    return [int(i) for i in rows[:r].tolist()], pivot_cols


def left_null_space_blas(matrix, prime: int) -> tuple[int, np.ndarray]:
    """Rank and a basis of the left null space ``{c : c^T A = 0 mod p}`` of an n x m matrix, prime < 2**23.

    Returns
    -------
    rank : int
    basis : ndarray, int64, shape (n - rank, n)
        Rows spanning the left null space, entries in ``[0, prime)``; each has a 1 at one
        non-pivot row and zeros at the other non-pivot rows, so the rows are independent.

    Notes
    -----
    One elimination (:func:`echelon_blas`) for the pivot rows I and columns J, then the
    inverse of the nonsingular block ``A[I, J]`` by the same recursive factorization: about
    ``n m r`` plus ``2 r^3`` multiply-adds for rank r.

    Examples
    --------
    >>> rank, basis = left_null_space_blas(np.array([[1, 2], [2, 4], [0, 1]]), 7)
    >>> rank, basis.tolist()
    (2, [[5, 1, 0]])
    """
    import torch

    a = np.mod(np.asarray(matrix).astype(np.int64), prime)
    found = echelon_blas(a, prime)
    pivots = list(found.pivot_rows)
    others = sorted(set(range(a.shape[0])) - set(pivots))
    basis = np.zeros((len(others), a.shape[0]), dtype=np.int64)
    if not others:
        return found.rank, basis
    basis[np.arange(len(others)), others] = 1
    if not pivots:
        return found.rank, basis
    cols = list(found.pivot_columns)
    block = torch.as_tensor(balanced(a[np.ix_(pivots, cols)], prime))
    order, block_cols, inverse = _factor(block, prime)  # inverse of block[order][:, block_cols]
    order = order[:len(block_cols)].tolist()
    right = balanced(a[np.ix_(others, cols)][:, block_cols], prime)  # z[order] B' = rhs[:, block_cols]
    solved = np.mod(matmul_balanced(torch.as_tensor(right), inverse, prime).numpy(), prime).astype(np.int64)
    basis[:, [pivots[i] for i in order]] = np.mod(-solved, prime)
    return found.rank, basis


def echelon_blas(matrix, prime: int, *, overwrite: bool = False) -> Echelon:
    """Rank, pivot columns and pivot rows of a matrix over F_prime, prime < 2**23, by BLAS.

    Parameters
    ----------
    matrix : ndarray or torch.Tensor, 2-D
        Integer entries (any integer or float dtype holding integers); reduced mod
        ``prime`` first. A torch tensor is eliminated on its own device (CPU or CUDA), a
        numpy array on the CPU through torch (the array itself is not modified).
    prime : int
        A prime below :data:`FAST_PRIME_LIMIT` (not checked for primality here: see
        :func:`tnrnn.exact.modular.rank_mod`, which does).
    overwrite : bool
        Let a C-contiguous float64 matrix (numpy array or tensor) be the work space, so
        that no copy is made; its contents are then destroyed. Other matrices are copied.

    Returns
    -------
    Echelon

    Raises
    ------
    ValueError
        If the matrix is not 2-D or ``prime`` is not below :data:`FAST_PRIME_LIMIT`.

    Notes
    -----
    About ``n m min(n, m) - min(n, m)**3 / 3`` float64 multiply-adds for an n x m
    matrix (an n = 4000 matrix in about a second on two cores); memory one float64 copy
    of the matrix (none with ``overwrite``) and 64 MiB of work space.

    Examples
    --------
    >>> e = echelon_blas(np.array([[1, 2, 3], [2, 4, 6], [0, 0, 1]]), 7)
    >>> e.rank, e.pivot_columns
    (2, (0, 2))
    """
    import torch

    if not 2 <= int(prime) < FAST_PRIME_LIMIT:
        raise ValueError(f"prime={prime} is outside the BLAS route's range [2, 2**23): "
                         f"use tnrnn.exact.modular.rank_mod, which sends larger primes to python-flint")
    p = int(prime)
    if not isinstance(matrix, torch.Tensor):
        matrix = np.asarray(matrix)
    if matrix.ndim != 2:
        raise ValueError(f"matrix must be 2-D, got shape {tuple(matrix.shape)}")
    a = _float64(matrix, p, in_place=overwrite).contiguous()
    rows, cols = _eliminate(a, p)
    return Echelon(len(cols), tuple(cols), tuple(rows))
