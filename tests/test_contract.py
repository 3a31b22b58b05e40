import dataclasses
import json
import time

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import brute_force_grid
from tnrnn.cli import main
from tnrnn.exact.modular import rank_mod
from tnrnn.rac.circuits import RACSpec, RACWeights
from tnrnn.rac.grid import grid_memory_bytes, grid_tensor
from tnrnn.rac.partitions import Partition, cut, interleaved, parse_partition, start_end
from tnrnn.ranks.network import exact_rank_tn, shallow_rank_exact, shallow_singular_values, spectrum_tn
from tnrnn.ranks.router import separation_rank, spectrum
from tnrnn.tn.contract import OPTIMIZERS, _contract_mod, contract, dense_grid, plan_contraction
from tnrnn.tn.network import NetworkTooLargeError

P = 2_147_483_647
PARTITIONS = ["start-end", "cut:1", "cut:3", "interleaved", "S:0,3/E:1,2"]


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("part", PARTITIONS)
def test_exact_matrix_equals_brute_force(depth, part):
    spec, length = RACSpec(2, 2, depth), 4
    w = RACWeights.random_mod_p(spec, P, seed=depth)
    partition = parse_partition(part, length)
    expected = partition.matricize(brute_force_grid(w, length).astype(np.int64))
    got = contract(w, length, partition, output="matrix", optimizer="greedy")
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("depth, templates, length", [(1, 3, 5), (2, 3, 4), (3, 2, 5)])
def test_float_grid_equals_brute_force(depth, templates, length):
    w = RACWeights.gaussian(RACSpec(templates, 3, depth), seed=7)
    got = contract(w, length, optimizer="greedy")
    np.testing.assert_allclose(got, brute_force_grid(w, length).astype(float), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("part", ["start-end", "cut:1", "cut:5", "interleaved", "S:0,1,5/E:2,3,4"])
def test_tn_rank_equals_dense_rank_exact(depth, part):
    spec, length = RACSpec(2, 2, depth), 6
    partition = parse_partition(part, length)
    for seed in range(2):
        w = RACWeights.random_mod_p(spec, 1_000_003, seed)
        dense = separation_rank(w, length, partition, method="dense").rank
        assert exact_rank_tn(w, partition) == dense
        assert separation_rank(w, length, partition, method="tn").rank == dense


@pytest.mark.parametrize("depth", [1, 2])
def test_tn_float_spectrum_equals_dense(depth):
    w = RACWeights.gaussian(RACSpec(3, 3, depth), seed=3)
    for part in ["start-end", "cut:2", "interleaved"]:
        tn = separation_rank(w, 6, part, method="tn")
        dense = separation_rank(w, 6, part, method="dense")
        assert not tn.exact and tn.method == "float-tn" and tn.rank == dense.rank
        k = tn.spectrum.values.size
        np.testing.assert_allclose(tn.spectrum.values, dense.spectrum.values[:k],
                                   rtol=1e-8, atol=1e-12 * dense.spectrum.values[0])
        assert np.all(dense.spectrum.values[k:] <= 1e-10 * dense.spectrum.values[0])


def _random_connected_path(operand_inds, rng):
    """A random pairwise path that only joins tensors sharing an index (no outer products)."""
    inds = [set(i) for i in operand_inds]
    path = []
    while len(inds) > 1:
        pairs = [(i, j) for i in range(len(inds)) for j in range(i + 1, len(inds)) if inds[i] & inds[j]]
        i, j = pairs[rng.integers(len(pairs))]
        path.append((i, j))
        joined = inds[i] | inds[j]
        del inds[j], inds[i]
        inds.append(joined)
    return tuple(path)


@given(seed=st.integers(0, 2**31 - 1), depth=st.integers(1, 3), optimizer=st.sampled_from(
    ["greedy", "auto", "cotengra", "random"]), part=st.sampled_from(PARTITIONS),
    templates=st.sampled_from([1, 2, 2]), hidden=st.sampled_from([1, 2, 2]))
def test_contraction_order_does_not_change_results(seed, depth, optimizer, part, templates, hidden):
    spec, length = RACSpec(templates, hidden, depth), 4
    partition = parse_partition(part, length)
    plan = plan_contraction(spec, length, partition, optimizer="greedy" if optimizer == "random" else optimizer)
    if optimizer == "random":
        plan = dataclasses.replace(plan, path=_random_connected_path(plan.operand_inds, np.random.default_rng(seed)),
                                   _expressions={})
    w = RACWeights.random_mod_p(spec, 65_521, seed % 1000)
    expected = partition.matricize(brute_force_grid(w, length).astype(np.int64))
    got = _contract_mod(plan, plan.unit_free_operands(plan.operands(w)), 65_521).reshape(expected.shape)
    np.testing.assert_array_equal(got, expected)
    wf = RACWeights.gaussian(spec, seed % 1000)
    np.testing.assert_allclose(plan.expression()(*plan.unit_free_operands(plan.operands(wf))).reshape(expected.shape),
                               partition.matricize(grid_tensor(wf, length)), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("spec, length", [(RACSpec(2, 1, 2), 12), (RACSpec(2, 1, 3), 10), (RACSpec(1, 2, 2), 8)])
def test_unit_dimensions_do_not_count_against_the_64_axes_of_an_array(spec, length):
    # at R = 1 the intermediates of a depth-2 network of T = 12 would carry 65 axes of size 1
    plan = plan_contraction(spec, length, "start-end")
    assert all(plan.sizes[n] > 1 for inds in plan.unit_free_inds[0] for n in inds)
    w = RACWeights.random_mod_p(spec, 101, seed=1)
    assert (contract(w, length) == grid_tensor(w, length)).all()
    wf = RACWeights.gaussian(spec, seed=1)
    np.testing.assert_allclose(contract(wf, length), grid_tensor(wf, length), rtol=1e-12)
    from tnrnn.ranks.router import generic_rank

    assert generic_rank(spec, length, method="tn").rank == generic_rank(spec, length, method="dense").rank


def test_plans_are_cached_and_reused_across_weights():
    spec = RACSpec(2, 3, 2)
    plan = plan_contraction(spec, 6, "start-end", optimizer="greedy")
    assert plan_contraction(spec, 6, start_end(6), optimizer="greedy") is plan
    assert plan.expression() is plan.expression()
    other = plan_contraction(spec, 6, "interleaved", optimizer="greedy")
    assert other.output_inds == ("x0", "x2", "x4", "x1", "x3", "x5")
    for seed in range(3):  # one plan, many weight sets
        w = RACWeights.gaussian(spec, seed)
        np.testing.assert_allclose(contract(w, 6, "start-end", output="matrix", optimizer="greedy"),
                                   start_end(6).matricize(grid_tensor(w, 6)), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_shallow_fast_path_equals_dense(seed):
    rng = np.random.default_rng(seed)
    m, r = int(rng.integers(1, 4)), int(rng.integers(1, 5))
    prime = [5, 13, 101, P][seed % 4]  # tiny primes: isotropic vectors make Gram matrices singular
    w = RACWeights.random_mod_p(RACSpec(m, r, 1), prime, seed)
    length = 6 if m < 3 else 5
    grid = grid_tensor(w, length)
    for k in range(1, length):
        expected = rank_mod(cut(length, k).matricize(grid), prime)
        assert shallow_rank_exact(w, k, length - k) == expected
        assert exact_rank_tn(w, Partition(tuple(range(k, length)), tuple(range(k)), length)) == expected


def test_shallow_basis_route_survives_isotropic_gram():
    # over F_5, (1, 2) . (1, 2) = 5 = 0: the Gram matrix of the states {e1 + 2 e2} is zero
    # although [A] has rank 1
    w = RACWeights(RACSpec(1, 2, 1), (np.array([[1], [2]]),), (np.eye(2, dtype=np.int64),),
                   np.array([1, 2]), modulus=5)
    grid = grid_tensor(w, 2)
    assert int(grid.reshape(1, 1)[0, 0]) == (1 * 1 * 1 + 2 * 2 * 2) % 5 == 4
    assert shallow_rank_exact(w, 1, 1) == 1


def test_shallow_rank_at_length_1000_is_fast():
    w = RACWeights.random_mod_p(RACSpec(3, 3, 1), P, 0)
    start = time.perf_counter()
    assert exact_rank_tn(w, start_end(1000)) == 3
    assert time.perf_counter() - start < 1.0
    values = shallow_singular_values(RACWeights.orthogonal(RACSpec(3, 3, 1), 0), 500, 500)
    assert values.shape == (3,) and np.all(np.isfinite(values)) and values[0] > 0


def test_shallow_float_spectrum_matches_svd():
    w = RACWeights.gaussian(RACSpec(2, 3, 1), seed=4)
    grid = grid_tensor(w, 8)
    for k in (1, 3, 4, 7):
        exact = np.linalg.svd(cut(8, k).matricize(grid), compute_uv=False)
        got = shallow_singular_values(w, k, 8 - k)
        n = min(got.size, exact.size)
        np.testing.assert_allclose(got[:n], exact[:n], rtol=1e-8)
        s, upper = spectrum_tn(w, cut(8, k))
        assert s.rank == spectrum(cut(8, k).matricize(grid)).rank and upper == min(2**k, 2 ** (8 - k))
        reverse = Partition(tuple(range(k, 8)), tuple(range(k)), 8)  # S is the suffix: same cut
        s_rev, _ = spectrum_tn(w, reverse)
        np.testing.assert_allclose(s_rev.values[:n], exact[:n], rtol=1e-8)


def test_cli_rank_method_tn():
    start = time.perf_counter()
    assert main(["rank", "--method", "tn", "-M", "3", "-R", "3", "-L", "1", "-T", "1000", "--json"]) == 0
    assert time.perf_counter() - start < 2.0


def test_cli_rank_method_tn_agrees_with_dense(capsys):
    out = {}
    for method in ("tn", "dense"):
        assert main(["rank", "--method", method, "-M", "2", "-R", "2", "-L", "3", "-T", "6", "--json"]) == 0
        out[method] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["tn"]["rank"] == out["dense"]["rank"] == 8 and out["tn"]["method"] == "tn"


def test_torch_backend_equals_numpy():
    w = RACWeights.gaussian(RACSpec(2, 3, 2), seed=0)
    got = contract(w, 5, "cut:2", output="matrix", backend="torch", optimizer="greedy")
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), contract(w, 5, "cut:2", output="matrix", optimizer="greedy"),
                               rtol=1e-12)
    wm = RACWeights.random_mod_p(RACSpec(2, 3, 2), P, 0)
    exact = contract(wm, 4, backend="torch", optimizer="greedy")
    assert exact.dtype == torch.int64
    np.testing.assert_array_equal(exact.numpy(), grid_tensor(wm, 4))
    np.testing.assert_allclose(dense_grid(w, 7, backend="torch").numpy(), grid_tensor(w, 7), rtol=1e-12)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_backend_equals_numpy():
    w = RACWeights.gaussian(RACSpec(2, 3, 2), seed=0)
    got = contract(w, 6, backend="torch", device="cuda", optimizer="greedy")
    assert got.device.type == "cuda"
    np.testing.assert_allclose(got.cpu().numpy(), grid_tensor(w, 6), rtol=1e-10)
    np.testing.assert_allclose(dense_grid(w, 10, backend="torch", device="cuda").cpu().numpy(),
                               grid_tensor(w, 10), rtol=1e-10)


@pytest.mark.parametrize("spec, length", [(RACSpec(2, 1, 1), 7), (RACSpec(3, 2, 2), 6), (RACSpec(2, 3, 3), 9)])
def test_chunked_grid_equals_brute_force(spec, length):
    wm = RACWeights.random_mod_p(spec, P, 3)
    np.testing.assert_array_equal(grid_tensor(wm, length), brute_force_grid(wm, length).astype(np.int64))


def test_grid_peak_memory_is_about_the_output():
    import tracemalloc

    w = RACWeights.gaussian(RACSpec(2, 3, 2), seed=0)
    output_bytes = 8 * 2**16
    tracemalloc.start()
    grid_tensor(w, 16)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak <= 2 * output_bytes
    assert grid_memory_bytes(2, 3, 2, 16) <= 2 * output_bytes


def test_bad_input_is_rejected_clearly():
    w = RACWeights.random_mod_p(RACSpec(2, 2, 2), P, 0)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        plan_contraction(w.spec, 4, optimizer="fastest")
    with pytest.raises(ValueError, match="output must be 'grid' or 'matrix'"):
        contract(w, 4, output="vector")
    with pytest.raises(NetworkTooLargeError, match=r"intermediate of [\d,]+ entries.*over the limit"):
        contract(w, 6, max_bytes=1000, optimizer="greedy")
    with pytest.raises(NetworkTooLargeError, match=r"M\^T = 1.15e\+18 entries"):
        exact_rank_tn(RACWeights.random_mod_p(RACSpec(2, 2, 5), P, 0), start_end(60))
    with pytest.raises(NetworkTooLargeError, match=r"[\d,]+ tensors"):
        contract(RACWeights.random_mod_p(RACSpec(2, 2, 5), P, 0), 60)
    with pytest.raises(ValueError, match="int64 matrix products.*device='meta'"):
        contract(w, 4, backend="torch", device="meta", optimizer="greedy")
    with pytest.raises(ValueError, match="needs modular weights"):
        exact_rank_tn(RACWeights.gaussian(w.spec, 0), start_end(4))
    with pytest.raises(ValueError, match="is not prime"):
        RACWeights.random_mod_p(w.spec, 2**20)
    with pytest.raises(ValueError, match="too large"):
        RACWeights.random_mod_p(w.spec, 2**61 - 1)
    with pytest.raises(ValueError, match="prime=91 is not prime"):
        _contract_mod(plan_contraction(w.spec, 4, optimizer="greedy"), plan_contraction(
            w.spec, 4, optimizer="greedy").operands(w), 91)
    assert set(OPTIMIZERS) >= {"auto", "greedy", "cotengra"}
    assert interleaved(4).start == (0, 2)


def test_pairwise_mod_contraction_blocks_long_inner_dimensions():
    from tnrnn.tn.contract import _pair_mod

    rng = np.random.default_rng(0)
    n = 70_000  # above the 2^16 limit of one split matmul: processed in blocks
    a = rng.integers(0, P, size=(2, n), dtype=np.int64)
    b = rng.integers(0, P, size=(n, 3), dtype=np.int64)
    got, inds = _pair_mod(a, ["i", "k"], b, ["k", "j"], {"i", "j"}, {"i": 2, "k": n, "j": 3}, P)
    expected = [[sum(int(x) * int(y) for x, y in zip(a[i], b[:, j])) % P for j in range(3)] for i in range(2)]
    assert inds == ["i", "j"] and got.tolist() == expected
