"""Training loop: learning, orthogonality under training, schedule, files, exact resumption."""

from __future__ import annotations

import json
import os
import signal

import pytest
import torch

import tnrnn.nn.training as training
from tnrnn.nn import ORTHOGONAL_MAPS, TrainConfig, load_run, train

pytestmark = pytest.mark.usefixtures("one_thread")


def tiny(**overrides) -> TrainConfig:
    base = dict(task="copying", length=3, alphabet=4, word_length=3, cell="modrelu", depth=2, hidden=16,
                orthogonal="cayley", steps=30, batch_size=16, eval_every=10, val_size=64, lr=3e-3,
                lr_orthogonal=3e-4, seed=0)
    base.update(overrides)
    return TrainConfig(**base)


def read_metrics(path):
    return [json.loads(line) for line in open(path / "metrics.jsonl")]


def without_time(lines):
    return [{k: v for k, v in line.items() if k != "seconds"} for line in lines]


def test_depth2_beats_copying_baseline(tmp_path):
    config = tiny(steps=150, batch_size=32, eval_every=50, hidden=24)
    summary = train(config, tmp_path, progress=False)
    assert summary["steps"] == 150
    assert summary["final_loss"] < 0.5 * summary["baseline_loss"]
    assert summary["accuracy"] > 0.6  # chance is 1/4 on the recalled symbols


@pytest.mark.parametrize("orthogonal_map", ORTHOGONAL_MAPS)
def test_orthogonality_held_after_training(tmp_path, orthogonal_map):
    config = tiny(orthogonal=orthogonal_map, steps=20, lr_orthogonal=1e-2, depth=2, cell="tanh")
    task = config.make_task()
    from tnrnn.nn import build_model

    initial = [w.clone() for w in build_model(config, task).hidden_matrices()]
    train(config, tmp_path, progress=False)
    model, _, _ = load_run(tmp_path)
    assert model.orthogonality_error() < 1e-5
    moved = max(float((w - w0).abs().max()) for w, w0 in zip(model.hidden_matrices(), initial))
    assert moved > 1e-3  # the orthogonal parameters were trained
    lines = read_metrics(tmp_path)
    assert all(line["orthogonality_error"] < 1e-5 for line in lines)
    assert all(line["lr_orthogonal"] == 1e-2 for line in lines)


def test_run_files_and_summary(tmp_path):
    calls = []

    def callback(step, model, task):
        calls.append(step)
        assert not model.training
        return {"custom": step * 2}

    summary = train(tiny(steps=25), tmp_path, callbacks=[callback], progress=False)
    for key in ("steps", "final_loss", "baseline_loss", "accuracy", "parameters"):
        assert key in summary
    assert calls == [10, 20, 25]  # every eval_every steps and at the end
    lines = read_metrics(tmp_path)
    assert [line["step"] for line in lines] == [10, 20, 25]
    assert [line["custom"] for line in lines] == [20, 40, 50]
    assert summary["final_loss"] == lines[-1]["val_loss"] and summary["accuracy"] == lines[-1]["accuracy"]
    assert TrainConfig.from_dict(json.loads((tmp_path / "config.json").read_text())) == tiny(steps=25)
    checkpoint = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert checkpoint["state"]["step"] == 25
    model, config, task = load_run(tmp_path)
    loss, metric = training.evaluate_model(model, task, *task.sample(
        config.val_size, torch.Generator().manual_seed(config.seed + (1 << 40))), chunk=config.batch_size)
    assert loss == pytest.approx(summary["final_loss"], rel=1e-6)
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_resume_equals_uninterrupted(tmp_path):
    full = tmp_path / "full"
    train(tiny(steps=40), full, progress=False)
    part = tmp_path / "part"
    train(tiny(steps=20), part, progress=False)
    summary = train(tiny(steps=40), part, progress=False)
    assert summary["steps"] == 40
    assert without_time(read_metrics(part)) == without_time(read_metrics(full))
    a, b = torch.load(full / "checkpoint.pt", weights_only=True), torch.load(part / "checkpoint.pt", weights_only=True)
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])


def test_the_checkpoint_state_is_the_dict_every_version_reads(tmp_path):
    """The schedule state is written with the same keys, order and values as ever; a key an old
    checkpoint lacks takes a new run's value, a key unknown here is written back."""
    train(tiny(steps=10, eval_every=4), tmp_path, progress=False)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["state"]
    assert list(state) == ["step", "train_sum", "train_count", "best_loss", "best_tracked", "bad_evals", "plateaus",
                           "stopped", "elapsed", "last", "best_step", "ended"]
    assert state["step"] == 10 and state["best_step"] == 10 and state["ended"] is None
    assert training._RunState.from_dict(state).to_dict() == state
    old = {k: v for k, v in state.items() if k not in ("best_tracked", "best_step", "ended")}
    restored = training._RunState.from_dict({**old, "later": [1]})
    assert (restored.best_tracked, restored.best_step, restored.ended) == (float("inf"), None, None)
    assert restored.to_dict() == {**state, "best_tracked": float("inf"), "best_step": None, "ended": None,
                                  "later": [1]}
    assert list(restored.to_dict())[-1] == "later"


def on_training_forward(monkeypatch, n: int, action) -> None:
    """Make every model `train` builds call ``action(output)`` on its n-th training forward pass
    (whatever ``action`` returns, if not None, replaces the output)."""
    build = training.build_model
    forwards = {"n": 0}

    def build_with_hook(config, task):
        model = build(config, task)

        def hook(module, args, output):
            if module.training:
                forwards["n"] += 1
                if forwards["n"] == n:
                    return action(output)
            return None

        model.register_forward_hook(hook)
        return model

    monkeypatch.setattr(training, "build_model", build_with_hook)


def test_interrupt_mid_interval_then_resume(tmp_path, monkeypatch):
    """Ctrl-C between evaluations saves the last finished step; resuming repeats and loses nothing."""
    full = tmp_path / "full"
    train(tiny(steps=30), full, progress=False)

    build = training.build_model
    on_training_forward(monkeypatch, 14, lambda output: os.kill(os.getpid(), signal.SIGINT))
    part = tmp_path / "part"
    with pytest.raises(KeyboardInterrupt):
        train(tiny(steps=30), part, progress=False)
    saved = torch.load(part / "checkpoint.pt", weights_only=True)
    assert saved["state"]["step"] == 14 and saved["state"]["train_count"] == 4
    monkeypatch.setattr(training, "build_model", build)
    train(tiny(steps=30), part, progress=False)
    assert without_time(read_metrics(part)) == without_time(read_metrics(full))


def test_crash_after_metrics_before_checkpoint(tmp_path, monkeypatch):
    """A metrics line written after the last checkpoint is dropped on resume, then rewritten once."""
    full = tmp_path / "full"
    train(tiny(steps=30), full, progress=False)

    def crash(step, model, task):
        if step == 20:
            raise RuntimeError("simulated crash")

    part = tmp_path / "part"
    with pytest.raises(RuntimeError):
        train(tiny(steps=30), part, callbacks=[crash], progress=False)
    with open(part / "metrics.jsonl", "a") as fh:  # as if the line had been written before the crash
        fh.write(json.dumps({"step": 20, "val_loss": -1.0}) + "\n")
    train(tiny(steps=30), part, progress=False)
    assert without_time(read_metrics(part)) == without_time(read_metrics(full))


def test_plateau_schedule_and_early_stop(tmp_path):
    config = tiny(steps=200, plateau_patience=1, plateau_threshold=100.0, max_plateaus=2, plateau_factor=0.5)
    summary = train(config, tmp_path, progress=False)
    lines = read_metrics(tmp_path)
    assert [line["step"] for line in lines] == [10, 20, 30]
    assert "event" not in lines[0]  # the first evaluation always improves on +inf
    assert lines[1]["event"].startswith("plateau 1") and lines[2]["event"].startswith("early stop")
    assert [line["lr"] for line in lines] == [3e-3, 3e-3, 1.5e-3]
    assert lines[2]["lr_orthogonal"] == pytest.approx(1.5e-4)
    assert summary["stopped_early"] and summary["steps"] == 30
    assert summary["final_loss"] == pytest.approx(lines[0]["val_loss"])  # best weights restored
    model, config2, task = load_run(tmp_path)
    assert train(config, tmp_path, progress=False)["steps"] == 30  # a stopped run stays stopped


def test_other_configuration_in_same_directory(tmp_path):
    train(tiny(steps=10), tmp_path, progress=False)
    with pytest.raises(ValueError, match=r"hidden: 16 != 32"):
        train(tiny(steps=10, hidden=32), tmp_path, progress=False)
    with pytest.raises(ValueError, match=r"seed: 0 != 1"):
        train(tiny(steps=10, seed=1), tmp_path, progress=False)


def test_checkpoint_from_other_architecture(tmp_path):
    train(tiny(steps=10), tmp_path, progress=False)
    stored = json.loads((tmp_path / "config.json").read_text())
    stored["hidden"] = 8
    (tmp_path / "config.json").write_text(json.dumps(stored))
    with pytest.raises(ValueError, match=r"different architecture: .*layers.0.input.weight: checkpoint \(16, 6\) "
                                         r"vs model \(8, 6\)"):
        load_run(tmp_path)
    with pytest.raises(ValueError, match="different architecture"):
        train(TrainConfig.from_dict(stored), tmp_path, progress=False)


def test_load_run_errors(tmp_path):
    with pytest.raises(ValueError, match="config.json is missing"):
        load_run(tmp_path)
    with pytest.raises(ValueError, match="must be a TrainConfig"):
        train({"task": "copying"}, tmp_path)


@pytest.mark.parametrize("task,length,cell", [("ses", 8, "gru"), ("adding", 6, "lstm"), ("ses", 6, "rac")])
def test_other_tasks_and_cells_train(tmp_path, task, length, cell):
    config = TrainConfig(task=task, length=length, alphabet=3 if task == "ses" else None, cell=cell, depth=2,
                         hidden=8, steps=6, batch_size=8, eval_every=3, val_size=16)
    summary = train(config, tmp_path, progress=False)
    assert summary["steps"] == 6 and summary["baseline_loss"] > 0 and 0 <= summary["accuracy"] <= 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_training(tmp_path):
    summary = train(tiny(steps=10, device="cuda"), tmp_path, progress=False)
    model, _, _ = load_run(tmp_path, device="cuda")
    assert summary["steps"] == 10 and next(model.parameters()).is_cuda


def test_plot_training(tmp_path):
    from tnrnn.nn.plots import main, plot_training

    train(tiny(steps=20), tmp_path / "a", progress=False)
    train(tiny(steps=20, depth=1), tmp_path / "b", progress=False)
    out = plot_training([tmp_path / "a", tmp_path / "b"], tmp_path / "fig" / "curve.png")
    assert out.exists() and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size < 500_000
    assert main([str(tmp_path / "c.png"), str(tmp_path / "a")]) == 0 and (tmp_path / "c.png").exists()
    train(TrainConfig(task="adding", length=4, cell="gru", depth=1, hidden=4, steps=2, batch_size=4,
                      eval_every=1, val_size=8), tmp_path / "adding", progress=False)
    with pytest.raises(ValueError, match="different tasks"):
        plot_training({"copy": tmp_path / "a", "add": tmp_path / "adding"}, tmp_path / "d.png")
    with pytest.raises(ValueError, match="no metrics"):
        plot_training(tmp_path / "missing", tmp_path / "e.png")


def test_divergence_stops_and_restores_best(tmp_path, monkeypatch):
    on_training_forward(monkeypatch, 15, lambda output: output * float("nan"))
    summary = train(tiny(steps=30), tmp_path, progress=False)
    lines = read_metrics(tmp_path)
    assert [line["step"] for line in lines] == [10, 15]
    assert lines[-1]["event"].startswith("diverged")
    assert summary["stopped_early"] and summary["steps"] == 15
    assert summary["final_loss"] == pytest.approx(lines[0]["val_loss"])  # weights of step 10


@pytest.mark.parametrize("threshold, best_step", [(1e-3, 30), (10.0, 10)])
def test_the_summary_scores_the_best_weights_on_validation(tmp_path, threshold, best_step):
    """The summary's validation scores are the best weights' own, whether it takes them from the last
    check (best at the last step) or scores the restored weights afresh (best earlier: a threshold
    no later check can beat)."""
    config = tiny(steps=30, eval_every=10, plateau_threshold=threshold)
    summary = train(config, tmp_path, progress=False)
    assert summary["best_step"] == best_step
    model, config, task = load_run(tmp_path)  # the best-validation weights
    validation = training._FixedSet(task, config.val_size, config.seed + training._VALIDATION_SEED_OFFSET)
    loss, metric = training.evaluate_model(model, task, validation, chunk=max(config.batch_size, 512), config=config,
                                           seed=config.seed + training._EVAL_STATE_SEED_OFFSET)
    assert (summary["final_loss"], summary["accuracy"]) == (loss, metric)
