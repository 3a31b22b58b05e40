"""Exact arithmetic modulo a prime: prime checks, matrix products and ranks.

Every exact rank in tnrnn is a rank over the finite field F_p. Weights are drawn
uniformly from F_p, every product is reduced mod p, and matrices are ranked with
python-flint's ``nmod_mat``. Numbers stay in ``int64`` numpy arrays; the prime is
kept below 2**31 so that a product of two residues fits in 62 bits.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "DEFAULT_PRIME",
    "MAX_PRIME",
    "check_prime",
    "is_prime",
    "matmul_mod",
    "matmul_mod_blas",
    "Limbs",
    "rank_mod",
    "to_nmod_mat",
]

#: The Mersenne prime 2**31 - 1: the largest prime the vectorised int64 code accepts.
DEFAULT_PRIME = 2_147_483_647
#: Exclusive upper limit for primes, so that ``a * b`` of two residues fits in int64.
MAX_PRIME = 2**31

_SPLIT_BITS = 16
_SPLIT_MASK = (1 << _SPLIT_BITS) - 1


def is_prime(n: int) -> bool:
    """Return whether ``n`` is prime (deterministic, via python-flint's ``fmpz``).

    Examples
    --------
    >>> is_prime(2_147_483_647), is_prime(2**31 + 1)
    (True, False)
    """
    if n < 2:
        return False
    from flint import fmpz

    return bool(fmpz(int(n)).is_prime())


def check_prime(prime: int, *, name: str = "prime") -> int:
    """Validate a modulus for exact arithmetic and return it as an ``int``.

    Raises
    ------
    ValueError
        If ``prime`` is not a prime number or is not below :data:`MAX_PRIME`.
    """
    if isinstance(prime, bool) or not isinstance(prime, (int, np.integer)):
        raise ValueError(f"{name} must be an integer prime below 2**31, got {prime!r}")
    prime = int(prime)
    if prime >= MAX_PRIME:
        raise ValueError(
            f"{name}={prime} is too large for exact int64 arithmetic: "
            f"use a prime below 2**31 (the default is {DEFAULT_PRIME})"
        )
    if not is_prime(prime):
        raise ValueError(f"{name}={prime} is not prime: use a prime such as {DEFAULT_PRIME}")
    return prime


def matmul_mod(a: np.ndarray, b: np.ndarray, prime: int) -> np.ndarray:
    """Exact ``(a @ b) mod prime`` for int64 arrays with entries in ``[0, prime)``.

    ``a`` is split into 16-bit halves so that no partial sum overflows int64
    (valid while the inner dimension is below 2**16).

    Examples
    --------
    >>> a = np.array([[2**30, 3]], dtype=np.int64); b = np.array([[5], [7]], dtype=np.int64)
    >>> int(matmul_mod(a, b, 2_147_483_647)[0, 0]) == (2**30 * 5 + 21) % 2_147_483_647
    True
    """
    if a.shape[-1] >= 1 << _SPLIT_BITS:
        raise ValueError(f"inner dimension {a.shape[-1]} too large for matmul_mod (< 65536)")
    low = (a & _SPLIT_MASK) @ b
    high = (a >> _SPLIT_BITS) @ b
    high %= prime
    high <<= _SPLIT_BITS
    low += high
    low %= prime
    return low


class Limbs:
    """A residue matrix split for exact float64 products: ``b = lo + 2**16 hi``."""

    def __init__(self, matrix: np.ndarray) -> None:
        self.lo = (matrix & 0xFFFF).astype(np.float64)
        self.hi = (matrix >> 16).astype(np.float64)
        self.both = self.lo + self.hi


def matmul_mod_blas(a: np.ndarray, b: np.ndarray | Limbs, p: int) -> np.ndarray:
    """Exact ``(a @ b) mod p`` through three float64 BLAS products on 16-bit limbs (Karatsuba).

    With p < 2**31 a limb is below 2**16 and a sum of two limbs below 2**17, so each product
    term is below 2**34 and a sum of fewer than 2**19 of them below 2**53: every float64
    partial sum is an exact integer. Pass ``b`` as :class:`Limbs` to split it once for many
    products.

    Examples
    --------
    >>> a = np.array([[2**30, 3]], dtype=np.int64); b = np.array([[5], [2**30 + 7]], dtype=np.int64)
    >>> p = 2_147_483_647
    >>> int(matmul_mod_blas(a, b, p)[0, 0]) == (2**30 * 5 + 3 * (2**30 + 7)) % p
    True
    """
    if a.shape[1] >= 1 << 19:
        raise ValueError(f"inner dimension {a.shape[1]} too large for exact float64 limbs (< 2**19)")
    b = b if isinstance(b, Limbs) else Limbs(b)
    a = Limbs(a)
    low = a.lo @ b.lo
    high = a.hi @ b.hi
    cross = a.both @ b.both
    cross -= low
    cross -= high  # = lo*hi + hi*lo, exact
    low_i = low.astype(np.int64) % p
    mid_i = cross.astype(np.int64) % p
    high_i = high.astype(np.int64) % p
    high_i = ((high_i << 16) % p << 16) % p
    mid_i <<= 16
    mid_i %= p
    low_i += mid_i
    low_i += high_i
    low_i %= p
    return low_i


def to_nmod_mat(matrix: np.ndarray, prime: int):
    """Convert a 2-D integer array with entries in ``[0, prime)`` to ``flint.nmod_mat``."""
    from flint import fmpz_mat, nmod_mat

    matrix = np.ascontiguousarray(matrix, dtype=np.int64)
    rows, cols = matrix.shape
    # building through fmpz_mat is about twice as fast as nmod_mat(rows, cols, list, p)
    return nmod_mat(fmpz_mat(rows, cols, matrix.ravel().tolist()), int(prime))


def rank_mod(matrix: np.ndarray, prime: int) -> int:
    """Rank of an integer matrix over the field F_prime (python-flint).

    The rank mod p never exceeds the rank over the rationals of the same integer
    matrix, so it is a certified lower bound for it.

    Notes
    -----
    Cost O(n^3) word operations with flint's blocked elimination; a 1700 x 1700
    matrix takes about one second on one core.

    Examples
    --------
    >>> rank_mod(np.array([[1, 2], [2, 4]]), 7), rank_mod(np.array([[1, 2], [3, 4]]), 2)
    (1, 1)
    """
    matrix = np.asarray(matrix)
    if matrix.ndim != 2:
        raise ValueError(f"matrix must be 2-D, got shape {matrix.shape}")
    if 0 in matrix.shape:
        return 0
    return int(to_nmod_mat(np.mod(matrix, prime), prime).rank())
