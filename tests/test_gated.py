import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tnrnn.lenses.timescale.model import (
    FORGET_GATES,
    GatedRNN,
    GRUCell,
    LSTMCell,
    forget_gate,
    forget_preactivation,
    init_forget_gate,
    log_forget_gate,
)


def zero_input_timescales(model: GatedRNN) -> torch.Tensor:
    """tau = -1/ln f of every unit of every layer at x = 0, h = 0 (pre-activation = b_ih + b_hh)."""
    out = []
    for cell in model.layers:
        rows = cell.gate_slice(cell.forget_index)
        pre = (cell.bias_ih[rows] + cell.bias_hh[rows]).detach().double()
        out.append(-1.0 / log_forget_gate(pre, cell.gate))
    return torch.cat(out)


@pytest.mark.parametrize("module_class", [torch.nn.LSTM, torch.nn.GRU])
@pytest.mark.parametrize("dtype, atol", [(torch.float32, 1e-6), (torch.float64, 1e-12)])
@pytest.mark.parametrize("depth", [1, 3])
@pytest.mark.parametrize("fused", [False, True])
def test_matches_torch_forward_and_gradients(module_class, dtype, atol, depth, fused):
    torch.manual_seed(depth)
    reference = module_class(5, 7, depth, batch_first=True, dtype=dtype)
    ours = GatedRNN.from_torch(reference)
    ours.fused = fused  # False: our own step loop (what trace() runs); True: torch's kernels
    x = torch.randn(4, 25, 5, dtype=dtype)
    expected = reference(x)[0]
    got = ours(x)
    assert got.dtype == dtype and got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=atol, rtol=0)
    # the gradients of a loss wrt every weight agree as well
    (expected ** 2).sum().backward()
    (got ** 2).sum().backward()
    for index, layer in enumerate(ours.layers):
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            torch.testing.assert_close(getattr(layer, name).grad, getattr(reference, f"{name}_l{index}").grad,
                                       atol=50 * atol, rtol=0)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_to_torch_roundtrip_and_trace_consistency(cell):
    torch.manual_seed(1)
    ours = GatedRNN(3, 6, cell=cell, depth=2, dtype=torch.float64)
    x = torch.randn(2, 12, 3, dtype=torch.float64)
    torch.testing.assert_close(ours(x), ours.to_torch()(x)[0], atol=1e-12, rtol=0)
    trace = ours.trace(x)
    torch.testing.assert_close(trace.outputs, ours(x), atol=1e-12, rtol=0)  # step loop vs fused kernel
    # the traced gates are the ones that produced the states: c_t = f c_{t-1} + (...)
    gates, cells = trace.gates[1], torch.stack(trace.cells[1], dim=1)
    if cell == "lstm":
        rebuilt = gates["forget"][:, 1:] * cells[:, :-1] + gates["input"][:, 1:] * gates["cell_input"][:, 1:]
        torch.testing.assert_close(torch.stack(trace.hidden[1], 1), gates["output"] * torch.tanh(cells))
    else:
        rebuilt = gates["forget"][:, 1:] * cells[:, :-1] + (1 - gates["forget"][:, 1:]) * gates["candidate"][:, 1:]
    torch.testing.assert_close(rebuilt, cells[:, 1:], atol=1e-14, rtol=0)
    torch.testing.assert_close(trace.log_forget(1).exp(), gates["forget"], atol=1e-14, rtol=0)


def test_readout_is_applied_per_step():
    torch.manual_seed(2)
    model = GatedRNN(2, 4, 3, depth=2)
    x = torch.randn(5, 7, 2)
    top = torch.stack(model.trace(x).hidden[-1], dim=1)
    torch.testing.assert_close(model(x), model.readout(top))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("gate", FORGET_GATES)
@pytest.mark.parametrize("tmax", [3.0, 50.0, 1000.0])
def test_chrono_timescales_in_range_and_bias_not_doubled(cell, gate, tmax):
    model = GatedRNN(3, 256, cell=cell, depth=2, gate=gate)
    init_forget_gate(model, "chrono", tmax=tmax, generator=torch.Generator().manual_seed(0))
    tau = zero_input_timescales(model)
    assert bool(((tau >= 1.0) & (tau <= tmax)).all()), (float(tau.min()), float(tau.max()))
    for layer in model.layers:
        forget_rows = layer.gate_slice(layer.forget_index)
        # the single-bias pitfall: bias_hh holds nothing on the gate rows, so the effective bias is
        # exactly the target, not twice it
        assert bool((layer.bias_hh[forget_rows] == 0).all())
        effective = layer.effective_forget_bias().double()
        target = torch.sinh(effective) if gate == "fast" else effective
        if gate != "timescale":
            assert float(target.min()) >= -1e-6 and float(target.max()) <= math.log(tmax - 1) + 1e-5
        if cell == "lstm":  # chrono sets b_i = -b_f (in the sigmoid sense), again in one bias only
            input_rows = layer.gate_slice(0)
            assert bool((layer.bias_hh[input_rows] == 0).all())
            s = -layer.bias_ih[input_rows].double()
            f = forget_gate(layer.effective_forget_bias().double(), gate)
            torch.testing.assert_close(torch.sigmoid(s), f, atol=1e-6, rtol=0)


def test_doubled_chrono_bias_would_fail_the_range_check():
    # sensitivity of the test above: writing the target into both biases breaks [1, T_max]
    tmax = 50.0
    model = GatedRNN(3, 256, cell="lstm")
    init_forget_gate(model, "chrono", tmax=tmax, generator=torch.Generator().manual_seed(0))
    layer = model.layers[0]
    rows = layer.gate_slice(1)
    with torch.no_grad():
        layer.bias_hh[rows] = layer.bias_ih[rows]
    assert float(zero_input_timescales(model).max()) > tmax


@pytest.mark.parametrize("gate", FORGET_GATES)
def test_constant_and_uniform_initial_gate_values(gate):
    model = GatedRNN(2, 64, cell="lstm", gate=gate)
    init_forget_gate(model, "constant", forget_bias=1.5)
    f = forget_gate(model.layers[0].effective_forget_bias().double(), gate)
    torch.testing.assert_close(f, torch.full_like(f, 1 / (1 + math.exp(-1.5))), atol=1e-6, rtol=0)
    init_forget_gate(model, "uniform", generator=torch.Generator().manual_seed(3))
    f = forget_gate(model.layers[0].effective_forget_bias().double(), gate)
    low = 1 / 64 if gate != "timescale" else math.exp(-1 / (1 + 1e-3)) - 1e-6  # that gate has f >= 1/e
    assert float(f.min()) >= low - 1e-6 and float(f.max()) <= 1 - 1 / 64 + 1e-6
    assert float(f.max() - f.min()) > 0.5  # spread out, not constant


def test_pytorch_init_leaves_parameters():
    model = GatedRNN(2, 8)
    before = [p.clone() for p in model.parameters()]
    init_forget_gate(model, "pytorch")
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


@settings(max_examples=60, deadline=None)
@given(s=st.floats(-30, 30), gate=st.sampled_from(FORGET_GATES))
def test_forget_preactivation_inverts_the_gate(s, gate):
    target = torch.tensor(s, dtype=torch.float64)
    pre = forget_preactivation(target, gate)
    log_f = log_forget_gate(pre, gate)
    if gate == "timescale" and -1 / float(log_forget_gate(target, "sigmoid")) < 1 + 1e-3:
        assert abs(float(-1 / log_f) - (1 + 1e-3)) < 1e-9  # clamped at tau = 1.001
    else:
        expected = log_forget_gate(target, "sigmoid")
        assert abs(float(log_f / expected) - 1) < 1e-9


def test_log_forget_is_exact_where_f_rounds_to_one():
    pre = torch.tensor([20.0, 40.0], dtype=torch.float64)
    assert bool((forget_gate(pre) == 1).any())  # float64 sigmoid(40) is 1
    tau = -1 / log_forget_gate(pre)
    torch.testing.assert_close(tau, torch.exp(pre), rtol=1e-8, atol=0)  # -ln sigmoid(a) ~ e^{-a}


def test_timescale_gate_keeps_its_gradient_at_long_timescales():
    # d tau / d a = sigmoid(a) -> 1: the time scale stays trainable where a sigmoid gate saturates
    pre = torch.tensor([10.0, 100.0], dtype=torch.float64, requires_grad=True)
    tau = -1 / log_forget_gate(pre, "timescale")
    (grad,) = torch.autograd.grad(tau.sum(), pre)
    torch.testing.assert_close(grad, torch.sigmoid(pre.detach()))


@pytest.mark.parametrize("make, message", [
    (lambda: LSTMCell(0, 3), "input_size must be a positive integer, got 0"),
    (lambda: GRUCell(2, 3, gate="relu"), "gate must be one of 'sigmoid', 'fast', 'timescale', got 'relu'"),
    (lambda: GatedRNN(2, 3, cell="rnn"), "cell must be one of 'lstm', 'gru', got 'rnn'"),
    (lambda: GatedRNN(2, 3, depth=0), "depth must be a positive integer, got 0"),
    (lambda: init_forget_gate(GatedRNN(2, 3), "chrono"), "tmax must be a number > 2"),
    (lambda: init_forget_gate(GatedRNN(2, 3), "xavier"), "init must be one of"),
    (lambda: GatedRNN(2, 3)(torch.zeros(1, 4, 5)), "inputs must have shape (batch, time, 2)"),
    (lambda: GatedRNN(2, 3, gate="fast").to_torch(), "only gate='sigmoid'"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError) as error:
        make()
    assert message in str(error.value)
