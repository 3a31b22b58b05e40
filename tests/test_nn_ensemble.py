"""Ensembles: K seeds trained as one stacked network follow the runs of the seeds trained alone."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import time

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from tnrnn.nn import DeepRNN, TrainConfig, load_run, member_dir, stacked_forward, train, train_ensemble

pytestmark = pytest.mark.usefixtures("one_thread")


def read_metrics(directory):
    return [json.loads(line) for line in open(directory / "metrics.jsonl")]


def without_time(lines):
    return [{k: v for k, v in line.items() if k != "seconds"} for line in lines]


@given(cell=st.sampled_from(["rac", "tanh", "modrelu"]), depth=st.integers(1, 3), members=st.integers(1, 4),
       orthogonal=st.sampled_from([None, "cayley", "scaled_cayley", "matrix_exp"]),
       with_initial=st.booleans(), seed=st.integers(0, 1000))
def test_stacked_forward_and_gradients_equal_the_members_alone(cell, depth, members, orthogonal, with_initial,
                                                                seed):
    torch.manual_seed(seed)
    models = [DeepRNN(cell, 3, 2, hidden=5, depth=depth, orthogonal=orthogonal, recurrent_clip=1.0).double()
              for _ in range(members)]
    x = torch.randn(members, 4, 6, 3, dtype=torch.float64)
    initial = None
    if with_initial and cell != "rac":
        initial = torch.randn(members, depth, 4, 5, dtype=torch.float64)
    together = stacked_forward(models, x, initial)
    weights = torch.randn_like(together)
    (together * weights).sum().backward()
    stacked_grads = [[p.grad.clone() for p in m.parameters()] for m in models]
    for m in models:
        m.zero_grad()
    for k, m in enumerate(models):
        alone = m(x[k], None if initial is None else initial[k])
        assert torch.allclose(together[k], alone, atol=1e-12, rtol=1e-10)
        (alone * weights[k]).sum().backward()
        for mine, theirs in zip(stacked_grads[k], [p.grad for p in m.parameters()]):
            assert torch.allclose(mine, theirs, atol=1e-12, rtol=1e-10)


def test_stacked_forward_refuses_mixed_architectures():
    with pytest.raises(ValueError, match="member 1"):
        stacked_forward([DeepRNN("tanh", 3, 2, 4, 1), DeepRNN("tanh", 3, 2, 5, 1)], torch.zeros(2, 1, 3, 3))
    with pytest.raises(ValueError, match="cannot be stacked"):
        stacked_forward([DeepRNN("gru", 3, 2, 4, 1)], torch.zeros(1, 1, 3, 3))
    with pytest.raises(ValueError, match="inputs must have shape"):
        stacked_forward([DeepRNN("tanh", 3, 2, 4, 1)] * 2, torch.zeros(3, 1, 3, 3))


@pytest.fixture
def float64():
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


@pytest.mark.parametrize("settings", [
    dict(preset="paper", lr=3e-3, lr_orthogonal=3e-4),                       # scoRNN, clip ∞-norm, random h_0
    dict(cell="rac", orthogonal="cayley", clip=1.0),                          # default settings
    dict(cell="tanh", orthogonal=None, clip=None, plateau_patience=2, plateau_threshold=10.0),  # early stop
])
def test_member_follows_the_single_run_in_float64(tmp_path, float64, settings):
    """A member's losses equal those of its seed trained alone, to 1e-9, over 200 steps."""
    settings = dict(settings)
    preset = settings.pop("preset", None)
    fields = dict(task="ses", length=12, word_length=2, alphabet=6, depth=2, hidden=8, steps=200, batch_size=16,
                  eval_every=1, val_size=8, test_size=32, **settings)
    config = TrainConfig.preset(preset, **fields) if preset else TrainConfig(**fields)
    ensemble = train_ensemble(config, [3, 0, 7], tmp_path / "ensemble", progress=False)
    for seed, summary in zip([3, 0, 7], ensemble["members"]):
        alone = train(dataclasses.replace(config, seed=seed), tmp_path / f"alone-{seed}", progress=False)
        mine, theirs = read_metrics(member_dir(tmp_path / "ensemble", seed)), read_metrics(tmp_path / f"alone-{seed}")
        assert [m["step"] for m in mine] == [m["step"] for m in theirs]
        for a, b in zip(mine, theirs):
            assert a["train_loss"] == pytest.approx(b["train_loss"], abs=1e-9, rel=0)
            assert a["val_loss"] == pytest.approx(b["val_loss"], abs=1e-9, rel=0)
            assert a.get("event") == b.get("event")
        for key in ("steps", "stopped_early", "accuracy", "test_accuracy"):
            assert summary[key] == alone[key], key
        assert summary["test_loss"] == pytest.approx(alone["test_loss"], abs=1e-9, rel=0)
    if settings.get("plateau_patience"):  # the early-stop case really stopped early
        assert all(m["stopped_early"] and m["steps"] < 200 for m in ensemble["members"])


def test_ensemble_directories_are_ordinary_runs(tmp_path):
    config = TrainConfig(task="ses", length=8, word_length=2, cell="modrelu", depth=2, hidden=6,
                         orthogonal="scaled_cayley", steps=6, eval_every=3, val_size=16, test_size=16)
    result = train_ensemble(config, [1, 2], tmp_path, progress=False)
    assert [m["seed"] for m in result["members"]] == [1, 2]
    assert json.loads((tmp_path / "ensemble.json").read_text())["seeds"] == [1, 2]
    for member in result["members"]:
        model, member_config, _ = load_run(member["out_dir"])
        assert member_config == dataclasses.replace(config, seed=member["seed"])
        assert [m["step"] for m in read_metrics(member_dir(tmp_path, member["seed"]))] == [3, 6]
        assert 0 <= member["test_accuracy"] <= 1 and member["free_parameters"] < member["parameters"]


@pytest.mark.parametrize("seeds, match", [([], "non-empty"), ([0, 0], "repeated: \\[0\\]"), ([-1], ">= 0"),
                                          ([1.5], "integers")])
def test_bad_seeds_are_refused_before_anything_is_written(tmp_path, seeds, match):
    with pytest.raises(ValueError, match=match):
        train_ensemble(TrainConfig(task="ses", length=8, steps=1), seeds, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_resume_with_other_seeds_or_cell_is_refused(tmp_path):
    config = TrainConfig(task="ses", length=8, word_length=2, cell="tanh", depth=1, hidden=4, steps=2,
                         eval_every=1, val_size=8, test_size=8)
    train_ensemble(config, [0, 1], tmp_path, progress=False)
    with pytest.raises(ValueError, match=r"seeds \[0, 1\], not \[0, 2\]"):
        train_ensemble(config, [0, 2], tmp_path, progress=False)
    with pytest.raises(ValueError, match="different configuration"):
        train_ensemble(dataclasses.replace(config, hidden=5), [0, 1], tmp_path, progress=False)
    with pytest.raises(ValueError, match="cannot be trained as an ensemble"):
        train_ensemble(dataclasses.replace(config, cell="lstm"), [0, 1], tmp_path / "other", progress=False)


def test_active_members_at_different_steps_are_refused(tmp_path):
    """Members step together, so a checkpoint whose active members disagree on the step was not written here."""
    config = TrainConfig(task="ses", length=8, word_length=2, cell="tanh", depth=1, hidden=4, steps=4,
                         eval_every=2, val_size=8, test_size=8)
    train_ensemble(config, [0, 1], tmp_path, progress=False)
    checkpoint = torch.load(tmp_path / "ensemble.pt", weights_only=True)
    checkpoint["members"][1]["state"]["step"] = 2
    torch.save(checkpoint, tmp_path / "ensemble.pt")
    with pytest.raises(ValueError, match=r"active members of this ensemble checkpoint are at different steps "
                                         r"\(\[2, 4\]\)"):
        train_ensemble(dataclasses.replace(config, steps=6), [0, 1], tmp_path, progress=False)


_KILLABLE = """
import sys
import torch
torch.set_num_threads(1)
from tnrnn.nn import TrainConfig, train_ensemble
config = TrainConfig.from_dict({config})
train_ensemble(config, {seeds}, sys.argv[1], progress=False)
"""


def test_kill_9_mid_ensemble_resumes_to_the_uninterrupted_result(tmp_path):
    config = TrainConfig(task="ses", length=10, word_length=2, cell="modrelu", depth=2, hidden=8,
                         orthogonal="scaled_cayley", steps=200, eval_every=10, val_size=16, test_size=32)
    seeds = [0, 1, 2]
    reference = train_ensemble(config, seeds, tmp_path / "reference", progress=False)
    out = tmp_path / "killed"
    script = _KILLABLE.format(config=config.to_dict(), seeds=seeds)
    process = subprocess.Popen([sys.executable, "-c", script, str(out)], stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    killed_at = None
    try:
        while time.time() < deadline and process.poll() is None:
            metrics = member_dir(out, 0) / "metrics.jsonl"
            if (out / "ensemble.pt").exists() and metrics.exists() and len(metrics.read_text().splitlines()) >= 3:
                process.send_signal(signal.SIGKILL)
                killed_at = len(metrics.read_text().splitlines())
                break
            time.sleep(0.01)
    finally:
        process.kill()
        process.wait()
    assert killed_at is not None and process.returncode == -signal.SIGKILL, "could not kill mid-way"
    resumed = train_ensemble(config, seeds, out, progress=False)
    for seed, mine, theirs in zip(seeds, resumed["members"], reference["members"]):
        assert without_time(read_metrics(member_dir(out, seed))) == without_time(
            read_metrics(member_dir(tmp_path / "reference", seed)))
        for key in ("steps", "final_loss", "accuracy", "test_accuracy", "best_loss"):
            assert mine[key] == theirs[key], key


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_ensemble_on_cuda_follows_the_cpu_run(tmp_path):
    config = TrainConfig.preset("paper", task="ses", length=12, word_length=2, depth=2, hidden=8, steps=30,
                                batch_size=16, eval_every=10, val_size=32, test_size=32)
    cpu = train_ensemble(config, [0, 1], tmp_path / "cpu", progress=False)
    gpu = train_ensemble(dataclasses.replace(config, device="cuda"), [0, 1], tmp_path / "gpu", progress=False)
    for a, b in zip(cpu["members"], gpu["members"]):
        assert a["steps"] == b["steps"]
        assert a["final_loss"] == pytest.approx(b["final_loss"], rel=1e-3)


@pytest.mark.parametrize("cell", ["rac", "tanh", "modrelu"])
def test_symbol_inputs_and_last_step_readout_equal_the_one_hot_pass(cell):
    torch.manual_seed(1)
    models = [DeepRNN(cell, 5, 3, hidden=6, depth=2, orthogonal="scaled_cayley", recurrent_clip=0.5).double()
              for _ in range(3)]
    tokens = torch.randint(0, 5, (3, 4, 7))
    one_hot = torch.nn.functional.one_hot(tokens, 5).double()
    full = stacked_forward(models, one_hot)
    weights = torch.randn(3, 4, 3, dtype=torch.float64)
    (full[:, :, -1] * weights).sum().backward()
    expected = [[p.grad.clone() for p in m.parameters()] for m in models]
    for m in models:
        m.zero_grad()
    last = stacked_forward(models, tokens, last_step_only=True)
    assert last.shape == (3, 4, 1, 3)
    assert torch.allclose(last[:, :, 0], full[:, :, -1], atol=1e-12, rtol=1e-10)
    (last[:, :, 0] * weights).sum().backward()
    for mine, theirs in zip(expected, [[p.grad for p in m.parameters()] for m in models]):
        for a, b in zip(mine, theirs):
            assert torch.allclose(a, b, atol=1e-12, rtol=1e-10)
    with pytest.raises(ValueError, match=r"symbol inputs must lie in \[0, 5\)"):
        stacked_forward(models, tokens + 1)

