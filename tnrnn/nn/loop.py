"""The one training loop: steps, evaluations on a schedule, a stop rule, a progress bar and a clean Ctrl-C.

:func:`run_steps` is the loop every trainer of the package runs on. It knows nothing of
models, optimisers or losses: the caller's ``step(i)`` does one optimisation step and its
``evaluate(i)`` returns what to record; the loop decides when each is called, when to stop,
what Ctrl-C does and what the bar shows.

* :func:`tnrnn.nn.train` and :func:`tnrnn.nn.train_ensemble` (:mod:`tnrnn.nn.training`): one
  ``step`` advances every active seed of the run or ensemble. A resumed run starts at its
  checkpoint's step (``start``) without an evaluation there (``evaluate_first=False``); it
  evaluates every ``eval_every`` steps, at the cap, and at once after a step whose training
  loss is non-finite (``evaluate_when``); it ends when no seed is active any more (``done``:
  plateau stop, cap or divergence); Ctrl-C waits for the step in progress, then the
  checkpoint is saved (``defer_interrupt``, ``on_interrupt``) and ``KeyboardInterrupt``
  raised.
* The two lenses (:func:`tnrnn.lenses.timescale.train_gated`: Adam on sampled batches;
  :func:`tnrnn.lenses.linear.train_side_by_side`: full-batch gradient descent of two models
  side by side) use the defaults: steps 1..N, evaluations at 0, every k steps and at N, and
  Ctrl-C either propagated or turned into a result that says it was interrupted.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["LoopResult", "run_steps", "on_schedule"]

Record = TypeVar("Record")
Outcome = TypeVar("Outcome")


@dataclass
class LoopResult(Generic[Record]):
    """What :func:`run_steps` recorded.

    Attributes
    ----------
    history : list
        The values ``evaluate(i)`` returned, in order.
    evaluated : list of int
        The step of each entry of ``history``.
    steps_done : int
        The last step whose ``step(i)`` returned (``start``, 0 by default, if none did).
    interrupted : bool
        True if Ctrl-C (``KeyboardInterrupt``) stopped the loop early.
    """

    history: list[Record] = field(default_factory=list)
    evaluated: list[int] = field(default_factory=list)
    steps_done: int = 0
    interrupted: bool = False


def on_schedule(i: int, every: int, steps: int) -> bool:
    """Whether :func:`run_steps` evaluates after step ``i`` by its schedule: every ``every`` steps and the last.

    Examples
    --------
    >>> [i for i in range(1, 13) if on_schedule(i, 5, 12)]
    [5, 10, 12]
    """
    return i % every == 0 or i == steps


class _DeferInterrupt:
    """Turn the first Ctrl-C into a flag the loop checks between steps (main thread only).

    A second Ctrl-C raises ``KeyboardInterrupt`` at once, wherever the program is.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        self.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C stops at once

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


class _NoDeferral:
    """Ctrl-C left alone: it raises ``KeyboardInterrupt`` wherever the loop is."""

    requested = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def run_steps(step: Callable[[int], Outcome], steps: int, evaluate: Callable[[int], Record], *, every: int,
              desc: str = "train", progress: bool = True, leave: bool = True,
              postfix: Callable[[Record], Mapping[str, object]] | None = None,
              catch_interrupt: bool = True, start: int = 0, evaluate_first: bool = True,
              evaluate_when: Callable[[Outcome], bool] | None = None, done: Callable[[], bool] | None = None,
              defer_interrupt: bool = False, on_interrupt: Callable[[int], None] | None = None,
              step_postfix: Callable[[Outcome], Mapping[str, object]] | None = None) -> LoopResult[Record]:
    """Call ``step(start + 1)`` .. ``step(steps)``, recording ``evaluate(i)`` every ``every`` steps and at the end.

    The order is exactly: ``evaluate(start)`` (if ``evaluate_first``), then for
    ``i = start + 1 .. steps``: stop if ``done()``; stop if a deferred Ctrl-C is pending;
    ``outcome = step(i)``; ``evaluate(i)`` if ``i % every == 0`` or ``i == steps`` (see
    :func:`on_schedule`) or ``evaluate_when(outcome)``. Nothing else is called between them,
    so a trainer moved onto this loop keeps its numbers bit for bit.

    Parameters
    ----------
    step : callable
        ``step(i) -> outcome``: optimisation step number ``i`` (1-based); the outcome is
        passed to ``evaluate_when`` and ``step_postfix`` (and otherwise ignored).
    steps : int
        N >= 0, the last step (``steps <= start``: no step is taken).
    evaluate : callable
        ``evaluate(i) -> record``: what to keep after step ``i`` (``i = start``: before any step).
    every : int
        Evaluate every ``every`` steps (>= 1), and after step N.
    desc : str
        The label of the tqdm bar.
    progress : bool
        Show the bar.
    leave : bool
        Leave the finished bar on screen.
    postfix : callable, optional
        ``postfix(record) -> mapping`` shown on the bar after each step that was evaluated.
    catch_interrupt : bool
        Turn Ctrl-C (``KeyboardInterrupt``) into a clean stop that returns what was recorded,
        with ``interrupted=True`` (default); ``False`` lets it propagate.
    start : int
        The steps already done (>= 0), e.g. by a run resumed from a checkpoint; the bar starts there.
    evaluate_first : bool
        Record ``evaluate(start)`` before the first step (default); ``False`` for a run whose
        step ``start`` was already recorded.
    evaluate_when : callable, optional
        ``evaluate_when(outcome) -> bool``: evaluate after a step off the schedule too when it
        returns True (``tnrnn.nn.train``: a non-finite training loss).
    done : callable, optional
        ``done() -> bool``, asked before every step: True ends the loop there (``tnrnn.nn.train``:
        no seed is active any more).
    defer_interrupt : bool
        Let the step (or evaluation) in progress finish on Ctrl-C: the loop stops before the
        next step, calls ``on_interrupt``, and raises ``KeyboardInterrupt`` (handled as
        ``catch_interrupt`` says). A Ctrl-C during the last step, or while ``done()`` ends the
        loop, does the same once that step is recorded: the loop has ended, but the caller
        asked to stop (a sweep must not go on to its next run). A second Ctrl-C stops at
        once. Signals reach the main thread only; elsewhere Ctrl-C is not seen by the loop.
    on_interrupt : callable, optional
        ``on_interrupt(i)``, with ``i`` the last finished step: called when a deferred Ctrl-C
        stops the loop (``tnrnn.nn.train``: save a checkpoint).
    step_postfix : callable, optional
        ``step_postfix(outcome) -> mapping`` shown on the bar after each step that ``postfix``
        does not cover (every step when ``postfix`` is None).

    Returns
    -------
    LoopResult
        ``history`` (the records), ``evaluated`` (their steps), ``steps_done``, ``interrupted``.

    Raises
    ------
    ValueError
        If ``steps`` or ``start`` is not a non-negative integer or ``every`` not a positive one.
    KeyboardInterrupt
        On Ctrl-C with ``catch_interrupt=False``.

    Notes
    -----
    The postfix callables run only while the bar is shown. The loop itself costs a few
    Python calls per step.

    Examples
    --------
    >>> state = {"x": 10.0}
    >>> def halve(i):
    ...     state["x"] /= 2
    >>> result = run_steps(halve, 5, lambda i: state["x"], every=2, progress=False)
    >>> result.evaluated, result.history
    ([0, 2, 4, 5], [10.0, 2.5, 0.625, 0.3125])
    >>> def stop_at_3(i):
    ...     if i == 3:
    ...         raise KeyboardInterrupt
    >>> result = run_steps(stop_at_3, 10, lambda i: i, every=1, progress=False)
    >>> result.history, result.steps_done, result.interrupted
    ([0, 1, 2], 2, True)

    Resuming after step 4 of 12 without evaluating there, with an evaluation off the
    schedule after a step whose loss is not finite, stopping once ``done()`` says so:

    >>> taken = []
    >>> def step(i):
    ...     taken.append(i)
    ...     return float("nan") if i == 6 else 1.0
    >>> result = run_steps(step, 12, lambda i: i, every=5, start=4, evaluate_first=False,
    ...                    evaluate_when=lambda loss: loss != loss, done=lambda: len(taken) == 5, progress=False)
    >>> taken, result.evaluated, result.steps_done
    ([5, 6, 7, 8, 9], [5, 6], 9)
    """
    from tqdm.auto import tqdm

    for name, value in (("steps", steps), ("start", start)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be a positive integer, got {every!r}")
    result: LoopResult[Record] = LoopResult(steps_done=start)

    def record(i: int) -> None:
        value = evaluate(i)
        result.history.append(value)
        result.evaluated.append(i)

    bar = None
    try:
        with _DeferInterrupt() if defer_interrupt else _NoDeferral() as interrupt:
            if evaluate_first:
                record(start)
            bar = tqdm(total=steps, initial=start, desc=desc, unit="step", disable=not progress, leave=leave,
                       dynamic_ncols=True)
            for i in range(start + 1, steps + 1):
                if done is not None and done():
                    break
                if interrupt.requested:
                    if on_interrupt is not None:
                        on_interrupt(result.steps_done)
                    raise KeyboardInterrupt
                outcome = step(i)
                result.steps_done = i
                evaluated = on_schedule(i, every, steps) or (evaluate_when is not None and evaluate_when(outcome))
                if evaluated:
                    record(i)
                bar.update(1)
                if progress:
                    if evaluated and postfix is not None:
                        bar.set_postfix(postfix(result.history[-1]))
                    elif step_postfix is not None:
                        bar.set_postfix(step_postfix(outcome))
            if interrupt.requested:  # pressed during the last step: the work is done, but stop the caller
                if on_interrupt is not None:
                    on_interrupt(result.steps_done)
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        if not catch_interrupt:
            raise
        result.interrupted = True
    finally:
        if bar is not None:
            bar.close()
    return result
