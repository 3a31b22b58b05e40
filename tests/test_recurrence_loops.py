"""The compiled time loops, the one-call RMSprop of an ensemble and its lookup: the same numbers, bit for bit.

Each fast path is checked against the code it replaces, by comparing the bits of every
output and gradient (NaN and signed zeros included), not within a tolerance.
"""

from __future__ import annotations

import functools
import itertools
import os
import subprocess
import sys
import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import tnrnn.nn.recurrence as recurrence_module
from tnrnn.nn import _compiled
from tnrnn.nn._rmsprop import step_together
from tnrnn.nn.ensemble import _Lookup, _Project
from tnrnn.nn.recurrence import KINDS, recurrence

# The build is required here: a machine that cannot build fails this file instead of skipping it
# (set TNRNN_LOOPS=python to run the rest of the suite without a compiler).
LOOPS = None if _compiled.loops_setting() == "python" else _compiled.compiled_loops({"TNRNN_LOOPS": "compiled"})
needs_loops = pytest.mark.skipif(LOOPS is None, reason="TNRNN_LOOPS=python: the compiled loops are not built")


def bits(x: torch.Tensor) -> torch.Tensor:
    """The bit patterns of a float tensor, so that NaN equals NaN and -0 differs from +0."""
    return x.detach().contiguous().view(torch.int32 if x.dtype == torch.float32 else torch.int64)


def same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and torch.equal(bits(a), bits(b))


def run(kind, loops, *, members, steps, batch, width, initial, last_only, dtype, seed, special=False):
    """States and every gradient of one recurrence with the given loops ("python" or "compiled")."""
    g = torch.Generator().manual_seed(seed)
    lead = () if members is None else (members,)
    drives = torch.randn(*lead, steps, batch, width, generator=g, dtype=dtype)
    if special:  # exact zeros, infinities and NaN where the kind lets them through to the checks
        flat = drives.view(-1)
        picks = torch.randperm(flat.numel(), generator=g)[:4]
        flat[picks] = torch.tensor([0.0, -0.0, float("inf"), float("nan")], dtype=dtype)[:len(picks)]
    drives.requires_grad_()
    w = (torch.randn(*lead, width, width, generator=g, dtype=dtype) / width ** 0.5).requires_grad_()
    bias = None
    if kind == "modrelu":  # both signs: some states clipped to exactly 0, others lifted off 0
        bias = (0.5 * torch.randn(*lead, *((1, width) if members else (width,)), generator=g,
                                  dtype=dtype)).requires_grad_()
    h0 = torch.randn(*lead, batch, width, generator=g, dtype=dtype) if initial and kind != "rac" else None
    pick = recurrence_module._loops
    if loops == "python":
        recurrence_module._loops = lambda device: (recurrence_module._forward_loop, recurrence_module._backward_loop)
    try:
        out = recurrence(kind, drives, w, bias, h0, last_only=last_only)
        weights = torch.randn(out.shape, generator=g, dtype=dtype)
        (out * weights).sum().backward()
    finally:
        recurrence_module._loops = pick
    return [out.detach(), drives.grad, w.grad] + ([bias.grad] if bias is not None else [])


@needs_loops
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("members", [None, 3])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_compiled_loops_equal_the_python_loops_bit_for_bit(kind, members, dtype):
    for initial, last_only, steps, batch in itertools.product((False, True), (False, True), (1, 2, 7), (1, 4)):
        for special in (False, True):
            settings = dict(members=members, steps=steps, batch=batch, width=5, initial=initial,
                            last_only=last_only, dtype=dtype, seed=steps + 10 * batch, special=special)
            python, compiled = run(kind, "python", **settings), run(kind, "compiled", **settings)
            for name, a, b in zip(("states", "d drives", "d w", "d bias"), python, compiled):
                assert same_bits(a, b), (kind, name, settings)


@needs_loops
@given(kind=st.sampled_from(KINDS), members=st.sampled_from([None, 1, 2, 5]), steps=st.integers(1, 9),
       batch=st.integers(1, 6), width=st.integers(1, 9), initial=st.booleans(), last_only=st.booleans(),
       seed=st.integers(0, 2 ** 16))
def test_compiled_loops_equal_the_python_loops_at_any_shape(kind, members, steps, batch, width, initial,
                                                            last_only, seed):
    settings = dict(members=members, steps=steps, batch=batch, width=width, initial=initial, last_only=last_only,
                    dtype=torch.float32, seed=seed)
    for a, b in zip(run(kind, "python", **settings), run(kind, "compiled", **settings)):
        assert same_bits(a, b)


@needs_loops
def test_the_modrelu_fused_pass_matches_torch_on_nan_zeros_and_both_bias_signs():
    """sign(NaN) = 0 and clamp keeps NaN and -0 in torch; the fused pass must agree, bit for bit."""
    z = torch.tensor([[float("nan"), -0.0, 0.0, 2.0, -3.0, float("inf"), -float("inf"), 1e-45]])
    drives = z.expand(2, 1, -1).clone()  # T = 2: the fused pass runs on step 1 through the product too
    w = torch.zeros(8, 8)
    for b in (-1.0, -0.0, 0.0, 0.5):
        bias = torch.full((8,), b)
        python, compiled = torch.empty_like(drives), torch.empty_like(drives)
        recurrence_module._forward_loop(1, drives, w.mT, bias, None, python)
        LOOPS.forward_loop(1, drives, w.mT, bias, None, compiled)
        assert same_bits(python, compiled), b


def test_a_loop_setting_outside_the_valid_ones_is_refused_by_name():
    with pytest.raises(ValueError, match=r"TNRNN_LOOPS='on' is not a loop setting; valid: auto, compiled, python"):
        _compiled.compiled_loops({"TNRNN_LOOPS": "on"})
    assert _compiled.compiled_loops({"TNRNN_LOOPS": "python"}) is None
    assert _compiled.loops_setting({"TNRNN_LOOPS": " Compiled "}) == "compiled"
    assert _compiled.loops_setting({}) == "auto"


def test_a_failed_build_falls_back_with_a_warning_or_fails_when_required(monkeypatch):
    monkeypatch.setattr(_compiled, "_loaded", {})

    def broken():
        raise OSError("no C++ compiler found")

    monkeypatch.setattr(_compiled, "_build", broken)
    with pytest.warns(RuntimeWarning, match="did not build .*no C\\+\\+ compiler found.*the same numbers, slower"):
        assert _compiled.compiled_loops({}) is None
    with warnings.catch_warnings():  # tried once per process: no second build, no second warning
        warnings.simplefilter("error")
        assert _compiled.compiled_loops({"TNRNN_LOOPS": "auto"}) is None
    with pytest.raises(RuntimeError, match="TNRNN_LOOPS=compiled, but the recurrence loops did not build"):
        _compiled.compiled_loops({"TNRNN_LOOPS": "compiled"})
    # and training still runs, on the Python loops
    d, w = torch.randn(3, 2, 4, requires_grad=True), torch.randn(4, 4, requires_grad=True)
    recurrence("tanh", d, w).sum().backward()
    assert d.grad is not None and w.grad is not None


def _models_and_optimizers(lrs, initial):
    torch.manual_seed(3)
    models = [torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2)) for _ in lrs]
    optimizers = []
    for model, lr in zip(models, lrs):
        groups = [{"params": list(model[0].parameters()), "lr": lr},
                  {"params": list(model[2].parameters()), "lr": lr / 10}]
        optimizer = torch.optim.RMSprop(groups, alpha=0.9)
        if initial:  # the state written up front, as the training code does for rmsprop_initial
            for group in optimizer.param_groups:
                for p in group["params"]:
                    optimizer.state[p] = {"step": torch.zeros(()), "square_avg": torch.full_like(p, initial)}
        optimizers.append(optimizer)
    return models, optimizers


@pytest.mark.parametrize("initial", [0.0, 1.0])
def test_rmsprop_of_all_members_at_once_equals_each_stepping_alone(initial):
    lrs = [1e-2, 1e-3, 1e-2, 5e-3]
    inputs = torch.randn(6, 5, 4, generator=torch.Generator().manual_seed(0))
    together, alone = _models_and_optimizers(lrs, initial), _models_and_optimizers(lrs, initial)
    for step in range(6):
        if step == 3:  # a plateau: one member's rate divided, as the schedule does
            for _, optimizers in (together, alone):
                for group in optimizers[1].param_groups:
                    group["lr"] /= 10
        for (models, optimizers), joint in ((together, True), (alone, False)):
            for optimizer in optimizers:
                optimizer.zero_grad()
            for model in models:
                model(inputs[step]).pow(2).sum().backward()
            if joint:
                step_together(optimizers)
            else:
                for optimizer in optimizers:
                    optimizer.step()
    for a, b in zip(together[0], alone[0]):
        for p, q in zip(a.parameters(), b.parameters()):
            assert same_bits(p, q)
    for a, b in zip(together[1], alone[1]):
        for p, q in zip(a.state.values(), b.state.values()):
            assert same_bits(p["square_avg"], q["square_avg"]) and int(p["step"]) == int(q["step"]) == 6


def test_rmsprop_with_momentum_steps_on_its_own():
    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=0.1, momentum=0.5)
    reference = torch.nn.Linear(2, 1)
    reference.load_state_dict(model.state_dict())
    reference_optimizer = torch.optim.RMSprop(reference.parameters(), lr=0.1, momentum=0.5)
    for _ in range(3):
        for m, o in ((model, optimizer), (reference, reference_optimizer)):
            o.zero_grad()
            m(torch.ones(1, 2)).sum().backward()
        step_together([optimizer])
        reference_optimizer.step()
    assert "momentum_buffer" in optimizer.state[model.weight]
    assert same_bits(model.weight, reference.weight)


@pytest.mark.parametrize("loops", ["python", pytest.param("compiled", marks=needs_loops)])
def test_the_lookup_and_its_gradient_equal_embedding(loops, monkeypatch):
    """The gradient rows added by index_add_ (python) or the compiled loop: embedding's sums, bit for bit."""
    monkeypatch.setenv("TNRNN_LOOPS", loops)
    g = torch.Generator().manual_seed(5)
    rows = torch.randint(0, 21, (3, 200), generator=g)  # many repeats of every row
    for dtype in (torch.float32, torch.float64):
        w_input = torch.randn(3, 5, 7, generator=g, dtype=dtype, requires_grad=True)  # (K, R, V)
        reference = w_input.detach().clone().requires_grad_()
        weights = torch.randn(3, 200, 5, generator=g, dtype=dtype)
        out, expected = _Lookup.apply(w_input, rows), F.embedding(rows, reference.transpose(1, 2).reshape(21, 5))
        assert same_bits(out, expected)
        (out * weights).sum().backward()
        (expected * weights).sum().backward()
        assert same_bits(w_input.grad, reference.grad)
        assert w_input.grad.is_contiguous()


def _record_layout(found: dict, name: str, grad: torch.Tensor) -> None:
    found[name] = grad.is_contiguous()  # a hook returning None: the gradient unchanged


def test_the_projection_and_its_gradients_equal_autograds_with_a_contiguous_weight_gradient():
    """The members' stacked weights get autograd's gradient, bit for bit, but contiguous (no copy per member)."""
    g = torch.Generator().manual_seed(6)
    for dtype, (members, rows, width_in, width) in itertools.product(
            (torch.float32, torch.float64), ((3, 200, 5, 7), (5, 5120, 28, 28), (2, 9, 4, 3))):
        x = torch.randn(members, rows, width_in, generator=g, dtype=dtype, requires_grad=True)
        weights = [torch.randn(width, width_in, generator=g, dtype=dtype, requires_grad=True) for _ in range(members)]
        x_ref = x.detach().clone().requires_grad_()
        weights_ref = [w.detach().clone().requires_grad_() for w in weights]
        stacked, stacked_ref = torch.stack(weights), torch.stack(weights_ref)
        contiguous = {}
        stacked.register_hook(functools.partial(_record_layout, contiguous, "projection"))
        stacked_ref.register_hook(functools.partial(_record_layout, contiguous, "autograd"))
        out, expected = _Project.apply(x, stacked), torch.bmm(x_ref, stacked_ref.transpose(1, 2))
        assert same_bits(out, expected)
        upstream = torch.randn(out.shape, generator=g, dtype=dtype)
        (out * upstream).sum().backward()
        (expected * upstream).sum().backward()
        assert same_bits(x.grad, x_ref.grad)
        assert all(same_bits(w.grad, w_ref.grad) for w, w_ref in zip(weights, weights_ref))
        assert contiguous == {"projection": True, "autograd": False}


@needs_loops
def test_a_built_library_loads_in_a_new_process_without_any_build_tool(tmp_path):
    """Once built, a process loads the library from the cache: no ninja, no compiler on its PATH."""
    child = ("import torch; from tnrnn.nn import _compiled; "
             "print('loaded' if _compiled.compiled_loops({'TNRNN_LOOPS': 'compiled'}) is not None else 'none')")
    env = {key: value for key, value in os.environ.items() if key != "TNRNN_LOOPS"}
    env["PATH"] = str(tmp_path)  # an empty directory: nothing to build with
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, env=env, cwd=tmp_path,
                          check=False)
    assert done.returncode == 0 and done.stdout.strip() == "loaded", done.stderr[-2000:]
    assert "compiling" not in done.stderr


def test_the_library_is_cached_under_torch_extensions_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
    first = _compiled.library_path()
    assert first.parent == tmp_path and first.name.startswith("tnrnn_loops_") and first.suffix == ".so"
    monkeypatch.setattr(_compiled, "_FLAGS", ("-O2",))  # other flags: another library
    assert _compiled.library_path() != first
