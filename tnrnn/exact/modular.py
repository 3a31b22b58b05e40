"""Exact arithmetic modulo a prime: prime checks, matrix products and ranks.

Every exact rank in tnrnn is a rank over the finite field F_p. Weights are drawn
uniformly from F_p, every product is reduced mod p, and matrices are ranked by
:func:`rank_mod`: below :data:`FAST_PRIME_LIMIT` (2**23) by a blocked elimination whose
work is float64 BLAS products (:mod:`tnrnn.exact.elimination`, through torch), at or above it by
python-flint's ``nmod_mat``, which is also the reference the fast route is tested
against. Numbers stay in ``int64`` numpy arrays; the prime is kept below 2**31 so that
a product of two residues fits in 62 bits.

The default prime :data:`DEFAULT_PRIME` is the largest prime below 2**23, so that exact
ranks take the fast route. Any prime gives a certified lower bound; only the
Schwartz-Zippel failure bound of an uncertified rank depends on it (it is ``degree / p``
per draw, computed with the prime actually used).
"""

from __future__ import annotations

import numpy as np

from tnrnn.exact.elimination import FAST_PRIME_LIMIT, Echelon, echelon_blas

__all__ = [
    "left_null_space",
    "DEFAULT_PRIME",
    "FAST_PRIME_LIMIT",
    "FLINT_PRIME",
    "MAX_PRIME",
    "check_prime",
    "is_prime",
    "matmul_mod",
    "matmul_mod_blas",
    "Limbs",
    "echelon_mod",
    "rank_mod",
    "to_nmod_mat",
]

#: The largest prime below 2**23: exact ranks mod it run on float64 BLAS.
DEFAULT_PRIME = 8_388_593
#: The Mersenne prime 2**31 - 1, the largest prime the vectorised int64 code accepts:
#: ranks mod it go to python-flint (a failure bound 256 times smaller per draw).
FLINT_PRIME = 2_147_483_647
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
        raise ValueError(f"{name}={prime} is not prime: use a prime below 2**31, such as the default "
                         f"{DEFAULT_PRIME} (primes below 2**23 take the fast BLAS route)")
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


_RANK_METHODS = ("auto", "blas", "flint")


def _is_tensor(matrix) -> bool:
    return type(matrix).__module__.startswith("torch")


def _route(prime: int, method: str) -> str:
    if method not in _RANK_METHODS:
        raise ValueError(f"method must be one of {_RANK_METHODS}, got method={method!r}")
    if method == "blas" and prime >= FAST_PRIME_LIMIT:
        raise ValueError(f"method='blas' needs a prime below 2**23 = {FAST_PRIME_LIMIT} (float64 "
                         f"products stay exact only there), got prime={prime}: use method='auto' "
                         f"or 'flint', which handle primes up to 2**31")
    if method == "auto":
        return "blas" if prime < FAST_PRIME_LIMIT else "flint"
    return method


def _as_matrix(matrix):
    if _is_tensor(matrix):
        return matrix
    matrix = np.asarray(matrix)
    if matrix.dtype.kind not in "iuf":
        raise ValueError(f"matrix must hold integers, got dtype {matrix.dtype}")
    return matrix


def _prepare(matrix, prime: int, method: str):
    """Checked ``(prime, route, matrix)``: a 2-D matrix, a numpy array on the flint route."""
    prime = check_prime(prime)
    route = _route(prime, method)
    matrix = _as_matrix(matrix)
    if matrix.ndim != 2:
        raise ValueError(f"matrix must be 2-D, got shape {tuple(matrix.shape)}")
    if route == "flint" and _is_tensor(matrix):
        matrix = matrix.detach().cpu().numpy()
    return prime, route, matrix


def _flint_echelon(matrix: np.ndarray, prime: int) -> Echelon:
    """Pivot columns from flint's rref of the matrix, pivot rows from that of its transpose."""
    def pivots(m: np.ndarray) -> tuple[int, ...]:
        reduced, rank = to_nmod_mat(np.mod(m, prime), prime).rref()
        found, col = [], 0
        for row in range(rank):
            while int(reduced[row, col]) == 0:
                col += 1
            found.append(col)
        return tuple(found)

    cols = pivots(matrix)
    rows = pivots(matrix.T)
    return Echelon(len(cols), cols, rows)


def echelon_mod(matrix, prime: int, *, method: str = "auto", overwrite: bool = False) -> Echelon:
    """Rank, pivot columns and pivot rows of an integer matrix over F_prime.

    Parameters
    ----------
    matrix : array_like or torch.Tensor, 2-D
        Integer entries (reduced mod ``prime`` first).
    prime : int
        A prime below 2**31.
    method : {"auto", "blas", "flint"}
        ``auto``: BLAS below :data:`FAST_PRIME_LIMIT`, flint above (never a silent wrap).
    overwrite : bool
        On the BLAS route, let a C-contiguous float64 matrix be the work space (no copy;
        its contents are destroyed).

    Returns
    -------
    Echelon
        ``pivot_columns`` are those of the reduced row echelon form; ``pivot_rows`` index
        rows whose submatrix on the pivot columns is nonsingular (on the flint route:
        the pivot columns of the transpose).

    Examples
    --------
    >>> e = echelon_mod(np.array([[0, 1, 1], [0, 2, 2], [1, 0, 0]]), 5)
    >>> e.rank, e.pivot_columns
    (2, (0, 1))
    """
    prime, route, matrix = _prepare(matrix, prime, method)
    if 0 in matrix.shape:
        return Echelon(0, (), ())
    if route == "blas":
        return echelon_blas(matrix, prime, overwrite=overwrite)
    return _flint_echelon(matrix, prime)


def left_null_space(matrix, prime: int) -> tuple[int, np.ndarray]:
    """Rank and a basis (rows, int64 in ``[0, prime)``) of ``{c : c^T A = 0 mod prime}``.

    BLAS below :data:`FAST_PRIME_LIMIT` (:func:`tnrnn.exact.elimination.left_null_space_blas`),
    python-flint's ``nullspace`` of the transpose above.

    Examples
    --------
    >>> rank, basis = left_null_space(np.array([[1, 2], [2, 4], [0, 1]]), 2_147_483_647)
    >>> rank, (basis @ np.array([[1, 2], [2, 4], [0, 1]]) % 2_147_483_647).tolist()
    (2, [[0, 0]])
    """
    prime, route, matrix = _prepare(matrix, prime, "auto")
    if route == "blas":
        from tnrnn.exact.elimination import left_null_space_blas

        return left_null_space_blas(matrix, prime)
    values = np.mod(np.asarray(matrix).astype(np.int64), prime)
    n, m = values.shape
    if n == 0 or m == 0:
        return 0, np.eye(n, dtype=np.int64)
    space, nullity = to_nmod_mat(values.T, prime).nullspace()
    basis = np.array([[int(space[i, j]) for i in range(n)] for j in range(nullity)], dtype=np.int64)
    return n - nullity, basis.reshape(nullity, n)


def rank_mod(matrix, prime: int, *, method: str = "auto", overwrite: bool = False) -> int:
    """Rank of an integer matrix over the field F_prime.

    The rank mod p never exceeds the rank over the rationals of the same integer
    matrix, so it is a certified lower bound for it.

    Parameters
    ----------
    matrix : array_like or torch.Tensor, 2-D
        Integer entries (reduced mod ``prime`` first). A torch tensor is ranked on its
        own device (CPU or CUDA) on the BLAS route.
    prime : int
        A prime below 2**31; anything else raises ``ValueError``.
    method : {"auto", "blas", "flint"}
        ``blas``: the float64 BLAS elimination of :mod:`tnrnn.exact.elimination`, for primes
        below :data:`FAST_PRIME_LIMIT` = 2**23; ``flint``: python-flint's ``nmod_mat``
        (any prime below 2**31); ``auto`` (default): ``blas`` where the prime allows,
        else ``flint``. A prime too large for the BLAS route is never wrapped.
    overwrite : bool
        On the BLAS route, let a C-contiguous float64 matrix be the work space (no copy;
        its contents are destroyed). Saves one copy of a large matrix.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        A non-prime modulus, a prime of 2**31 or more, ``method='blas'`` with a prime of
        2**23 or more, or a matrix that is not 2-D.

    Notes
    -----
    The BLAS route costs one LU factorisation's float64 multiply-adds (an n = 4000
    matrix in about a second on two cores); flint's costs O(n^3) word operations plus a
    conversion through Python lists of about the same time.

    Examples
    --------
    >>> rank_mod(np.array([[1, 2], [2, 4]]), 7), rank_mod(np.array([[1, 2], [3, 4]]), 2)
    (1, 1)
    >>> rank_mod(np.array([[1, 2], [3, 4]]), 2_147_483_647)  # flint route
    2
    """
    prime, route, matrix = _prepare(matrix, prime, method)
    if 0 in matrix.shape:
        return 0
    if route == "blas":
        return echelon_blas(matrix, prime, overwrite=overwrite).rank
    return int(to_nmod_mat(np.mod(matrix, prime), prime).rank())
