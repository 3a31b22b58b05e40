"""Cells, stacks, orthogonal maps, RAC export, parameter counts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from tnrnn.nn import (
    ORTHOGONAL_MAPS,
    DeepRNN,
    TrainConfig,
    build_model,
    count_parameters,
    make_task,
    parameter_count,
    width_for_budget,
)
from tnrnn.nn.orthogonal import ScaledCayley
from tnrnn.rac.circuits import evaluate

pytestmark = pytest.mark.usefixtures("one_thread")


def naive_forward(model: DeepRNN, x: torch.Tensor) -> torch.Tensor:
    """Reference: the recurrences of the cells (see tnrnn.nn.cells), written step by step in float64."""
    x = x.double()
    batch, steps, _ = x.shape
    below = [x[:, t] for t in range(steps)]
    for layer in model.layers:
        w_in = layer.input.weight.detach().double()
        b_in = layer.input.bias.detach().double() if layer.input.bias is not None else 0.0
        w_h = layer.hidden_matrix().detach().double()
        h = torch.zeros(batch, model.hidden, dtype=torch.float64)
        out = []
        for t in range(steps):
            drive = below[t] @ w_in.T + b_in
            if model.cell == "rac":
                carried = torch.ones_like(drive) if t == 0 else h @ w_h.T  # W^H h_0 = 1
                h = carried * drive
            elif model.cell == "tanh":
                h = torch.tanh(h @ w_h.T + drive)
            else:
                z = h @ w_h.T + drive
                b = layer.bias.detach().double()
                h = torch.where(z.abs() + b > 0, z.sign() * (z.abs() + b), torch.zeros_like(z))
            out.append(h)
        below = out
    top = torch.stack(below, 1)
    w_o = model.readout.weight.detach().double()
    b_o = model.readout.bias.detach().double() if model.readout.bias is not None else 0.0
    return top @ w_o.T + b_o


@pytest.mark.parametrize("cell", ["rac", "tanh", "modrelu"])
@pytest.mark.parametrize("orthogonal", [None, "cayley", "scaled_cayley"])
def test_layers_match_naive_recurrence(cell, orthogonal):
    torch.manual_seed(0)
    model = DeepRNN(cell, input_size=3, output_size=2, hidden=5, depth=3, orthogonal=orthogonal)
    x = torch.randn(4, 6, 3)
    assert torch.allclose(model(x).double(), naive_forward(model, x), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("orthogonal", [None, "matrix_exp"])
def test_rac_export_equals_model_on_one_hot(depth, orthogonal):
    config = TrainConfig(task="copying", length=2, alphabet=3, word_length=2, cell="rac", depth=depth,
                         hidden=4, orthogonal=orthogonal, seed=depth)
    task = config.make_task()
    model = build_model(config, task)
    tokens = torch.randint(0, task.alphabet_size, (16, task.sequence_length), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = model(task.encode(tokens)).double()
    for index in (0, task.output_size - 1):
        weights = model.to_rac_weights(output_index=index)
        assert weights.modulus is None and weights.output.dtype == np.float64
        assert (weights.spec.templates, weights.spec.hidden, weights.spec.depth) == (task.alphabet_size, 4, depth)
        expected = evaluate(weights, tokens.numpy())
        assert np.allclose(expected, out[:, -1, index].numpy(), rtol=1e-4, atol=1e-5)


def test_rac_export_matches_brute_force_in_float64():
    from tests.conftest import brute_force_output

    model = DeepRNN("rac", input_size=3, output_size=1, hidden=3, depth=2, orthogonal="cayley").double()
    weights = model.to_rac_weights()
    for seq in ([0, 1, 2, 1], [2, 2, 0, 0]):
        y = model(F.one_hot(torch.tensor([seq]), 3).double())[0, -1, 0].item()
        assert y == pytest.approx(brute_force_output(weights, seq), rel=1e-10, abs=1e-12)


def test_export_errors():
    with pytest.raises(ValueError, match="only a 'rac' network"):
        DeepRNN("tanh", 3, 2, 4, 1).to_rac_weights()
    with pytest.raises(ValueError, match="output_index"):
        DeepRNN("rac", 3, 2, 4, 1).to_rac_weights(output_index=2)


@pytest.mark.parametrize("orthogonal_map", ORTHOGONAL_MAPS)
@pytest.mark.parametrize("init", ["henaff", "cayley", "random"])
def test_orthogonal_at_init(orthogonal_map, init):
    model = DeepRNN("modrelu", 3, 2, hidden=7, depth=2, orthogonal=orthogonal_map, orthogonal_init=init)
    assert model.orthogonality_error() < 1e-5
    assert len(model.orthogonal_parameters()) == 2


def test_scaled_cayley_formula():
    cayley = ScaledCayley(5)
    x = torch.randn(5, 5, dtype=torch.float64)
    a = torch.triu(x, 1) - torch.triu(x, 1).T
    d = torch.diag(cayley.scaling.double())
    eye = torch.eye(5, dtype=torch.float64)
    expected = torch.linalg.inv(eye + a) @ (eye - a) @ d
    assert torch.allclose(cayley.to(torch.float64)(x), expected)
    assert sorted(cayley.scaling.tolist()) == [-1, -1, 1, 1, 1]
    w = cayley(x)
    assert torch.allclose(cayley(cayley.right_inverse(w)), w)


@pytest.mark.parametrize("orthogonal_map", ORTHOGONAL_MAPS)
def test_map_evaluated_once_per_forward(orthogonal_map):
    model = DeepRNN("tanh", 3, 2, hidden=4, depth=2, orthogonal=orthogonal_map)
    calls = []
    for layer in model.layers:
        layer.recurrent.parametrizations.weight[0].register_forward_hook(lambda *a: calls.append(1))
    model(torch.randn(2, 12, 3)).sum().backward()
    assert len(calls) == 2  # one per layer, not one per time step


def test_lstm_gru_stacks():
    for cell in ("lstm", "gru"):
        model = DeepRNN(cell, 3, 2, hidden=4, depth=3)
        assert model(torch.randn(2, 5, 3)).shape == (2, 5, 2)
        assert model.rnn.num_layers == 3
    with pytest.raises(ValueError, match="orthogonal"):
        DeepRNN("lstm", 3, 2, 4, 1, orthogonal="cayley")
    with pytest.raises(ValueError, match="orthogonal="):
        TrainConfig(cell="gru", orthogonal="cayley")
    with pytest.raises(ValueError, match="inputs must have shape"):
        DeepRNN("rac", 3, 2, 4, 1)(torch.zeros(2, 5, 4))


def test_build_model_seeded_and_leaves_global_rng_alone():
    config = TrainConfig(task="adding", length=4, cell="lstm", depth=2, hidden=3, seed=5)
    task = config.make_task()
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = build_model(config, task)
    assert torch.equal(torch.rand(1), before)
    b = build_model(config, task)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    c = build_model(TrainConfig(task="adding", length=4, cell="lstm", depth=2, hidden=3, seed=6), task)
    assert not torch.equal(a.readout.weight, c.readout.weight)


@given(cell=st.sampled_from(["rac", "tanh", "modrelu", "lstm", "gru"]), depth=st.integers(1, 3),
       hidden=st.integers(1, 9), fan_in=st.integers(1, 5), out=st.integers(1, 4),
       orthogonal=st.sampled_from([None, "householder", "scaled_cayley"]))
def test_parameter_count_formula(cell, depth, hidden, fan_in, out, orthogonal):
    if cell in ("lstm", "gru"):
        orthogonal = None
    model = DeepRNN(cell, fan_in, out, hidden, depth, orthogonal=orthogonal)
    assert count_parameters(model) == parameter_count(cell, depth, hidden, fan_in, out)


@given(cell=st.sampled_from(["rac", "modrelu", "lstm"]), depth=st.integers(1, 3),
       budget=st.integers(200, 200000))
def test_width_for_budget_is_the_largest_fitting_width(cell, depth, budget):
    width = width_for_budget(cell, depth, budget, 10, 9)
    assert parameter_count(cell, depth, width, 10, 9) <= budget < parameter_count(cell, depth, width + 1, 10, 9)


def test_width_for_budget_bad_input():
    with pytest.raises(ValueError, match="budget=5"):
        width_for_budget("lstm", 2, 5, 10, 9)
    with pytest.raises(ValueError, match="unknown cell"):
        width_for_budget("elman", 2, 5000, 10, 9)


def test_task_sizes_feed_model():
    task = make_task("ses", 8, alphabet=5, word_length=2)
    model = DeepRNN("modrelu", task.input_size, task.output_size, 6, 2, orthogonal="householder")
    x, y = task.sample(3, torch.Generator().manual_seed(0))
    assert task.loss(model(x), y).item() > 0
