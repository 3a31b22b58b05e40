"""One small training loop: steps 1..N, evaluations at 0, every k steps and at N, Ctrl-C a clean stop.

:func:`run_steps` is the loop both lenses train with (:func:`tnrnn.lenses.timescale.train_gated`:
Adam on sampled batches; :func:`tnrnn.lenses.linear.train_side_by_side`: full-batch
gradient descent of two models side by side). It knows nothing of models, optimisers or
losses: the caller's ``step(i)`` does one optimisation step and its ``evaluate(i)`` returns
what to record.

How it relates to :func:`tnrnn.nn.train`: that function (:mod:`tnrnn.nn.training`) builds its
model from a :class:`~tnrnn.nn.TrainConfig` and adds what a long experiment needs and this
loop leaves out: metrics files and checkpoints, resuming an interrupted run, the plateau
rule that stops a run, divergence checks, several seeds stepped together as one ensemble,
and a Ctrl-C that waits for the step in progress and saves a checkpoint before stopping.
It keeps its own loop, so the numbers of the stored experiments do not depend on this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["LoopResult", "run_steps"]

Record = TypeVar("Record")


@dataclass
class LoopResult(Generic[Record]):
    """What :func:`run_steps` recorded.

    Attributes
    ----------
    history : list
        The values ``evaluate(i)`` returned, in order.
    evaluated : list of int
        The step of each entry of ``history`` (0, every ``every``-th step, and the last).
    steps_done : int
        The last step whose ``step(i)`` returned (0 if none did).
    interrupted : bool
        True if Ctrl-C (``KeyboardInterrupt``) stopped the loop early.
    """

    history: list[Record] = field(default_factory=list)
    evaluated: list[int] = field(default_factory=list)
    steps_done: int = 0
    interrupted: bool = False


def run_steps(step: Callable[[int], object], steps: int, evaluate: Callable[[int], Record], *, every: int,
              desc: str = "train", progress: bool = True, leave: bool = True,
              postfix: Callable[[Record], Mapping[str, object]] | None = None,
              catch_interrupt: bool = True) -> LoopResult[Record]:
    """Call ``step(1)`` .. ``step(steps)``, recording ``evaluate(i)`` at 0, every ``every`` steps and at the end.

    The order is exactly ``evaluate(0)``, then for ``i = 1 .. steps``: ``step(i)``, and
    ``evaluate(i)`` when ``i % every == 0`` or ``i == steps``. Nothing else is called
    between them, so a trainer moved onto this loop keeps its numbers bit for bit.

    Parameters
    ----------
    step : callable
        ``step(i)``: optimisation step number ``i`` (1-based); its return value is ignored.
    steps : int
        N >= 0, the number of steps (0: only ``evaluate(0)``).
    evaluate : callable
        ``evaluate(i) -> record``: what to keep after step ``i`` (``i = 0``: before any step).
    every : int
        Evaluate every ``every`` steps (>= 1), besides steps 0 and N.
    desc : str
        The label of the tqdm bar.
    progress : bool
        Show the bar.
    leave : bool
        Leave the finished bar on screen.
    postfix : callable, optional
        ``postfix(record) -> mapping`` shown on the bar after each evaluation.
    catch_interrupt : bool
        Turn Ctrl-C (``KeyboardInterrupt``) into a clean stop that returns what was recorded,
        with ``interrupted=True`` (default); ``False`` lets it propagate.

    Returns
    -------
    LoopResult
        ``history`` (the records), ``evaluated`` (their steps), ``steps_done``, ``interrupted``.

    Raises
    ------
    ValueError
        If ``steps`` is not a non-negative integer or ``every`` not a positive one.

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
    """
    from tqdm.auto import tqdm

    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be a positive integer, got {every!r}")
    result: LoopResult[Record] = LoopResult()

    def record(i: int) -> None:
        value = evaluate(i)
        result.history.append(value)
        result.evaluated.append(i)

    bar = None
    try:
        record(0)
        bar = tqdm(range(1, steps + 1), desc=desc, disable=not progress, leave=leave)
        for i in bar:
            step(i)
            result.steps_done = i
            if i % every == 0 or i == steps:
                record(i)
                if postfix is not None:
                    bar.set_postfix(postfix(result.history[-1]))
    except KeyboardInterrupt:
        if not catch_interrupt:
            raise
        result.interrupted = True
    finally:
        if bar is not None:
            bar.close()
    return result
