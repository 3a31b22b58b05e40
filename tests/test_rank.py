import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import brute_force_grid
from tnrnn.exact.modular import rank_mod
from tnrnn.rac.bounds import bounds
from tnrnn.rac.circuits import RACSpec, RACWeights
from tnrnn.rac.grid import grid_tensor
from tnrnn.rac.partitions import cut, interleaved, start_end
from tnrnn.ranks.router import generic_rank, separation_rank, spectrum

# Generic Start-End ranks for T = 2, 4, 6, 8, measured exactly (dense grid tensors mod p).
GROUND_TRUTH = {
    (2, 1): [2, 2, 2, 2], (2, 2): [2, 4, 8, 10], (2, 3): [2, 4, 8, 16],
    (3, 1): [3, 3, 3, 3], (3, 2): [3, 9, 27, 45], (3, 3): [3, 9, 27, 81],
}


@pytest.mark.parametrize("m_r, depth", [(k[0], k[1]) for k in GROUND_TRUTH])
def test_ground_truth_table(m_r, depth):
    got = [generic_rank(RACSpec(m_r, m_r, depth), t).rank for t in (2, 4, 6, 8)]
    assert got == GROUND_TRUTH[(m_r, depth)]


@pytest.mark.parametrize("spec, length, expected", [
    (RACSpec(3, 3, 2), 10, 63), (RACSpec(2, 2, 2), 10, 12), (RACSpec(2, 2, 2), 14, 16)])
def test_science_extra_values(spec, length, expected):
    result = generic_rank(spec, length)
    assert result.rank == expected
    assert result.certified == (expected == bounds(spec, length).upper)


def _rank_rational(matrix) -> int:
    """Rank over Q by fraction-free Gaussian elimination on Python ints (independent of flint)."""
    rows = [list(map(int, r)) for r in matrix]
    rank, ncols = 0, len(rows[0]) if rows else 0
    for col in range(ncols):
        pivot = next((i for i in range(rank, len(rows)) if rows[i][col] != 0), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        for i in range(rank + 1, len(rows)):
            if rows[i][col]:
                f, g = rows[i][col], rows[rank][col]
                rows[i] = [g * a - f * b for a, b in zip(rows[i], rows[rank])]
        rank += 1
    return rank


@given(m=st.integers(1, 3), r=st.integers(1, 3), depth=st.integers(1, 3), half=st.integers(1, 2),
       seed=st.integers(0, 1000))
def test_exact_rank_within_bounds_and_matches_rational_brute_force(m, r, depth, half, seed):
    spec, length = RACSpec(m, r, depth), 2 * half
    w = RACWeights.random_mod_p(spec, 1_000_003, seed)
    dense = start_end(length).matricize(brute_force_grid(w, length))
    mod_rank = separation_rank(w, length).rank
    assert mod_rank == _rank_rational(np.mod(dense, 1_000_003).astype(object).tolist()) or \
        mod_rank <= _rank_rational(dense.tolist())
    closed = bounds(spec, length)
    assert mod_rank <= closed.upper
    g = generic_rank(spec, length, draws=2, seed=seed)
    assert closed.lower <= g.lower <= g.rank <= g.upper == closed.upper
    for name in ("lifted_upper", "mincut_upper", "trivial_upper", "copies_upper"):
        value = getattr(closed, name)
        assert value is None or g.rank <= value


@given(seed=st.integers(0, 10_000), depth=st.integers(1, 3), part=st.sampled_from(["start-end", "cut:1", "interleaved"]))
def test_invertible_template_change_preserves_rank(seed, depth, part):
    spec, length, p = RACSpec(3, 2, depth), 4, 1_000_003
    w = RACWeights.random_mod_p(spec, p, seed)
    rng = np.random.default_rng(seed)
    while True:
        f = rng.integers(0, p, size=(3, 3))
        if rank_mod(f, p) == 3:
            break
    from tnrnn.rac.partitions import parse_partition
    partition = parse_partition(part, length)
    base = rank_mod(partition.matricize(grid_tensor(w, length)), p)
    changed = rank_mod(partition.matricize(grid_tensor(w, length, template_matrix=f)), p)
    assert base == changed


def test_singular_template_change_can_only_lower_rank():
    w = RACWeights.random_mod_p(RACSpec(3, 3, 2), 101, 0)
    f = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0]])
    base = separation_rank(w, 4).rank
    lowered = rank_mod(start_end(4).matricize(grid_tensor(w, 4, template_matrix=f)), 101)
    assert lowered < base


def test_other_partitions_respect_bounds():
    spec = RACSpec(2, 2, 1)
    inter = generic_rank(spec, 6, interleaved(6))
    assert inter.upper == min(2**5, 2**3) and inter.rank <= inter.upper
    assert inter.rank > 2  # interleaving breaks the depth-1 R bound of contiguous cuts
    deep = generic_rank(RACSpec(2, 2, 2), 6, cut(6, 2))
    assert deep.rank <= bounds(RACSpec(2, 2, 2), 6, cut(6, 2)).upper


def test_float_rank_reports_spectrum_and_is_never_certified():
    w = RACWeights.gaussian(RACSpec(2, 2, 2), seed=3)
    result = separation_rank(w, 6)
    assert not result.exact and not result.certified and result.kind == "float"
    values = result.spectrum.values
    assert values.shape == (8,) and np.all(np.diff(values) <= 0)
    assert result.rank == np.linalg.matrix_rank(start_end(6).matricize(grid_tensor(w, 6)))


def test_spectrum_diagnostics():
    s = spectrum(np.diag([2.0, 2.0, 0.0, 0.0]))
    assert s.rank == 2 and np.isclose(s.entropy, np.log(2)) and np.isclose(s.effective_rank, 2)
    s = spectrum(np.diag([1.0, 0.5, 1e-9]))
    assert s.log_gap_index == 2 and np.isclose(s.log_gap, np.log10(0.5e9))


def test_float_rank_of_deep_rac_is_unreliable_but_exact_is_not():
    # Deep RACs span a huge dynamic range: the float route underestimates their ranks; the exact route does not.
    spec = RACSpec(2, 2, 3)
    exact = generic_rank(spec, 8)
    floats = separation_rank(RACWeights.gaussian(spec, 0), 8)
    assert exact.certified and exact.rank == 16
    assert floats.rank < exact.rank


def test_generic_rank_bad_input():
    spec = RACSpec(2, 2, 2)
    with pytest.raises(ValueError, match="even length, got length=5"):
        generic_rank(spec, 5)
    with pytest.raises(ValueError, match="prime=91 is not prime"):
        generic_rank(spec, 4, prime=91)
    with pytest.raises(ValueError, match="method must be"):
        generic_rank(spec, 4, method="magic")
    with pytest.raises(ValueError, match="draws must be a positive integer"):
        generic_rank(spec, 4, draws=0)
    with pytest.raises(ValueError, match="over the limit"):
        generic_rank(spec, 8, method="dense", max_bytes=100)


def test_failure_bound_reported_when_not_certified():
    result = generic_rank(RACSpec(2, 2, 2), 4, prime=5, draws=1, seed=1)
    assert result.prime == 5
    if not result.certified:
        assert 0 < result.failure_bound <= 1
    else:
        assert result.failure_bound == 0


@given(m=st.integers(2, 4), r=st.integers(1, 3), depth=st.integers(1, 3), length=st.integers(2, 6),
       data=st.data())
def test_copies_bound_holds_at_every_partition(m, r, depth, length, data):
    from tnrnn.rac.partitions import Partition

    if m**length > 5000:
        return
    order = data.draw(st.permutations(range(length)))
    k = data.draw(st.integers(1, length - 1))
    partition = Partition(tuple(order[:k]), tuple(order[k:]), length)
    spec = RACSpec(m, r, depth)
    result = generic_rank(spec, length, partition, draws=1, seed=k)
    assert result.rank <= bounds(spec, length, partition).copies_upper


def test_last_cut_with_more_templates_than_channels_is_certified():
    # x_T enters linearly through W^{I,1}: rank <= min(M, R) = 3 although M^1 = 4
    result = generic_rank(RACSpec(4, 3, 2), 8, cut(8, 7))
    assert result.rank == 3 and result.certified
