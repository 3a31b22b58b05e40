import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tnrnn.exact.modular import DEFAULT_PRIME, Limbs, matmul_mod, matmul_mod_blas, rank_mod


def _reference(a, b, p):
    return [[sum(int(x) * int(y) for x, y in zip(row, col)) % p for col in b.T] for row in a]


@given(st.integers(1, 6), st.integers(1, 40), st.integers(1, 6), st.sampled_from([2, 7, 65_537, DEFAULT_PRIME]),
       st.integers(0, 2**32))
def test_exact_products_match_python_integers(n, k, m, p, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, p, size=(n, k), dtype=np.int64)
    b = rng.integers(0, p, size=(k, m), dtype=np.int64)
    expected = _reference(a, b, p)
    assert matmul_mod(a, b, p).tolist() == expected
    assert matmul_mod_blas(a, b, p).tolist() == expected
    assert matmul_mod_blas(a, Limbs(b), p).tolist() == expected


def test_worst_case_entries_do_not_overflow():
    p = DEFAULT_PRIME
    a = np.full((2, 4096), p - 1, dtype=np.int64)
    b = np.full((4096, 3), p - 1, dtype=np.int64)
    expected = (4096 * (p - 1) ** 2) % p
    assert (matmul_mod(a, b, p) == expected).all()
    assert (matmul_mod_blas(a, b, p) == expected).all()


def test_rank_mod_depends_on_the_field():
    m = np.array([[1, 2], [3, 4]])  # det = -2
    assert rank_mod(m, 2) == 1 and rank_mod(m, 3) == 2


# --- the BLAS rank against python-flint ---------------------------------------------------------

import itertools  # noqa: E402

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

from tnrnn.exact.elimination import FAST_PRIME_LIMIT, echelon_blas  # noqa: E402
from tnrnn.exact.modular import FLINT_PRIME, echelon_mod, to_nmod_mat  # noqa: E402

FAST_PRIMES = [2, 3, 7, 65_537, 1_000_003, DEFAULT_PRIME]


def _flint_pivots(matrix, p):
    reduced, rank = to_nmod_mat(np.mod(matrix, p), p).rref()
    cols, col = [], 0
    for row in range(rank):
        while int(reduced[row, col]) == 0:
            col += 1
        cols.append(col)
    return rank, tuple(cols)


@st.composite
def matrices(draw, max_side=300):
    """Random, rank-deficient and structured integer matrices with zero rows and columns."""
    p = draw(st.sampled_from(FAST_PRIMES))
    n = draw(st.integers(1, max_side))
    m = draw(st.integers(1, max_side))
    rng = np.random.default_rng(draw(st.integers(0, 2**32)))
    kind = draw(st.sampled_from(["random", "low-rank", "repeated", "sparse"]))
    if kind == "random":
        a = rng.integers(0, p, size=(n, m))
    elif kind == "low-rank":
        r = draw(st.integers(0, min(n, m)))
        a = (rng.integers(0, p, size=(n, r)) @ rng.integers(0, p, size=(r, m)) if r else np.zeros((n, m))) % p
    elif kind == "repeated":  # copies of a few rows: a rank far below the size
        base = rng.integers(0, p, size=(draw(st.integers(1, 5)), m))
        a = base[rng.integers(0, len(base), size=n)]
    else:
        a = rng.integers(0, p, size=(n, m)) * (rng.random((n, m)) < 0.05)
    a = np.asarray(a, dtype=np.int64)
    zero_rows = draw(st.lists(st.integers(0, n - 1), max_size=4))
    zero_cols = draw(st.lists(st.integers(0, m - 1), max_size=4))
    a[zero_rows] = 0
    a[:, zero_cols] = 0
    if draw(st.booleans()):  # unreduced and negative entries are reduced first
        a = a - p * rng.integers(-3, 3, size=a.shape)
    return a, p


@settings(max_examples=40, deadline=None)
@given(matrices())
def test_blas_rank_equals_flint(case):
    matrix, p = case
    rank, cols = _flint_pivots(matrix, p)
    found = echelon_blas(matrix, p)
    assert found.rank == rank == rank_mod(matrix, p) == rank_mod(matrix, p, method="flint")
    assert found.pivot_columns == cols
    assert len(set(found.pivot_rows)) == rank
    minor = np.mod(matrix, p)[list(found.pivot_rows)][:, list(found.pivot_columns)]
    assert rank_mod(minor, p, method="flint") == rank  # the pivot block is nonsingular


def _brute_rank(matrix, p):
    """Largest r with a nonzero r x r minor mod p (Leibniz determinants in Python integers)."""
    def det(rows, cols):
        total = 0
        for perm in itertools.permutations(range(len(cols))):
            sign = (-1) ** sum(perm[i] > perm[j] for i in range(len(perm)) for j in range(i + 1, len(perm)))
            term = sign
            for i, j in enumerate(perm):
                term *= int(matrix[rows[i], cols[j]])
            total += term
        return total % p

    n, m = matrix.shape
    for r in range(min(n, m), 0, -1):
        if any(det(rows, cols) for rows in itertools.combinations(range(n), r)
               for cols in itertools.combinations(range(m), r)):
            return r
    return 0


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.sampled_from([2, 3, 5]), st.integers(0, 2**32))
def test_blas_rank_equals_brute_force_minors(n, m, p, seed):
    matrix = np.random.default_rng(seed).integers(0, p, size=(n, m))
    assert echelon_blas(matrix, p).rank == _brute_rank(matrix, p)


def test_structured_matrices():
    p = DEFAULT_PRIME
    n = 200
    vandermonde = np.array([[pow(i + 1, j, p) for j in range(n)] for i in range(n)], dtype=np.int64)
    assert rank_mod(vandermonde, p) == n  # distinct nodes: nonsingular
    hankel = np.array([[(i + j) % 7 for j in range(n)] for i in range(n)], dtype=np.int64)
    assert rank_mod(hankel, p) == rank_mod(hankel, p, method="flint")
    identity_blocks = np.kron(np.eye(3, dtype=np.int64), np.ones((50, 50), dtype=np.int64))
    assert rank_mod(identity_blocks, p) == 3
    assert rank_mod(np.zeros((5, 300), dtype=np.int64), p) == 0


def test_large_primes_go_to_flint_never_wrap(monkeypatch):
    import tnrnn.exact.modular as modular

    def refuse(*args, **kwargs):
        raise AssertionError("the BLAS route was used for a prime above 2**23")

    monkeypatch.setattr(modular, "echelon_blas", refuse)
    matrix = np.array([[-1, 1], [1, -1]], dtype=np.int64)  # rank 1 in every field
    assert rank_mod(matrix, FLINT_PRIME) == 1
    assert rank_mod(matrix, 2**23 + 9) == 1  # the smallest prime above 2**23
    with pytest.raises(ValueError, match="method='blas' needs a prime below 2\\*\\*23"):
        rank_mod(matrix, FLINT_PRIME, method="blas")
    with pytest.raises(ValueError, match="prime=.* is outside"):
        echelon_blas(matrix, FAST_PRIME_LIMIT + 9)


@pytest.mark.parametrize("modulus", [1, 91, 2**23, 2**31 - 2])
def test_non_prime_modulus_refused(modulus):
    with pytest.raises(ValueError, match=f"prime={modulus} is not prime: use a prime below 2\\*\\*31"):
        rank_mod(np.eye(3, dtype=np.int64), modulus)


def test_bad_method_and_shape():
    with pytest.raises(ValueError, match="method must be one of"):
        rank_mod(np.eye(2, dtype=np.int64), 7, method="lapack")
    with pytest.raises(ValueError, match="must be 2-D"):
        rank_mod(np.zeros(3, dtype=np.int64), 7)
    assert rank_mod(np.zeros((0, 4), dtype=np.int64), 7) == 0


def test_echelon_mod_routes_agree():
    rng = np.random.default_rng(5)
    matrix = rng.integers(0, 5, size=(30, 8)) @ rng.integers(0, 5, size=(8, 40))
    blas = echelon_mod(matrix, 65_537)
    flint = echelon_mod(matrix, 65_537, method="flint")
    assert blas.rank == flint.rank == 8 and blas.pivot_columns == flint.pivot_columns


def _torch_cases(device):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    for n, m, r, p in [(120, 90, 40, 65_537), (150, 150, 150, DEFAULT_PRIME), (70, 200, 3, 7)]:
        a = rng.integers(0, p, size=(n, r)) @ rng.integers(0, p, size=(r, m)) % p
        a[5] = 0
        expected = rank_mod(a, p, method="flint")
        for tensor in (torch.as_tensor(a, device=device), torch.as_tensor(a, dtype=torch.float64, device=device)):
            found = echelon_mod(tensor, p)
            assert found.rank == expected
            assert found.pivot_columns == _flint_pivots(a, p)[1]


def test_torch_cpu_rank_equals_flint():
    _torch_cases("cpu")


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


@pytest.mark.skipif(not _cuda_available(), reason="no CUDA device")
def test_torch_cuda_rank_equals_flint():
    _torch_cases("cuda")


@settings(max_examples=40, deadline=None)
@given(matrices(max_side=70), st.sampled_from([(4, 1), (8, 2), (16, 4)]))
def test_many_narrow_panels_equal_flint(case, widths):
    """Panels of 4-16 columns and a tiny work space: many trailing updates, row swaps, head-only panels."""
    import tnrnn.exact.elimination as elimination

    (matrix, p), (panel, base) = case, widths
    saved = elimination.PANEL, elimination.BASE, elimination.SCRATCH_ENTRIES
    elimination.PANEL, elimination.BASE, elimination.SCRATCH_ENTRIES = panel, base, 37  # reductions in row blocks
    try:
        found = echelon_blas(matrix, p)
    finally:
        elimination.PANEL, elimination.BASE, elimination.SCRATCH_ENTRIES = saved
    rank, cols = _flint_pivots(matrix, p)
    assert (found.rank, found.pivot_columns) == (rank, cols)
    minor = np.mod(matrix, p)[list(found.pivot_rows)][:, list(found.pivot_columns)]
    assert rank_mod(minor, p, method="flint") == rank


def test_panel_whose_leading_rows_are_deficient(monkeypatch):
    """The first 2 * PANEL rows miss a pivot that a later row holds: the whole panel is searched."""
    import tnrnn.exact.elimination as elimination

    monkeypatch.setattr(elimination, "PANEL", 4)
    monkeypatch.setattr(elimination, "BASE", 2)
    p = 65_537
    rng = np.random.default_rng(3)
    matrix = rng.integers(0, p, size=(30, 12))
    matrix[:20, 1] = 0  # column 1 is nonzero only below the first 8 rows
    matrix[:20, 6] = matrix[:20, 5]
    rank, cols = _flint_pivots(matrix, p)
    found = echelon_blas(matrix, p)
    assert (found.rank, found.pivot_columns) == (rank, cols) == (12, tuple(range(12)))


def test_overwrite_uses_a_float64_matrix_as_work_space_and_copies_others():
    rng = np.random.default_rng(8)
    p = 65_537
    matrix = (rng.integers(0, p, size=(60, 9)) @ rng.integers(0, p, size=(9, 50))) % p
    expected = rank_mod(matrix, p, method="flint")
    as_int = matrix.copy()
    assert rank_mod(as_int, p, overwrite=True) == expected == 9
    assert (as_int == matrix).all()  # an int64 matrix is copied, never changed
    as_float = matrix.astype(np.float64)
    assert rank_mod(as_float, p) == expected and (as_float == matrix).all()  # no overwrite: kept
    assert rank_mod(as_float, p, overwrite=True) == expected
    assert not (as_float == matrix).all()  # the float64 matrix was the work space


@pytest.mark.parametrize("dtype", ["uint8", "uint32", "uint64", "int8", "int32", "float32"])
def test_every_integer_dtype_is_ranked_like_flint(dtype):
    rng = np.random.default_rng(4)
    matrix = (rng.integers(0, 5, size=(12, 3)) @ rng.integers(0, 5, size=(3, 9))).astype(dtype)
    assert rank_mod(matrix, 7) == rank_mod(matrix.astype(np.int64), 7, method="flint")
    huge = np.array([[2**64 - 1, 1], [1, 1]], dtype=np.uint64)  # 2**64 - 1 = 1 mod 7: rank 1
    assert rank_mod(huge, 7) == rank_mod(huge, 7, method="flint") == 1


def test_read_only_and_strided_inputs_are_copied_without_warnings():
    import warnings

    rows = np.broadcast_to(np.arange(5), (4, 5))  # read-only view: four equal rows
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert rank_mod(rows, 7) == rank_mod(rows.astype(np.float64), 7, overwrite=True) == 1
        assert rank_mod(np.eye(4)[:, ::-1], 7) == 4  # negative strides
    assert (rows[0] == np.arange(5)).all()


@given(rows=st.integers(1, 40), cols=st.integers(1, 40), rank=st.integers(0, 40), seed=st.integers(0, 2**32),
       prime=st.sampled_from([7, 10_007, 8_388_593, 2_147_483_647]))
def test_left_null_space_is_the_whole_left_kernel(rows, cols, rank, seed, prime):
    # c^T A = 0 for every basis row, the rows are independent, and there are n - rank of them
    from tnrnn.exact.modular import left_null_space

    rng = np.random.default_rng(seed)
    rank = min(rank, rows, cols)
    matrix = (rng.integers(0, prime, size=(rows, rank)) @ rng.integers(0, 3, size=(rank, cols))) % prime
    found, basis = left_null_space(matrix, prime)
    assert found == rank_mod(matrix, prime)
    assert basis.shape == (rows - found, rows)
    assert not (np.array(basis, dtype=object) @ np.array(matrix, dtype=object) % prime).any()
    assert rank_mod(basis, prime) == rows - found
