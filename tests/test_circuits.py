import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import brute_force_grid, brute_force_output
from tnrnn.rac.circuits import RACSpec, RACWeights, evaluate, evaluate_features
from tnrnn.rac.grid import GridTooLargeError, grid_tensor

specs = st.builds(RACSpec, st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))


@given(spec=specs, length=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_exact_evaluation_matches_brute_force(spec, length, seed):
    w = RACWeights.random_mod_p(spec, 2_147_483_647, seed)
    rng = np.random.default_rng(seed)
    seqs = rng.integers(0, spec.templates, size=(4, length))
    got = evaluate(w, seqs)
    assert got.dtype == np.int64
    assert [int(v) for v in got] == [brute_force_output(w, s) for s in seqs.tolist()]


@given(spec=specs, length=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_float_evaluation_matches_brute_force_and_torch(spec, length, seed):
    w = RACWeights.gaussian(spec, seed)
    seqs = np.random.default_rng(seed).integers(0, spec.templates, size=(3, length))
    expected = [brute_force_output(w, s) for s in seqs.tolist()]
    np.testing.assert_allclose(evaluate(w, seqs), expected, rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(evaluate(w, seqs, backend="torch").numpy(), expected, rtol=1e-10, atol=1e-300)


def test_features_are_multilinear_and_agree_with_one_hot(rng):
    w = RACWeights.random_mod_p(RACSpec(3, 2, 2), 101, 3)
    seqs = rng.integers(0, 3, size=(6, 4))
    onehot = np.eye(3, dtype=np.int64)[seqs]
    assert evaluate_features(w, onehot).tolist() == evaluate(w, seqs).tolist()
    feats = rng.integers(0, 101, size=(2, 4, 3))
    assert [int(v) for v in evaluate_features(w, feats)] == [
        brute_force_output(w, [0] * 4, features=f.tolist()) for f in feats]


@pytest.mark.parametrize("spec", [RACSpec(2, 2, 1), RACSpec(2, 3, 2), RACSpec(3, 2, 3)])
def test_grid_tensor_matches_brute_force(spec):
    w = RACWeights.random_mod_p(spec, 1_000_003, 7)
    assert (grid_tensor(w, 4) == brute_force_grid(w, 4).astype(np.int64)).all()
    wf = RACWeights.gaussian(spec, 7)
    np.testing.assert_allclose(grid_tensor(wf, 4), brute_force_grid(wf, 4).astype(float), rtol=1e-10)


def test_orthogonal_constructor_is_orthogonal():
    w = RACWeights.orthogonal(RACSpec(2, 5, 3), seed=4)
    for h in w.hidden:
        np.testing.assert_allclose(h @ h.T, np.eye(5), atol=1e-12)


def test_constructors_are_seeded():
    a, b = RACWeights.random_mod_p(RACSpec(2, 2, 2), 101, 9), RACWeights.random_mod_p(RACSpec(2, 2, 2), 101, 9)
    assert all((x == y).all() for x, y in zip(a.input + a.hidden, b.input + b.hidden))


@pytest.mark.parametrize("args, match", [
    ((0, 2, 2), "templates must be a positive integer"),
    ((2, -1, 2), "hidden must be a positive integer"),
    ((2, 2, 1.5), "depth must be a positive integer"),
])
def test_spec_rejects_bad_sizes(args, match):
    with pytest.raises(ValueError, match=match):
        RACSpec(*args)


def test_bad_primes_and_shapes_are_rejected():
    spec = RACSpec(2, 2, 1)
    with pytest.raises(ValueError, match="prime=100 is not prime"):
        RACWeights.random_mod_p(spec, 100)
    with pytest.raises(ValueError, match="too large"):
        RACWeights.random_mod_p(spec, 2**61 - 1)
    with pytest.raises(ValueError, match=r"input\[0\].*shape \(2, 2\)"):
        RACWeights(spec, (np.ones((2, 3)),), (np.eye(2),), np.ones(2))
    w = RACWeights.gaussian(spec, 0)
    with pytest.raises(ValueError, match=r"template indices in \[0, 2\)"):
        evaluate(w, [[0, 2]])


def test_memory_guard_refuses_before_allocating():
    w = RACWeights.random_mod_p(RACSpec(4, 3, 2), 101, 0)
    with pytest.raises(GridTooLargeError, match=r"M\^T = 1,099,511,627,776 entries.*method='scalable'"):
        grid_tensor(w, 20)
    with pytest.raises(GridTooLargeError, match="over the limit"):
        grid_tensor(w, 6, max_bytes=1000)
