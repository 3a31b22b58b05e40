"""The one small training loop (tnrnn.nn.loop.run_steps) and the two lens trainers that use it."""

from __future__ import annotations

import pytest
import torch

from tnrnn.nn.loop import LoopResult, run_steps


def _logged(steps, every, **kwargs):
    calls = []
    result = run_steps(lambda i: calls.append(("step", i)), steps,
                       lambda i: calls.append(("eval", i)) or f"record {i}", every=every, progress=False, **kwargs)
    return calls, result


@pytest.mark.parametrize("steps, every, evaluated", [
    (12, 5, [0, 5, 10, 12]),
    (10, 5, [0, 5, 10]),  # the last step is evaluated once
    (3, 1, [0, 1, 2, 3]),
    (4, 10, [0, 4]),
    (0, 3, [0]),
])
def test_evaluations_at_zero_every_k_and_the_last_step(steps, every, evaluated):
    calls, result = _logged(steps, every)
    assert result.evaluated == evaluated
    assert result.history == [f"record {i}" for i in evaluated]
    assert result.steps_done == steps and result.interrupted is False


def test_each_step_comes_before_its_evaluation_and_nothing_else_is_called():
    calls, _ = _logged(5, 2)
    assert calls == [("eval", 0), ("step", 1), ("step", 2), ("eval", 2), ("step", 3), ("step", 4), ("eval", 4),
                     ("step", 5), ("eval", 5)]


def test_ctrl_c_in_a_step_keeps_the_history_and_reports_the_stop():
    def step(i):
        if i == 7:
            raise KeyboardInterrupt

    result = run_steps(step, 20, lambda i: i * 10, every=3, progress=False)
    assert result == LoopResult(history=[0, 30, 60], evaluated=[0, 3, 6], steps_done=6, interrupted=True)


def test_ctrl_c_in_an_evaluation_keeps_the_earlier_records():
    def evaluate(i):
        if i == 4:
            raise KeyboardInterrupt
        return i

    result = run_steps(lambda i: None, 9, evaluate, every=2, progress=False)
    assert (result.history, result.evaluated, result.steps_done, result.interrupted) == ([0, 2], [0, 2], 4, True)


def test_ctrl_c_propagates_when_not_caught():
    def step(i):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_steps(step, 3, lambda i: i, every=1, progress=False, catch_interrupt=False)


def test_the_bar_shows_its_label_and_the_postfix(capsys):
    seen = []
    run_steps(lambda i: None, 4, lambda i: {"loss": 1.0 / (i + 1)}, every=2, desc="my label", progress=True,
              postfix=lambda record: seen.append(record) or {"loss": f"{record['loss']:.3f}"})
    assert "my label" in capsys.readouterr().err
    assert seen == [{"loss": 1 / 3}, {"loss": 1 / 5}]  # after each evaluation but the one at step 0


@pytest.mark.parametrize("steps, every, message", [
    (-1, 1, "steps must be a non-negative integer, got -1"),
    (2.0, 1, "steps must be a non-negative integer, got 2.0"),
    (True, 1, "steps must be a non-negative integer, got True"),
    (3, 0, "every must be a positive integer, got 0"),
])
def test_bad_arguments(steps, every, message):
    with pytest.raises(ValueError, match=message):
        run_steps(lambda i: None, steps, lambda i: i, every=every, progress=False)


def test_train_gated_lets_ctrl_c_through_so_no_unfinished_run_is_recorded():
    from tnrnn.lenses.timescale import GateVariant, build_gated_model, train_gated
    from tnrnn.nn.tasks import make_task

    task = make_task("adding", 6)
    model = build_gated_model(task, GateVariant("s"), hidden=4, seed=0)

    def callback(step, model, task):
        if step == 2:
            raise KeyboardInterrupt

    summary = train_gated(model, task, steps=3, batch_size=4, eval_every=1, eval_batch=8, progress=False)
    assert [line["step"] for line in summary["history"]] == [0, 1, 2, 3]
    with pytest.raises(KeyboardInterrupt):
        train_gated(model, task, steps=3, batch_size=4, eval_every=1, eval_batch=8, progress=False,
                    callbacks=[callback])


@pytest.mark.parametrize("raise_at_call, steps_recorded", [
    (1, [0]),  # in the first update of the RNN: nothing moved after step 0
    (7, [0, 2, 3]),  # in the RNN's update after step 3: step 3 recorded on the way out
])
def test_train_side_by_side_keeps_what_it_recorded_on_ctrl_c(monkeypatch, raise_at_call, steps_recorded):
    from tnrnn.lenses.linear import train_side_by_side

    real_step, calls = torch.optim.SGD.step, []

    def step(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == raise_at_call:
            raise KeyboardInterrupt
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.SGD, "step", step)
    result = train_side_by_side(8, 0.9, length=5, n_sequences=4, steps=12, record_every=2, progress=False)
    assert result.interrupted is True
    assert result.steps.tolist() == steps_recorded
    assert result.loss_rnn.shape == result.loss_conv.shape == (len(steps_recorded),)
    assert result.markov_rnn.shape == result.markov_conv.shape == (len(steps_recorded), 5)


def test_train_side_by_side_records_every_k_steps_and_the_last():
    from tnrnn.lenses.linear import train_side_by_side

    result = train_side_by_side(8, 0.9, length=5, n_sequences=4, steps=7, record_every=3, progress=False)
    assert result.steps.tolist() == [0, 3, 6, 7] and result.interrupted is False
    zero = train_side_by_side(8, 0.9, length=5, n_sequences=4, steps=0, record_every=3, progress=False)
    assert zero.steps.tolist() == [0] and zero.markov_rnn.shape == (1, 5)
