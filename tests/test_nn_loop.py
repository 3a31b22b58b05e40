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


def test_a_resumed_loop_starts_after_start_and_evaluates_on_the_same_schedule():
    calls, result = _logged(12, 5, start=7, evaluate_first=False)
    assert calls == [("step", 8), ("step", 9), ("step", 10), ("eval", 10), ("step", 11), ("step", 12), ("eval", 12)]
    assert result.evaluated == [10, 12] and result.steps_done == 12
    calls, result = _logged(5, 2, start=5)  # nothing left: the first evaluation only
    assert calls == [("eval", 5)] and result.steps_done == 5
    calls, result = _logged(5, 2, start=8, evaluate_first=False)  # past the cap: nothing at all
    assert calls == [] and result.steps_done == 8


def test_an_extra_evaluation_when_a_steps_outcome_asks_for_it():
    outcomes = {3: "bad", 4: "bad"}
    result = run_steps(lambda i: outcomes.get(i, "ok"), 9, lambda i: i, every=4, evaluate_when=lambda o: o == "bad",
                       progress=False)
    assert result.evaluated == [0, 3, 4, 8, 9]  # step 4 once


def test_done_is_asked_before_every_step():
    taken = []
    result = run_steps(taken.append, 10, lambda i: i, every=3, done=lambda: len(taken) == 4, progress=False)
    assert taken == [1, 2, 3, 4] and result.evaluated == [0, 3] and result.steps_done == 4
    assert not result.interrupted
    untouched = run_steps(taken.append, 10, lambda i: i, every=3, done=lambda: True, progress=False)
    assert untouched.evaluated == [0] and untouched.steps_done == 0 and taken == [1, 2, 3, 4]


@pytest.mark.parametrize("catch", [False, True])
def test_a_deferred_ctrl_c_lets_the_step_finish_then_calls_on_interrupt(catch):
    import os
    import signal

    calls = []

    def step(i):
        calls.append(("step", i))
        if i == 3:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C in the middle of step 3
            calls.append(("step 3 finished", i))

    def run():
        return run_steps(step, 10, lambda i: calls.append(("eval", i)) or i, every=2, progress=False,
                         defer_interrupt=True, on_interrupt=lambda i: calls.append(("on_interrupt", i)),
                         catch_interrupt=catch)

    before = signal.getsignal(signal.SIGINT)
    if catch:
        result = run()
        assert result.interrupted and result.steps_done == 3 and result.evaluated == [0, 2]
    else:
        with pytest.raises(KeyboardInterrupt):
            run()
    assert calls == [("eval", 0), ("step", 1), ("step", 2), ("eval", 2), ("step", 3), ("step 3 finished", 3),
                     ("on_interrupt", 3)]
    assert signal.getsignal(signal.SIGINT) is before  # the handler is put back


@pytest.mark.parametrize("last", [True, False])
def test_a_deferred_ctrl_c_in_the_last_step_still_stops_the_caller(last):
    # the loop's work is complete, but a sweep must not go on to its next run
    import os
    import signal

    def step(i):
        if i == 3:
            os.kill(os.getpid(), signal.SIGINT)

    saved = []
    done = None if last else (lambda: len(saved) == 0 and bool(evaluated) and evaluated[-1] == 3)
    evaluated = []

    def evaluate(i):
        evaluated.append(i)
        return i

    with pytest.raises(KeyboardInterrupt):
        run_steps(step, 3 if last else 10, evaluate, every=3, progress=False, defer_interrupt=True,
                  on_interrupt=saved.append, catch_interrupt=False, done=done)
    assert evaluated == [0, 3] and saved == [3]
    caught = run_steps(step, 3, lambda i: i, every=3, progress=False, defer_interrupt=True)
    assert caught.interrupted and caught.steps_done == 3 and caught.evaluated == [0, 3]


def test_the_bar_shows_the_step_postfix_where_no_evaluation_postfix_is(capsys):
    shown = []
    run_steps(lambda i: i * 10, 5, lambda i: {"loss": i}, every=2, desc="label", start=1, evaluate_first=False,
              postfix=lambda record: shown.append(("eval", record["loss"])) or {},
              step_postfix=lambda outcome: shown.append(("step", outcome)) or {})
    assert shown == [("eval", 2), ("step", 30), ("eval", 4), ("eval", 5)]
    assert "label" in capsys.readouterr().err
    shown.clear()
    run_steps(lambda i: i * 10, 3, lambda i: i, every=2, progress=False, postfix=shown.append,
              step_postfix=shown.append)
    assert shown == []  # nothing is formatted for a bar that is not shown


def test_bad_start():
    with pytest.raises(ValueError, match="start must be a non-negative integer, got -1"):
        run_steps(lambda i: None, 3, lambda i: i, every=1, start=-1, progress=False)


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
