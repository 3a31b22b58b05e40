"""The scalable exact method: against the dense route, brute force, known ranks and closed forms."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from conftest import brute_force_grid, brute_force_output
from hypothesis import given
from hypothesis import strategies as st

from tnrnn.cli import main
from tnrnn.exact.modular import DEFAULT_PRIME, left_null_space, matmul_mod_blas, rank_mod
from tnrnn.rac.bounds import bounds, state_degrees
from tnrnn.rac.circuits import RACSpec, RACWeights, evaluate
from tnrnn.rac.grid import grid_tensor
from tnrnn.rac.partitions import cut, interleaved, start_end
from tnrnn.ranks.cuts import iter_rank_profile, rank_profile
from tnrnn.ranks.results import LARGE_PRIME, TARGET_FAILURE, BlockRank, draws_failure_bound
from tnrnn.ranks.router import entry_degree, failure_bound, generic_rank
from tnrnn.ranks.routes import _dense_exact
from tnrnn.ranks.scalable import (
    _CutRanker,
    _distinct_random_sequences,
    _lifted_states,
    _one_hot_sequences,
    _run,
    _suffix_coefficients,
    exact_rank_scalable,
    scalable_plan,
)

P = DEFAULT_PRIME


def _dense_length(templates: int) -> int:
    """The longest even T whose grid (M^T entries) stays small enough for a quick dense check."""
    return {2: 8, 3: 6, 4: 6}[templates]


CASES = [(m, r, depth) for m, r, depth in itertools.product((2, 3, 4), (2, 3, 4), (1, 2, 3))]


@pytest.mark.parametrize("templates,hidden,depth", CASES)
def test_scalable_equals_dense_at_every_cut(templates, hidden, depth):
    # Same weights, every cut: the complete block is the whole matricization's rank
    length = _dense_length(templates)
    weights = RACWeights.random_mod_p(RACSpec(templates, hidden, depth), P, seed=templates * 100 + hidden)
    ranker = _CutRanker(weights)
    for k in range(1, length):
        found = ranker.rank(length, k)
        assert found == BlockRank(_dense_exact(weights, cut(length, k)), True), (k, ranker.plans[k])
        assert ranker.plans[k].complete


@pytest.mark.parametrize("templates,hidden,depth", [(2, 2, 2), (3, 2, 2), (4, 2, 1), (4, 4, 3), (2, 3, 3)])
def test_sampled_blocks_never_exceed_dense_and_say_when_they_are_complete(templates, hidden, depth, monkeypatch):
    # Forced to sample (no complete plan): a sampled block's rank is at most the dense rank,
    # and it calls itself complete only when it meets the closed-form upper bound
    import tnrnn.ranks.scalable as scalable

    monkeypatch.setattr(scalable, "_complete_plan", lambda *args, **kwargs: None)
    length = _dense_length(templates)
    weights = RACWeights.random_mod_p(RACSpec(templates, hidden, depth), P, seed=templates * 100 + hidden)
    ranker = _CutRanker(weights)
    sampled = False
    for k in range(1, length):
        found, dense = ranker.rank(length, k), _dense_exact(weights, cut(length, k))
        plan = ranker.plans[k]
        assert found.value <= dense
        assert found.complete == (found.value >= plan.upper or (plan.all_rows and plan.all_cols))
        if found.complete:
            assert found.value == dense
        sampled |= not (plan.all_rows and plan.all_cols)
    assert sampled  # the random sampling of rows or columns is exercised


@pytest.mark.parametrize("prime", [65_537, DEFAULT_PRIME, 2_147_483_647])
@pytest.mark.parametrize("hidden", [2, 3, 5])
def test_tree_arithmetic_is_exact_on_worst_case_residues(prime, hidden):
    # float64 below 2**23, int64 with one integer product (R = 2 at 2**31 - 1) or with every
    # product reduced (R >= 3 there): each must equal Python integers, largest residues included
    from tnrnn.ranks.scalable import _Residues

    rng = np.random.default_rng(hidden)
    rows = rng.integers(0, prime, size=(50, hidden))
    rows[0] = prime - 1
    matrix = rng.integers(0, prime, size=(hidden, 4))
    matrix[:, 0] = prime - 1
    field = _Residues(prime, hidden)
    found = np.mod(field.linear(field.tensor(rows), field.tensor(matrix)).numpy(), prime)
    expected = [[sum(int(a) * int(b) for a, b in zip(row, col)) % prime for col in matrix.T] for row in rows]
    assert found.astype(np.int64).tolist() == expected
    product = field.tensor(rows) * field.tensor(rows)
    assert np.mod(field.reduce(product).numpy(), prime).astype(np.int64).tolist() == [
        [int(a) * int(a) % prime for a in row] for row in rows]


@pytest.mark.parametrize("templates,hidden,depth,length", [(2, 2, 3, 12), (2, 4, 3, 12), (3, 3, 4, 8)])
def test_direct_route_above_2_23_equals_dense_at_every_cut(templates, hidden, depth, length):
    # Primes from 2**23 on: the tail tree runs on int64. R = 2: a whole sum of R products fits
    # (one integer product per linear map); R >= 3: each product is reduced before it is summed
    prime = 2_147_483_647
    assert (hidden * (prime - 1) ** 2 < 2**63) == (hidden == 2)
    weights = RACWeights.random_mod_p(RACSpec(templates, hidden, depth), prime, seed=7)
    ranker = _CutRanker(weights)
    for k in range(1, length):
        assert ranker.rank(length, k) == BlockRank(_dense_exact(weights, cut(length, k))), k


@pytest.mark.parametrize("front", [0, 1, 2])
def test_fronts_times_backs_columns_equal_dense(front, monkeypatch):
    # Depth 2 builds its columns as (every front of a few steps) x (backs); any front length
    # must give the dense rank, with columns sampled (140 of 4^4 suffixes at k=4).
    import tnrnn.ranks.scalable as scalable

    weights = RACWeights.random_mod_p(RACSpec(4, 4, 2), P, seed=8)
    plan = scalable_plan(weights.spec, 8, 4, complete=False)
    assert plan.cols == 140 and not plan.all_cols and scalable._front_length(plan, 4) == 1
    monkeypatch.setattr(scalable, "_front_length", lambda plan, templates: min(front, plan.suffix_length - 1))
    monkeypatch.setattr(scalable, "_complete_plan", lambda *args, **kwargs: None)
    ranker = _CutRanker(weights)
    for k in range(1, 8):
        assert ranker.rank(8, k).value == _dense_exact(weights, cut(8, k)), k


def test_the_rac_is_not_multilinear_in_its_inputs():
    # Why only one-hot inputs are used: for depth 2, y at a mixture of two symbols is not the
    # mixture of the two y's (h^1_t feeds layer 2 at every later step).
    weights = RACWeights.random_mod_p(RACSpec(2, 2, 2), 10007, seed=0)
    mixed = brute_force_output(weights, [0, 0, 0], features=[[1, 1], [1, 0], [0, 1]])
    split = [brute_force_output(weights, [0, 0, 0], features=[first, [1, 0], [0, 1]])
             for first in ([1, 0], [0, 1])]
    assert mixed != sum(split) % 10007


def test_distinct_random_sequences():
    rng = np.random.default_rng(0)
    seqs = _distinct_random_sequences(rng, 15, 2, 4)  # 15 of the 16 sequences
    assert seqs.shape == (15, 4, 2) and len({s.tobytes() for s in seqs}) == 15
    assert set(np.unique(seqs.sum(axis=2))) == {1}


def test_scalable_matches_independent_brute_force_grid():
    weights = RACWeights.random_mod_p(RACSpec(2, 3, 2), 10007, seed=5)
    grid = brute_force_grid(weights, 6).astype(np.int64)
    for k in (2, 3, 4):
        partition = cut(6, k)
        assert exact_rank_scalable(weights, partition) == BlockRank(rank_mod(partition.matricize(grid), 10007))


def test_depth_four_direct_route_equals_dense():
    weights = RACWeights.random_mod_p(RACSpec(2, 2, 4), P, seed=3)
    for k in range(1, 8):
        assert exact_rank_scalable(weights, cut(8, k)) == BlockRank(_dense_exact(weights, cut(8, k)))


def test_end_side_prefix_partition_is_the_transpose():
    # S = the last steps, E = the prefix: a contiguous cut seen from the other side.
    weights = RACWeights.random_mod_p(RACSpec(3, 3, 2), P, seed=2)
    part = cut(6, 2)
    flipped = type(part)(part.end, part.start, 6)
    assert exact_rank_scalable(weights, flipped) == BlockRank(_dense_exact(weights, flipped))


def test_suffix_coefficients_and_lifted_states_reproduce_the_output():
    # <phi(prefix), psi(suffix)> must equal y(prefix . suffix), computed by the brute-force loop.
    rng = np.random.default_rng(0)
    p = 10007
    weights = RACWeights.random_mod_p(RACSpec(3, 3, 2), p, seed=1)
    k, m = 3, 4
    prefixes = rng.integers(0, p, size=(5, k, 3))
    suffixes = rng.integers(0, p, size=(4, m, 3))
    h1, h2 = _run(weights, prefixes)
    phi = _lifted_states(h1, h2, m, p)
    psi = _suffix_coefficients(weights, suffixes)
    block = matmul_mod_blas(phi, np.ascontiguousarray(psi.T), p)
    for i, j in itertools.product(range(5), range(4)):
        sequence = np.concatenate([prefixes[i], suffixes[j]])
        assert block[i, j] == brute_force_output(weights, [0] * (k + m), features=sequence.tolist())


def test_science_table_section_5():
    table = {(2, 2, 1): [2, 2, 2, 2], (2, 2, 2): [2, 4, 8, 10], (2, 2, 3): [2, 4, 8, 16],
             (3, 3, 1): [3, 3, 3, 3], (3, 3, 2): [3, 9, 27, 45], (3, 3, 3): [3, 9, 27, 81]}
    for (m, r, depth), expected in table.items():
        got = [generic_rank(RACSpec(m, r, depth), t, method="scalable").rank for t in (2, 4, 6, 8)]
        assert got == expected, (m, r, depth)


@pytest.mark.parametrize("length", [6, 12, 24, 40])
def test_depth2_m2_r2_is_two_half_plus_one(length):
    result = generic_rank(RACSpec(2, 2, 2), length, method="scalable")
    assert result.rank == 2 * (length // 2 + 1) and result.certified


def test_depth2_m3_r3_length10_is_63():
    result = generic_rank(RACSpec(3, 3, 2), 10, method="scalable")
    assert (result.rank, result.certified) == (63, True)


@pytest.mark.parametrize("templates,hidden,length", [(2, 3, 10), (3, 2, 30), (4, 2, 12), (2, 4, 16)])
def test_depth1_closed_form_is_exact(templates, hidden, length):
    result = generic_rank(RACSpec(templates, hidden, 1), length, method="scalable")
    assert result.rank == min(hidden, templates ** (length // 2)) and result.certified


@pytest.mark.parametrize("templates,hidden,length", [(3, 3, 8), (3, 3, 16), (4, 3, 12), (3, 2, 20), (4, 4, 10)])
def test_depth2_lifted_bound_attained_when_m_at_least_r(templates, hidden, length):
    spec = RACSpec(templates, hidden, 2)
    result = generic_rank(spec, length, method="scalable", draws=1)
    closed = bounds(spec, length)
    assert closed.lifted_upper < closed.trivial_upper  # the lifted bound is the binding one
    assert result.rank == closed.lifted_upper and result.certified


@given(templates=st.integers(1, 3), hidden=st.integers(1, 3), depth=st.integers(1, 3),
       half=st.integers(1, 6), seed=st.integers(0, 10**6))
def test_rank_lies_between_every_bound(templates, hidden, depth, half, seed):
    length = 2 * half
    if depth == 3 and templates**half > 800:
        length = 2 * max(1, half - 2)
    spec = RACSpec(templates, hidden, depth)
    result = generic_rank(spec, length, method="scalable", draws=1, seed=seed)
    closed = bounds(spec, length)
    assert result.lower <= result.upper
    assert result.rank <= result.upper
    for value in (closed.trivial_upper, closed.lifted_upper, closed.mincut_upper, closed.shallow):
        if value is not None:
            assert result.rank <= value
    if closed.depth2_lower is not None:
        assert result.lower >= min(closed.depth2_lower, closed.upper)
    assert result.certified == (result.lower == result.upper)
    if not result.certified:
        assert 0 < result.failure_bound <= 1


@given(seed=st.integers(0, 10**6), k=st.integers(1, 7), depth=st.integers(1, 3), sample=st.integers(0, 99))
def test_scalable_never_exceeds_dense_at_the_same_weights(seed, k, depth, sample):
    # small p: rank drops happen, and the sampled block must still never exceed [A]
    weights = RACWeights.random_mod_p(RACSpec(2, 3, depth), 101, seed=seed)
    partition = cut(8, k)
    assert exact_rank_scalable(weights, partition, seed=sample).value <= _dense_exact(weights, partition)


def test_profile_lists_and_single_cut_agreement():
    spec = RACSpec(3, 3, 2)
    profile = rank_profile(spec, 12, method="scalable", progress=False)
    assert profile.cuts == list(range(1, 12)) and len(profile.ranks) == 11
    for k, result in zip(profile.cuts, profile.results):
        single = generic_rank(spec, 12, start_end(12) if k == 6 else cut(12, k), method="scalable")
        assert (result.rank, result.lower, result.upper, result.certified) == (
            single.rank, single.lower, single.upper, single.certified)
    assert profile.ranks == rank_profile(spec, 12, method="dense", progress=False).ranks
    assert profile.argmax == 5 and max(profile.ranks) == 108  # not the middle cut (84)


def test_profile_odd_length_and_depth3():
    profile = rank_profile(RACSpec(2, 2, 3), 7, progress=False)
    dense = rank_profile(RACSpec(2, 2, 3), 7, method="dense", progress=False)
    assert profile.ranks == dense.ranks and len(profile.cuts) == 6


def test_entry_degree_is_the_homogeneous_degree_of_y():
    # y(c W) = c^deg y(W) mod p: scaling every weight by c checks the degree exactly.
    p, c = 10007, 3
    for depth, length in [(1, 5), (2, 4), (3, 3)]:
        spec = RACSpec(2, 2, depth)
        weights = RACWeights.random_mod_p(spec, p, seed=depth)
        scaled = RACWeights(spec, tuple(c * w for w in weights.input), tuple(c * w for w in weights.hidden),
                            c * weights.output, modulus=p)
        seq = [[0, 1, 1, 0, 1][:length]]
        y, y_scaled = int(evaluate(weights, seq)[0]), int(evaluate(scaled, seq)[0])
        assert y != 0 and y_scaled == y * pow(c, entry_degree(spec, length), p) % p


def test_failure_bound_uses_the_entry_degree():
    spec = RACSpec(3, 3, 2)
    assert failure_bound(1683, spec, 64, P, 1) == 1683 * entry_degree(spec, 64) / P
    assert failure_bound(1683, spec, 64, P, 2) == (1683 * entry_degree(spec, 64) / P) ** 2
    result = generic_rank(RACSpec(2, 3, 2), 20, method="scalable", draws=2, prime=P)  # 195 in [195, 198]
    assert not result.certified and result.failure_bound == failure_bound(result.upper, RACSpec(2, 3, 2),
                                                                          20, P, 2)
    assert result.primes == [P, P] and result.kind == "interval"


def test_automatic_prime_redraws_mod_a_large_prime_until_the_bound_is_small():
    # 195 in [195, 198] is not certified: two draws mod 8,388,593 bound the error by 1e-4 only,
    # so the automatic choice adds draws mod 2**31 - 1 until the bound is below 1e-6
    spec = RACSpec(2, 3, 2)
    result = generic_rank(spec, 20, method="scalable", draws=2)
    assert result.primes[:2] == [P, P] and set(result.primes[2:]) == {LARGE_PRIME}
    assert result.failure_bound == draws_failure_bound(198, spec, 20, result.primes) <= TARGET_FAILURE
    assert failure_bound(198, spec, 20, P, 2) > TARGET_FAILURE
    assert (result.rank, result.kind) == (195, "interval")


def test_plan_sizes():
    plan = scalable_plan(RACSpec(4, 4, 2), 32, 16)
    assert (plan.upper, plan.lifted_dimension, plan.route, plan.rows) == (3876, 3876, "lifted", 3876)
    small = scalable_plan(RACSpec(3, 3, 2), 32, 3)
    assert small.rows == 27 and small.all_rows and not small.all_cols
    assert scalable_plan(RACSpec(2, 2, 3), 20, 10).route == "direct"
    assert scalable_plan(RACSpec(3, 3, 2), 32, 30).all_cols  # 9 suffixes, all used


def test_bad_input():
    weights = RACWeights.random_mod_p(RACSpec(3, 3, 2), P, seed=0)
    with pytest.raises(ValueError, match="contiguous cut.*interleaved"):
        exact_rank_scalable(weights, interleaved(6))
    with pytest.raises(ValueError, match="modular"):
        exact_rank_scalable(RACWeights.gaussian(RACSpec(3, 3, 2), seed=0), start_end(6))
    with pytest.raises(ValueError, match=r"1,683 x 1,683 basis block.*GiB.*over the limit"):
        exact_rank_scalable(RACWeights.random_mod_p(RACSpec(3, 3, 2), P, seed=0), start_end(64), max_bytes=10**6)
    with pytest.raises(ValueError, match="can be as large as"):
        generic_rank(RACSpec(4, 4, 2), 400, method="scalable")
    with pytest.raises(ValueError, match=r"cuts must be .* in \[1, 7\]"):
        rank_profile(RACSpec(2, 2, 2), 8, cuts=[0, 3], progress=False)
    with pytest.raises(ValueError, match="draws must be"):
        rank_profile(RACSpec(2, 2, 2), 8, draws=0, progress=False)
    with pytest.raises(ValueError, match="method must be"):
        rank_profile(RACSpec(2, 2, 2), 8, method="magic", progress=False)


def test_cli_profile_json_contract(capsys, tmp_path):
    plot = tmp_path / "profile.png"
    assert main(["rank", "-M", "3", "-R", "3", "-L", "2", "-T", "10", "--profile", "--json",
                 "--plot", str(plot)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["cuts"] == list(range(1, 10))
    assert len(out["ranks"]) == len(out["lower"]) == len(out["upper"]) == len(out["certified"]) == 9
    assert out["ranks"][4] == 63 and all(out["certified"]) and out["complete"] is True
    assert plot.stat().st_size > 1000


def test_cli_profile_interrupted_keeps_finished_cuts(capsys, monkeypatch):
    import tnrnn.ranks.cuts as profile

    real = profile.iter_rank_profile

    def interrupted(*args, **kwargs):
        for i, item in enumerate(real(*args, **kwargs)):
            if i == 2:
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(profile, "iter_rank_profile", interrupted)
    assert main(["rank", "-M", "2", "-R", "2", "-L", "2", "-T", "8", "--profile", "--json"]) == 130
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["cuts"] == [1, 2] and out["complete"] is False
    assert "interrupted" in captured.err


def test_cli_bad_input_exits_2(capsys):
    assert main(["rank", "-M", "4", "-R", "4", "-L", "2", "-T", "400", "--method", "scalable"]) == 2
    assert "basis block" in capsys.readouterr().err
    assert main(["rank", "-M", "2", "-R", "2", "-L", "2", "-T", "8", "--cuts", "3"]) == 2
    assert main(["rank", "-M", "2", "-R", "2", "-L", "2", "-T", "8", "--profile", "--partition", "cut:3"]) == 2


def test_iter_profile_yields_each_cut_once():
    seen = [k for k, _ in iter_rank_profile(RACSpec(2, 3, 2), 8, draws=2, progress=False)]
    assert sorted(seen) == list(range(1, 8)) and len(seen) == 7


@given(shape=st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 4), st.integers(0, 4)),
       seed=st.integers(0, 2**32))
def test_submatrix_of_a_block_matrix_equals_indexing_the_assembled_one(shape, seed):
    from tnrnn.ranks.scalable import _submatrix

    a, b, c, d = shape  # block rows of heights a, c and block columns of widths b, d
    rng = np.random.default_rng(seed)
    pieces = [[rng.random((a, b)), rng.random((a, d))], [rng.random((c, b)), rng.random((c, d))]]
    rows = sorted(rng.choice(a + c, size=rng.integers(0, a + c + 1), replace=False).tolist())
    cols = sorted(rng.choice(b + d, size=rng.integers(0, b + d + 1), replace=False).tolist())
    expected = np.block(pieces)[np.ix_(np.asarray(rows, dtype=np.intp), np.asarray(cols, dtype=np.intp))]
    assert (_submatrix(pieces, rows, cols) == expected).all()
    assert _submatrix(pieces, rows, cols).shape == (len(rows), len(cols))


def _deficient_cell():
    """M=3, R=2, L=3, T=12 at its Start-End cut: rank 304 of 729 rows, lifted bound 308."""
    weights = RACWeights.random_mod_p(RACSpec(3, 2, 3), P, seed=11)
    matrix = start_end(12).matricize(grid_tensor(weights, 12)).astype(np.int64)
    return weights, matrix, scalable_plan(weights.spec, 12, 6), _one_hot_sequences(3, 6)


def test_closure_certificate_accepts_exactly_the_combinations_that_vanish_on_every_suffix():
    # the true left null space of [A] (all 729 suffixes) passes; combinations that vanish only on
    # 40 suffixes, random ones, or the true ones plus one observable row fail
    weights, matrix, plan, rows = _deficient_cell()
    ranker = _CutRanker(weights)
    rank, null = left_null_space(matrix, P)
    assert rank == 304 and null.shape == (729 - 304, 729)
    assert ranker._vanishes(plan, rows, null)
    _, partial = left_null_space(matrix[:, :40], P)
    assert not ranker._vanishes(plan, rows, partial)
    assert not ranker._vanishes(plan, rows, np.random.default_rng(0).integers(0, P, size=(3, 729)))
    assert not ranker._vanishes(plan, rows, np.vstack([null, partial[:1]]))
    assert ranker._vanishes(plan, rows, null[:0])


def test_complete_route_uses_a_row_basis_and_sampled_columns_and_streams_when_the_certificate_fails(monkeypatch):
    import tnrnn.ranks.scalable as scalable

    weights, matrix, plan, _ = _deficient_cell()
    assert plan.basis_rows and plan.rows == 308 and plan.cols == 308 + 64 and plan.complete and not plan.all_cols
    assert _CutRanker(weights).rank(12, 6) == BlockRank(304, True)
    streamed = []
    real = scalable._CutRanker._streamed
    monkeypatch.setattr(scalable._CutRanker, "_vanishes", lambda *args: False)
    monkeypatch.setattr(scalable._CutRanker, "_streamed", lambda *args: streamed.append(1) or real(*args))
    assert _CutRanker(weights).rank(12, 6) == BlockRank(304, True) and streamed == [1]


def test_lifted_combination_is_the_combination_of_lifted_rows():
    from tnrnn.ranks.scalable import _lift, _lifted_combination

    rng = np.random.default_rng(4)
    for prime in (P, 2_147_483_647):
        states = [rng.integers(0, prime, size=(30, 3)) for _ in range(3)]
        coeffs = rng.integers(0, prime, size=30)
        degrees = state_degrees(3, 4)
        lifted = np.array(_lift(states, degrees, prime), dtype=object)
        expected = (coeffs.astype(object) @ lifted) % prime
        assert _lifted_combination(states, degrees, coeffs, prime).tolist() == expected.tolist()
