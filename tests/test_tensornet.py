import itertools
import time
from math import comb

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import brute_force_grid
from tnrnn.exact.modular import rank_mod
from tnrnn.rac.bounds import mincut_upper
from tnrnn.rac.circuits import RACSpec, RACWeights
from tnrnn.rac.partitions import Partition, cut, interleaved, start_end
from tnrnn.tn.network import (
    NetworkTooLargeError,
    check_network_size,
    mincut_bound,
    network_structure,
    predicted_tensors,
    tensor_network,
    to_networkx,
)


@pytest.mark.parametrize("depth, length", [(1, 4), (2, 4), (3, 3), (2, 5)])
def test_quimb_contraction_equals_brute_force(depth, length):
    w = RACWeights.gaussian(RACSpec(2, 3, depth), seed=depth * 10 + length)
    tn = tensor_network(w, length)
    got = tn.contract(output_inds=[f"x{t}" for t in range(length)], optimize="greedy").data
    np.testing.assert_allclose(got, brute_force_grid(w, length).astype(float), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("depth, length", [(1, 6), (2, 5), (3, 5), (4, 4)])
def test_input_copies_and_tensor_count(depth, length):
    spec = RACSpec(2, 2, depth)
    tn = tensor_network(RACWeights.gaussian(spec, seed=0), length)
    assert tn.num_tensors == predicted_tensors(spec, length)
    for t in range(length):  # x_j (1-based j = t+1) appears C(T-j+L-1, L-1) times
        assert len(tn.ind_map[f"x{t}"]) == comb(length - (t + 1) + depth - 1, depth - 1)
    assert sum(len(tn.ind_map[f"x{t}"]) for t in range(length)) == comb(length + depth - 1, depth)
    # every internal index joins at most three tensors: the two producers and one consumer
    for name, tids in tn.ind_map.items():
        if not name.startswith("x"):
            assert 2 <= len(tids) <= 3


def test_tags_select_time_layer_copy_and_role():
    spec = RACSpec(2, 3, 2)
    tn = tensor_network(RACWeights.gaussian(spec, seed=1), 4)
    outputs = tn.select_tensors("OUTPUT")
    assert len(outputs) == 1 and outputs[0].shape == (3,)
    t3_l2 = tn.select_tensors(["T3", "L2"], which="all")
    roles = {next(t for t in x.tags if t in ("INPUT", "HIDDEN", "OUTPUT")) for x in t3_l2}
    assert roles == {"INPUT", "HIDDEN", "OUTPUT"}
    layer1_at_0 = tn.select_tensors(["T0", "L1", "INPUT"], which="all")
    assert len(layer1_at_0) == 4  # h^1_0 is used by the 4 copies of the chain under layer 2
    assert {t for x in layer1_at_0 for t in x.tags if t.startswith("C")} == {"C0", "C1", "C2", "C3"}
    assert all(x.inds[1] == "x0" for x in layer1_at_0)
    depth1 = tensor_network(RACWeights.gaussian(RACSpec(2, 3, 1), seed=1), 5)
    assert all("C0" in x.tags for x in depth1)  # depth 1 is a tensor train: no duplication


def test_modular_network_holds_residues():
    w = RACWeights.random_mod_p(RACSpec(2, 2, 2), 101, seed=0)
    tn = tensor_network(w, 3)
    assert all(x.dtype == np.int64 and int(x.data.max()) < 101 for x in tn)


@pytest.mark.parametrize("length", [2, 4, 6, 8, 10])
def test_mincut_depth1_equals_closed_form(length):
    spec = RACSpec(2, 3, 1)
    structure = network_structure(spec, length)
    for part in [start_end(length), cut(length, 1), cut(length, length - 1)]:
        assert mincut_bound(structure, part).value == mincut_upper(spec, part) == 3


@pytest.mark.parametrize("length", [4, 6, 8, 10])
@pytest.mark.parametrize("hidden", [2, 3])
def test_mincut_depth2_start_end_is_r_to_half_plus_one(length, hidden):
    spec = RACSpec(2, hidden, 2)
    result = mincut_bound(network_structure(spec, length), start_end(length))
    assert result.value == hidden ** (length // 2 + 1) == mincut_upper(spec, start_end(length))
    assert len(result.cut_inds) == length // 2 + 1


def test_mincut_depth2_other_cuts():
    spec = RACSpec(2, 3, 2)
    structure = network_structure(spec, 8)
    for k in range(1, 7):  # suffix of length m >= 2: the closed form R^(m+1)
        assert mincut_bound(structure, cut(8, k)).value == mincut_upper(spec, cut(8, k))
    # suffix of length 1: cutting the single index h^1_{T-1} isolates x_{T-1}, so R < R^2
    assert mincut_bound(structure, cut(8, 7)).value == 3 < mincut_upper(spec, cut(8, 7)) == 9


def test_mincut_via_quimb_network_equals_via_structure_and_networkx_view():
    spec = RACSpec(2, 3, 2)
    tn = tensor_network(RACWeights.gaussian(spec, seed=0), 6)
    assert mincut_bound(tn, "start-end").value == mincut_bound(network_structure(spec, 6), "start-end").value
    graph = to_networkx(tn)
    tensors = [n for n, d in graph.nodes(data=True) if d["kind"] == "tensor"]
    assert len(tensors) == tn.num_tensors
    open_nodes = [n for n, d in graph.nodes(data=True) if d["kind"] == "index" and d["open"]]
    assert sorted(name for _, name in open_nodes) == sorted(f"x{t}" for t in range(6))
    assert all(d["dim"] in (2, 3) and d["capacity"] == pytest.approx(np.log(d["dim"]))
               for _, _, d in graph.edges(data=True))


@given(seed=st.integers(0, 10_000), depth=st.integers(1, 3), length=st.integers(2, 5),
       mask=st.integers(1, 2**5 - 2))
def test_mincut_bounds_the_exact_rank_for_any_partition(seed, depth, length, mask):
    start = tuple(t for t in range(length) if mask >> t & 1)
    end = tuple(t for t in range(length) if not mask >> t & 1)
    if not start or not end:
        return
    part = Partition(start, end, length)
    spec = RACSpec(2, 2, depth)
    w = RACWeights.random_mod_p(spec, 1_000_003, seed)
    rank = rank_mod(part.matricize(brute_force_grid(w, length).astype(np.int64)), 1_000_003)
    bound = mincut_bound(network_structure(spec, length), part)
    assert rank <= bound.value
    closed = mincut_upper(spec, part)
    assert closed is None or bound.value <= closed  # networkx never finds a larger cut


def test_mincut_depth3_reported_against_closed_form():
    """Depth 3 (measured): the min-cut is below the closed form R^(sum of state degrees)."""
    spec = RACSpec(2, 3, 3)
    found = {t: mincut_bound(network_structure(spec, t), start_end(t)).value for t in (4, 6, 8)}
    closed = {t: mincut_upper(spec, start_end(t)) for t in (4, 6, 8)}
    assert found == {4: 3**4, 6: 3**9, 8: 3**14}
    assert closed == {4: 3**6, 6: 3**10, 8: 3**15}


def test_depth1_interleaved_mincut_is_smaller_than_boundary_count():
    # each cut hyperedge h_t isolates the input tensor of step t from both neighbours
    spec = RACSpec(2, 3, 1)
    assert mincut_bound(network_structure(spec, 8), interleaved(8)).value == 3**4
    assert mincut_upper(spec, interleaved(8)) == 3**7


def test_size_guard_refuses_before_building():
    spec = RACSpec(2, 2, 4)
    start = time.perf_counter()
    with pytest.raises(NetworkTooLargeError, match=r"has [\d,]+ tensors .*max_tensors=200,000.*M\^T"):
        tensor_network(RACWeights.gaussian(spec, seed=0), 200)
    assert time.perf_counter() - start < 1.0
    with pytest.raises(ValueError, match="max_tensors=10"):
        check_network_size(RACSpec(2, 2, 2), 6, max_tensors=10)
    with pytest.raises(ValueError, match="length must be a positive integer"):
        network_structure(spec, 0)
    assert check_network_size(RACSpec(2, 2, 1), 1000) == 2000


def test_structure_is_cached_and_weight_independent():
    spec = RACSpec(3, 2, 2)
    assert network_structure(spec, 5) is network_structure(spec, 5)
    a = tensor_network(RACWeights.gaussian(spec, seed=0), 5)
    b = tensor_network(RACWeights.gaussian(spec, seed=1), 5)
    assert [x.inds for x in a] == [x.inds for x in b]
    assert list(itertools.chain(*(x.tags for x in a))) == list(itertools.chain(*(x.tags for x in b)))


# quimb-native use: documented output indices, input vectors, no-hyperedge networks, a real MPS


@pytest.mark.parametrize("depth, length", [(1, 5), (2, 6), (3, 4)])
def test_grid_tensor_from_one_documented_quimb_call(depth, length):
    from tnrnn.tn.network import output_inds

    w = RACWeights.gaussian(RACSpec(2, 2, depth), seed=depth)
    tn = tensor_network(w, length)
    got = tn.contract(output_inds=output_inds(length)).data
    np.testing.assert_allclose(got, brute_force_grid(w, length).astype(float), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("depth, length", [(1, 4), (2, 6), (3, 4)])
def test_without_hyperedges_quimb_sees_the_inputs_as_the_open_indices(depth, length):
    from tnrnn.tn.network import output_inds

    w = RACWeights.gaussian(RACSpec(2, 3, depth), seed=depth + 5)
    tn = tensor_network(w, length, hyperedges=False)
    assert sorted(tn.outer_inds()) == sorted(output_inds(length))
    assert max(len(tids) for tids in tn.ind_map.values()) <= 2
    assert len(tn.select_tensors("COPY")) > 0
    got = tn.contract().transpose(*output_inds(length)).data  # a bare contract() works
    np.testing.assert_allclose(got, brute_force_grid(w, length).astype(float), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_with_inputs_evaluates_the_rac_on_any_features(depth):
    from tnrnn.rac.circuits import evaluate_features
    from tnrnn.tn.network import with_inputs

    w = RACWeights.gaussian(RACSpec(3, 2, depth), seed=depth)
    features = np.random.default_rng(depth).normal(size=(5, 3))
    y = with_inputs(tensor_network(w, 5), features).contract(output_inds=())
    assert np.isclose(float(y), evaluate_features(w, features[None])[0], rtol=1e-10)
    onehot = np.eye(3)[[0, 2, 1, 1, 0]]  # one-hot rows: one grid-tensor entry
    y = with_inputs(tensor_network(w, 5), onehot).contract(output_inds=())
    assert np.isclose(float(y), brute_force_grid(w, 5)[0, 2, 1, 1, 0], rtol=1e-10)
    with pytest.raises(ValueError, match="hyperedges=True"):
        with_inputs(tensor_network(w, 5, hyperedges=False), features)
    with pytest.raises(ValueError, match="one row per time step"):
        with_inputs(tensor_network(w, 5), features[:4])


def test_depth1_converts_to_a_quimb_mps_with_the_rac_grid_and_schmidt_rank():
    import quimb.tensor as qtn

    from tnrnn.tn.network import to_mps

    w = RACWeights.gaussian(RACSpec(3, 2, 1), seed=3)
    mps = to_mps(w, 6)
    assert isinstance(mps, qtn.MatrixProductState)
    assert mps.L == 6 and mps.max_bond() == 2 and mps.site_ind(0) == "x0"
    np.testing.assert_allclose(mps.to_dense().reshape((3,) * 6), brute_force_grid(w, 6).astype(float),
                               rtol=1e-10, atol=1e-12)
    mps.canonicalize_(2)  # quimb's own Schmidt values at the middle bond: rank R = 2
    schmidt = mps.schmidt_values(3)
    assert int(np.sum(schmidt > 1e-12 * schmidt.max())) == 2
    with pytest.raises(ValueError, match="only a depth-1 RAC is an MPS"):
        to_mps(RACWeights.gaussian(RACSpec(2, 2, 2), seed=0), 4)
