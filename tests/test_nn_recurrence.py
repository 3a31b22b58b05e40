"""The fused recurrence: same values and gradients as the autograd loop; gradcheck."""

from __future__ import annotations

import pytest
import torch

from tnrnn.nn import DeepRNN
from tnrnn.nn.recurrence import recurrence


@pytest.mark.parametrize("kind", ["tanh", "modrelu", "rac"])
@pytest.mark.parametrize("steps", [1, 2, 5])
def test_gradcheck(kind, steps):
    g = torch.Generator().manual_seed(steps)
    drives = torch.randn(steps, 3, 4, dtype=torch.float64, generator=g, requires_grad=True)
    w = (0.5 * torch.randn(4, 4, dtype=torch.float64, generator=g)).requires_grad_()
    if kind == "modrelu":
        bias = (0.3 * torch.randn(4, dtype=torch.float64, generator=g)).requires_grad_()
        assert torch.autograd.gradcheck(lambda d, w, b: recurrence(kind, d, w, b), (drives, w, bias))
    else:
        assert torch.autograd.gradcheck(lambda d, w: recurrence(kind, d, w), (drives, w))


@pytest.mark.parametrize("kind", ["tanh", "modrelu", "rac"])
@pytest.mark.parametrize("members", [None, 2])
def test_last_state_only_equals_the_last_step_and_passes_gradcheck(kind, members):
    """last_only: the same last state and the same gradients as reading h[-1] of the full sequence."""
    g = torch.Generator().manual_seed(7)
    lead = () if members is None else (members,)
    drives = torch.randn(*lead, 5, 3, 4, dtype=torch.float64, generator=g, requires_grad=True)
    w = (0.5 * torch.randn(*lead, 4, 4, dtype=torch.float64, generator=g)).requires_grad_()
    bias = None
    if kind == "modrelu":  # negative entries: some states are clipped to 0, whose derivative is 0
        bias = (0.3 * torch.randn(*lead, *((1, 4) if members else (4,)), dtype=torch.float64,
                                  generator=g)).requires_grad_()
    inputs = (drives, w) if bias is None else (drives, w, bias)
    time_axis = 0 if members is None else 1

    def last(*args):
        return recurrence(kind, *args, last_only=True)

    def full(*args):
        return recurrence(kind, *args).select(time_axis, -1)

    weights = torch.randn(last(*inputs).shape, dtype=torch.float64, generator=g)
    assert torch.equal(last(*inputs), full(*inputs))
    mine = torch.autograd.grad((last(*inputs) * weights).sum(), inputs)
    theirs = torch.autograd.grad((full(*inputs) * weights).sum(), inputs)
    for a, b in zip(mine, theirs):
        assert torch.allclose(a, b, atol=1e-13, rtol=1e-12)
    assert torch.autograd.gradcheck(last, inputs)


@pytest.mark.parametrize("cell", ["tanh", "modrelu", "rac"])
@pytest.mark.parametrize("orthogonal", [None, "matrix_exp", "scaled_cayley"])
def test_fused_equals_autograd_loop(cell, orthogonal):
    torch.manual_seed(0)
    model = DeepRNN(cell, input_size=3, output_size=2, hidden=6, depth=2, orthogonal=orthogonal).double()
    x = torch.randn(5, 7, 3, dtype=torch.float64)
    target = torch.randn(5, 7, 2, dtype=torch.float64)
    results = []
    for fused in (True, False):
        for layer in model.layers:
            layer.fused = fused
        model.zero_grad()
        out = model(x)
        ((out - target) ** 2).sum().backward()
        results.append((out.detach(), [p.grad.clone() for p in model.parameters()]))
    (out_a, grads_a), (out_b, grads_b) = results
    assert torch.allclose(out_a, out_b, rtol=1e-10, atol=1e-12)
    for ga, gb in zip(grads_a, grads_b):
        assert torch.allclose(ga, gb, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("kind", ["tanh", "modrelu"])
@pytest.mark.parametrize("members", [None, 3])
def test_initial_state_equals_a_plain_loop_and_passes_gradcheck(kind, members):
    """h_1 = σ(W h_0 + d_1): against a plain autograd loop, one layer and a stacked ensemble."""
    g = torch.Generator().manual_seed(7)
    lead = () if members is None else (members,)
    drives = torch.randn(*lead, 5, 3, 4, dtype=torch.float64, generator=g, requires_grad=True)
    w = (0.5 * torch.randn(*lead, 4, 4, dtype=torch.float64, generator=g)).requires_grad_()
    bias = None
    if kind == "modrelu":
        bias = (0.3 * torch.randn(*(lead and (members, 1)), 4, dtype=torch.float64, generator=g)).requires_grad_()
    initial = torch.randn(*lead, 3, 4, dtype=torch.float64, generator=g)
    fused = recurrence(kind, drives, w, bias, initial)

    def step(z):
        return torch.tanh(z) if kind == "tanh" else z.sign() * torch.relu(z.abs() + bias)

    h, states = initial, []
    time_axis = 0 if members is None else 1
    for d in drives.unbind(time_axis):
        h = step(h @ w.transpose(-1, -2) + d)
        states.append(h)
    loop = torch.stack(states, dim=time_axis)
    assert torch.allclose(fused, loop, rtol=1e-12, atol=1e-12)
    weights = torch.randn_like(loop)
    inputs = [drives, w] + ([bias] if bias is not None else [])
    fused_grads = torch.autograd.grad((fused * weights).sum(), inputs)
    loop_grads = torch.autograd.grad((loop * weights).sum(), inputs)
    for a, b in zip(fused_grads, loop_grads):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-12)
    if bias is None:
        assert torch.autograd.gradcheck(lambda d, w: recurrence(kind, d, w, None, initial), (drives, w))
    else:
        assert torch.autograd.gradcheck(lambda d, w, b: recurrence(kind, d, w, b, initial), (drives, w, bias))


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown recurrence"):
        recurrence("lstm", torch.zeros(2, 1, 3), torch.zeros(3, 3))
    with pytest.raises(ValueError, match="needs a bias"):
        recurrence("modrelu", torch.zeros(2, 1, 3), torch.zeros(3, 3))
    with pytest.raises(ValueError, match="drives must be"):
        recurrence("tanh", torch.zeros(2, 1, 3), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="initial must have shape"):
        recurrence("tanh", torch.zeros(2, 1, 3), torch.zeros(3, 3), initial=torch.zeros(2, 3))
    with pytest.raises(ValueError, match="convention"):
        recurrence("rac", torch.zeros(2, 1, 3), torch.zeros(3, 3), initial=torch.zeros(1, 3))


def test_benchmark_reference_has_the_same_loss_curve():
    """benchmarks/bench_training.py compares like with like: same function, same training steps."""
    import importlib.util
    from pathlib import Path

    from tnrnn.nn import TrainConfig

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_training.py"
    spec = importlib.util.spec_from_file_location("bench_training", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    for orthogonal_map in ("matrix_exp", "cayley"):
        config = TrainConfig(task="copying", length=4, alphabet=3, word_length=2, cell="modrelu", depth=1,
                             hidden=6, orthogonal=orthogonal_map, batch_size=8, lr=1e-2, lr_orthogonal=1e-2)
        task = config.make_task()
        generator = torch.Generator().manual_seed(0)
        batches = [task.sample(8, generator) for _ in range(4)]
        ours, _, reference, _ = bench.run_pair(config, task, batches, torch.float64)
        assert ours == pytest.approx(reference, rel=1e-10, abs=1e-12)
        assert ours[-1] < ours[0]
