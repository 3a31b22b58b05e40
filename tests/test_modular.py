import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tnrnn.modular import DEFAULT_PRIME, Limbs, matmul_mod, matmul_mod_blas, rank_mod


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
