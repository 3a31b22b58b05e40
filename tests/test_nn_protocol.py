"""The published protocol: best-validation weights tested, how runs end, the preset's settings."""

from __future__ import annotations

import json

import pytest
import torch

import tnrnn.nn.training as training
from tnrnn.nn import TrainConfig, load_run, train, train_ensemble
from tnrnn.nn.config import PRESETS, preset_fields

pytestmark = pytest.mark.usefixtures("one_thread")


def tiny(**overrides) -> TrainConfig:
    base = dict(task="ses", length=8, word_length=2, alphabet=4, cell="modrelu", depth=1, hidden=12,
                orthogonal="scaled_cayley", steps=40, batch_size=32, eval_every=10, val_size=256,
                test_size=256, lr=1e-2, lr_orthogonal=1e-3, seed=3)
    base.update(overrides)
    return TrainConfig(**base)


def spoil_at(last_step: int):
    """A callback that wipes the readout at the evaluation of ``last_step`` (after it was scored)."""
    def callback(step, model, task):
        if step == last_step:
            with torch.no_grad():  # large random readout: confident, mostly wrong answers
                model.readout.weight.normal_(0.0, 30.0, generator=torch.Generator().manual_seed(0))
        return None
    return callback


def read_metrics(path):
    return [json.loads(line) for line in open(path / "metrics.jsonl")]


def test_capped_run_is_tested_on_its_best_weights(tmp_path):
    # Steps 10..30 train; the evaluation at step 30 spoils the network, then step 40 is scored
    # on spoiled weights. The run hits its cap: the test must still score the best weights.
    summary = train(tiny(), tmp_path, callbacks=[spoil_at(30)], progress=False)
    lines = read_metrics(tmp_path)
    assert summary["ended"] == "cap" and not summary["stopped_early"] and summary["steps"] == 40
    best_line = min(lines, key=lambda line: line["val_loss"])
    assert summary["best_step"] == best_line["step"] != 40
    assert summary["final_loss"] == pytest.approx(best_line["val_loss"], rel=1e-9)
    assert summary["last_val_loss"] == pytest.approx(lines[-1]["val_loss"])
    assert lines[-1]["val_loss"] > best_line["val_loss"] + 0.05  # the last weights really are worse
    # the test score is the best weights' score, recomputed here from the checkpoint
    model, config, task = load_run(tmp_path)
    test = training._FixedSet(task, config.test_size, config.seed + training._TEST_SEED_OFFSET)
    loss, metric = training.evaluate_model(model, task, test, chunk=512, config=config,
                                           seed=config.seed + training._EVAL_STATE_SEED_OFFSET)
    assert summary["test_loss"] == pytest.approx(loss, rel=1e-9) and summary["test_accuracy"] == metric
    # the checkpoint keeps the current (spoiled) weights for resumption, the best ones beside them
    checkpoint = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert float(checkpoint["model"]["readout.weight"].abs().max()) > 10.0
    assert float(checkpoint["best_model"]["readout.weight"].abs().max()) < 10.0


def test_resuming_a_capped_run_continues_from_its_last_weights(tmp_path):
    full = tmp_path / "full"
    train(tiny(steps=60), full, progress=False)
    part = tmp_path / "part"
    first = train(tiny(steps=30), part, progress=False)
    assert first["ended"] == "cap"
    second = train(tiny(steps=60), part, progress=False)  # raising the cap resumes the same run
    assert [m["val_loss"] for m in read_metrics(part)] == [m["val_loss"] for m in read_metrics(full)]
    assert second["steps"] == 60 and second["ended"] == "cap"


def test_plateau_end_is_recorded(tmp_path):
    summary = train(tiny(steps=500, plateau_patience=2, plateau_threshold=50.0), tmp_path, progress=False)
    lines = read_metrics(tmp_path)
    assert summary["ended"] == "plateau" and summary["stopped_early"]
    assert summary["best_step"] == 10  # nothing improves by 50 after the first check
    assert [line["step"] for line in lines] == [10, 20, 30, 40, 50]
    assert lines[2]["event"].startswith("plateau 1") and lines[4]["event"].startswith("early stop")


def test_published_plateau_counting_more_than_ten_flat_checks(tmp_path):
    # paper preset: a plateau after more than 10 flat checks (patience 11), the second one stops
    config = TrainConfig.preset("paper", task="ses", length=8, word_length=2, alphabet=4, depth=1, hidden=6,
                                steps=1000, eval_every=1, val_size=16, test_size=16, plateau_threshold=50.0,
                                batch_size=8)
    summary = train(config, tmp_path, progress=False)
    events = {line["step"]: line["event"] for line in read_metrics(tmp_path) if "event" in line}
    assert list(events) == [12, 23]  # check 1 improves on +inf, checks 2..12 are 11 flat ones
    assert events[12].startswith("plateau 1") and events[23].startswith("early stop")
    assert summary["ended"] == "plateau" and summary["steps"] == 23


def test_ensemble_members_are_tested_on_their_best_weights(tmp_path):
    ensemble = train_ensemble(tiny(), [3, 4], tmp_path, callbacks=[spoil_at(30)], progress=False)
    for member in ensemble["members"]:
        lines = read_metrics(tmp_path / f"seed-{member['seed']}")
        best_line = min(lines, key=lambda line: line["val_loss"])
        assert member["ended"] == "cap" and member["best_step"] == best_line["step"] != 40
        assert member["final_loss"] == pytest.approx(best_line["val_loss"], rel=1e-5)


def test_paper_preset_is_the_published_protocol():
    c = TrainConfig.preset("paper", task="ses", length=40, word_length=8)
    assert (c.lr, c.lr_orthogonal, c.batch_size, c.eval_every) == (1e-3, 1e-4, 128, 1000)
    assert (c.plateau_threshold, c.plateau_patience, c.plateau_factor, c.max_plateaus) == (1e-3, 11, 0.1, 2)
    assert c.steps == 50_000 and c.test_size == 10_000 and c.val_size >= 100_000
    assert c.rmsprop_alpha == 0.9 and c.rmsprop_initial == 1.0 and c.recurrent_clip == 10.0 and c.clip is None


@pytest.mark.parametrize("delay", [10, 100])
def test_paper_preset_copying_is_the_marker_layout(delay):
    c = TrainConfig.preset("paper", task="copying", length=delay)
    task = c.make_task()
    assert (c.variant, task.alphabet, task.word_length) == ("marker", 32, 30)
    assert task.sequence_length == delay + 60
    assert c.plateau_threshold == pytest.approx(1e-3 * 30 / (delay + 60))
    tokens, targets = task.sample_tokens(4, torch.Generator().manual_seed(0))
    assert bool((tokens[:, task.sequence_length - 30] == task.delimiter).all())  # the marker at T - m
    # fields given explicitly win over the copying defaults
    other = TrainConfig.preset("paper", task="copying", length=delay, variant="arjovsky", plateau_threshold=0.01)
    assert (other.variant, other.plateau_threshold) == ("arjovsky", 0.01)
    assert PRESETS["paper"]["plateau_threshold"] == 1e-3  # the dict itself is not changed
    assert preset_fields("paper", task="ses", length=8)["plateau_threshold"] == 1e-3


def test_training_runs_on_one_thread_and_restores_the_setting(tmp_path):
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        seen = []
        train(tiny(steps=10), tmp_path / "one", callbacks=[lambda s, m, t: seen.append(torch.get_num_threads())],
              progress=False)
        assert seen == [1] and torch.get_num_threads() == 2
        train(tiny(steps=10), tmp_path / "two", callbacks=[lambda s, m, t: seen.append(torch.get_num_threads())],
              progress=False, threads=None)
        assert seen == [1, 2]
        with pytest.raises(ValueError, match="threads must be a positive integer"):
            train(tiny(steps=10), tmp_path / "bad", progress=False, threads=0)
        assert not (tmp_path / "bad").exists()
    finally:
        torch.set_num_threads(before)
