"""Limits and size guards: predict a computation's cost with cheap arithmetic and refuse it before any work.

One place sets the limits of every computation in the package:

* **memory** (bytes one computation may hold): ``max_bytes=`` of the call, else the innermost
  ``with tnrnn.limits(max_bytes=...)`` block, else the ``TNRNN_MAX_BYTES`` environment
  variable (``4G``, ``512M``, ``1e9``), else 4 GiB (:func:`memory_limit`);
* **time** (the predicted seconds of one exact-rank computation): ``max_seconds=``, else the
  innermost ``limits(max_seconds=...)`` block, else 120 s (:func:`time_limit`);
* **threads**: ``limits(threads=n)`` applies the package's thread policy inside the block
  (:func:`tnrnn.threads`).

The command line's ``--max-bytes``, ``--max-seconds`` and ``--threads`` open the same block
around a command. Every prediction here costs a few integer or logarithm operations, never
the allocation it guards. A refusal is a :class:`SizeLimitError` (a ``ValueError``) that
names the sizes, the predicted cost and the limit, and how to raise it, in words that read
the same in Python and on the command line.

Examples
--------
>>> import tnrnn
>>> with tnrnn.limits(max_bytes="1G"):
...     memory_limit()
1073741824
>>> with tnrnn.limits(max_bytes=2**20):
...     tnrnn.generic_rank(tnrnn.RACSpec(2, 2, 2), 24, method="dense")
Traceback (most recent call last):
...
tnrnn.guards.SizeLimitError: a dense grid tensor for M=2, R=2, L=2, T=24 has M^T = 16,777,216 entries and needs about 0.176 GiB of working memory, over the limit of 0.000977 GiB (max_bytes=, --max-bytes or TNRNN_MAX_BYTES); use method='scalable' (`tnrnn rank --method scalable`), a shorter length, or raise the limit
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "DEFAULT_MAX_BYTES",
    "RAISE_MEMORY",
    "SizeLimitError",
    "Limits",
    "limits",
    "active_limits",
    "memory_limit",
    "time_limit",
    "check_bytes",
    "format_bytes",
    "format_size",
    "format_gib",
    "parse_bytes",
    "rac_weights_bytes",
    "partition_bytes",
    "check_rac",
    "DEFAULT_MAX_SECONDS",
    "SECONDS_PER_LAYER_STEP",
    "SECONDS_PER_DRAW",
    "check_rank_work",
    "predicted_rank_seconds",
    "DEFAULT_MAX_BLOCK",
]

#: Tables of ranks by depth and length show a cell whose exact block would have more rows than
#: this as its proven interval, not computed. 2**14 keeps depth 4 at M=R=2, T=28 (a 16384-row
#: block, about two minutes on two cores) and every depth-3 length to T=40 at M=R=2.
DEFAULT_MAX_BLOCK = 2**14

#: Default limit (seconds) on the predicted run time of one exact-rank computation on the command line.
DEFAULT_MAX_SECONDS = 120.0

#: Lower estimate of the time every exact route spends per layer, time step and weight draw (measured on
#: 2 CPU cores: drawing weights and one modular product per layer and step; M^T-sized work comes on top).
SECONDS_PER_LAYER_STEP = 3e-5

#: Lower estimate of the fixed cost of one weight draw of an exact rank (drawing, building and ranking the
#: smallest matrices: 4 ms measured on 2 CPU cores at M=R=2, L=1, T=2; taken at half that as a floor).
SECONDS_PER_DRAW = 2e-3

#: Working-memory limit (bytes) of one computation when ``TNRNN_MAX_BYTES`` is unset (4 GiB).
BUILTIN_MAX_BYTES = 4 * 2**30

#: Bytes a :class:`~tnrnn.rac.partitions.Partition` holds per time step (two tuples of ints and a check).
_PARTITION_BYTES_PER_STEP = 120


#: How to raise the memory limit, as every refusal says it (the library, the command line, the environment).
RAISE_MEMORY = "max_bytes=, --max-bytes or TNRNN_MAX_BYTES"


class SizeLimitError(ValueError):
    """A computation was refused before it started: its predicted cost exceeds the limit.

    The one error of every size and time guard in the package (``GridTooLargeError`` and
    ``NetworkTooLargeError`` are other names of this class, kept for code written against 0.1).
    """


def format_bytes(n) -> str:
    """A byte count for people: ``'3.5 GiB'``; huge or symbolic counts stay bounded.

    Examples
    --------
    >>> format_bytes(3 * 2**30 + 2**29), format_bytes(512), format_bytes(10**400)
    ('3.5 GiB', '512 B', '~1.0e+400 B')
    """
    try:
        value = float(n)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        from tnrnn._numbers import Approx

        return f"{n if isinstance(n, Approx) else Approx(math.log10(n))} B"
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= size:
            return f"{value / size:.3g} {unit}"
    return f"{value:.0f} B"


def format_gib(n) -> str:
    """A byte count in GiB (``'0.479 GiB'``), bounded like :func:`format_bytes` when beyond float range.

    Examples
    --------
    >>> format_gib(514 * 2**20), format_gib(10**400)
    ('0.502 GiB', '~1.0e+400 B')
    """
    try:
        return f"{float(n) / 2**30:.3g} GiB"
    except OverflowError:
        return format_bytes(n)


def format_size(n) -> str:
    """A count with thousands separators while short, else bounded like :func:`tnrnn.rac.bounds.format_count`.

    Examples
    --------
    >>> format_size(1683), format_size(2**60), format_size(10**400)
    ('1,683', '1.15e+18', '~1.0e+400')
    """
    if isinstance(n, int) and not isinstance(n, bool) and abs(n) < 10**15:
        return f"{n:,}"
    try:
        return f"{float(n):.3g}"
    except (OverflowError, TypeError, ValueError):
        from tnrnn._numbers import Approx

        return str(Approx(math.log10(n))) if isinstance(n, int) and n > 0 else str(n)


def parse_bytes(text: str) -> int:
    """Parse ``'4G'``, ``'512M'``, ``'2GiB'``, ``'1e9'`` or ``'1000000'`` into a positive byte count.

    Raises
    ------
    ValueError
        For anything else, saying what is accepted.

    Examples
    --------
    >>> parse_bytes("4G"), parse_bytes("512MiB"), parse_bytes("1e9")
    (4294967296, 536870912, 1000000000)
    """
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMgGtT]?)(?:i?[bB])?\s*", str(text))
    if match is None:
        raise ValueError(f"expected a byte count such as 4G, 512M or 1e9, got {text!r}")
    number = float(match.group(1)) * 1024 ** " KMGT".index(match.group(2).upper() or " ")
    if not math.isfinite(number) or number < 1:
        raise ValueError(f"expected a positive byte count such as 4G, 512M or 1e9, got {text!r}")
    return int(number)


def _env_max_bytes(environ=os.environ) -> tuple[int, str | None]:
    """``TNRNN_MAX_BYTES`` parsed as ``--max-bytes`` is: ``(limit, None)``, or ``(4 GiB, the refusal)``.

    Unset or empty: the built-in 4 GiB. A value ``--max-bytes`` would refuse is never a
    crash at import (``--help`` must work): the refusal is kept in :data:`ENV_ERROR` and
    raised by every guard that would use the limit (and by the command line before any
    work), naming the variable, its value and the accepted forms.

    Examples
    --------
    >>> _env_max_bytes({"TNRNN_MAX_BYTES": "4G"})
    (4294967296, None)
    >>> _env_max_bytes({"TNRNN_MAX_BYTES": "-5"})[1]
    "TNRNN_MAX_BYTES='-5': expected a byte count such as 4G, 512M or 1e9, got '-5'; unset it or give a size such as 4G"
    """
    text = environ.get("TNRNN_MAX_BYTES")
    if text is None or not text.strip():
        return BUILTIN_MAX_BYTES, None
    try:
        return parse_bytes(text), None
    except ValueError as error:
        return BUILTIN_MAX_BYTES, f"TNRNN_MAX_BYTES={text!r}: {error}; unset it or give a size such as 4G"


#: ``DEFAULT_MAX_BYTES``: working-memory limit (bytes) of one computation, ``TNRNN_MAX_BYTES``
#: (parsed as ``--max-bytes``: ``4G``, ``512M``, ``1e9``) or 4 GiB; ``ENV_ERROR``: the refusal of
#: an unusable ``TNRNN_MAX_BYTES`` (None when it is unset or valid).
DEFAULT_MAX_BYTES, ENV_ERROR = _env_max_bytes()


@dataclass(frozen=True)
class Limits:
    """The limits set by the innermost :func:`limits` block (``None``: not set there).

    Attributes
    ----------
    max_bytes : int or None
        Memory of one computation, in bytes.
    max_seconds : float or None
        Predicted time of one exact-rank computation, in seconds.
    """

    max_bytes: int | None = None
    max_seconds: float | None = None


_ACTIVE: contextvars.ContextVar[Limits] = contextvars.ContextVar("tnrnn_limits", default=Limits())  # noqa: B039 (frozen)


def active_limits() -> Limits:
    """The limits of the innermost :func:`limits` block (all ``None`` outside any block)."""
    return _ACTIVE.get()


def _check_max_bytes(value, source: str) -> int:
    if isinstance(value, str):
        try:
            return parse_bytes(value)
        except ValueError as error:
            raise ValueError(f"{source}={value!r}: {error}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 1:
        raise ValueError(f"{source} must be a positive byte count (an integer, or text such as '4G'), got {value!r}")
    return int(value)


@contextlib.contextmanager
def limits(*, max_bytes: int | str | None = None, max_seconds: float | None = None,
           threads: int | None = None) -> Iterator[Limits]:
    """Set the memory, time and thread limits of every computation inside the block.

    Blocks nest; a limit not given keeps the value of the enclosing block. An explicit
    ``max_bytes=`` of a call still wins over the block.

    Parameters
    ----------
    max_bytes : int or str, optional
        Memory of one computation: bytes, or text such as ``"16G"``, ``"512M"``, ``"1e9"``.
        Replaces ``TNRNN_MAX_BYTES`` inside the block.
    max_seconds : float, optional
        Refuse an exact-rank computation predicted to take longer (a lower estimate, see
        :func:`check_rank_work`).
    threads : int, optional
        Threads of torch, BLAS and python-flint inside the block (:func:`tnrnn.threads`).

    Yields
    ------
    Limits
        The limits in force inside the block.

    Raises
    ------
    ValueError
        For a byte count, time or thread count that is not valid, before the block runs.

    Examples
    --------
    >>> with limits(max_bytes="16G", max_seconds=600) as inside:
    ...     inside.max_bytes, memory_limit(), time_limit()
    (17179869184, 17179869184, 600.0)
    >>> active_limits().max_bytes is None
    True
    """
    outer = _ACTIVE.get()
    if max_bytes is not None:
        max_bytes = _check_max_bytes(max_bytes, "max_bytes")
    if max_seconds is not None:
        if isinstance(max_seconds, bool) or not isinstance(max_seconds, (int, float)) \
                or not math.isfinite(max_seconds) or max_seconds <= 0:
            raise ValueError(f"max_seconds must be a positive finite number, got {max_seconds!r}")
        max_seconds = float(max_seconds)
    inside = Limits(max_bytes if max_bytes is not None else outer.max_bytes,
                    max_seconds if max_seconds is not None else outer.max_seconds)
    token = _ACTIVE.set(inside)
    try:
        if threads is None:
            yield inside
        else:
            from tnrnn._threads import threads as thread_block

            with thread_block(threads):
                yield inside
    finally:
        _ACTIVE.reset(token)


def memory_limit(max_bytes: int | None = None) -> int:
    """The memory limit in force, in bytes.

    ``max_bytes`` when given, else the innermost :func:`limits` block's, else
    ``TNRNN_MAX_BYTES``, else 4 GiB.

    Raises
    ------
    ValueError
        When the limit would come from an unusable ``TNRNN_MAX_BYTES`` (named, with its value).
    """
    if max_bytes is not None:
        return int(max_bytes)
    active = _ACTIVE.get().max_bytes
    if active is not None:
        return active
    if ENV_ERROR is not None:
        raise ValueError(ENV_ERROR)
    return DEFAULT_MAX_BYTES


def time_limit(max_seconds: float | None = None) -> float:
    """The limit on the predicted seconds of one exact-rank computation.

    ``max_seconds`` when given, else the innermost :func:`limits` block's, else
    :data:`DEFAULT_MAX_SECONDS`.
    """
    if max_seconds is not None:
        return float(max_seconds)
    active = _ACTIVE.get().max_seconds
    return DEFAULT_MAX_SECONDS if active is None else active


def check_bytes(need, what: str, max_bytes: int | None = None) -> None:
    """Refuse ``what`` if it needs more than ``max_bytes`` (default: :func:`memory_limit`).

    Raises
    ------
    SizeLimitError
        Naming ``what``, the predicted bytes, the limit, and how to raise it.

    Examples
    --------
    >>> check_bytes(10, "a tiny array")
    >>> check_bytes(2**50, "a huge array", max_bytes=2**30)
    Traceback (most recent call last):
    ...
    tnrnn.guards.SizeLimitError: a huge array would take about 1.02e+03 TiB of memory, over the limit of 1 GiB (max_bytes=, --max-bytes or TNRNN_MAX_BYTES); use smaller sizes or raise the limit
    """
    limit = memory_limit(max_bytes)
    if need > limit:
        raise SizeLimitError(f"{what} would take about {format_bytes(need)} of memory, over the limit of {format_bytes(limit)} "
                             f"({RAISE_MEMORY}); use smaller sizes or raise the limit")


def rac_weights_bytes(templates: int, hidden: int, depth: int) -> int:
    """Bytes of one set of RAC weights (int64 or float64): ``8 (RM + (2L - 1) R^2 + R)``.

    Examples
    --------
    >>> rac_weights_bytes(3, 3, 2)
    312
    """
    return 8 * (hidden * templates + (2 * depth - 1) * hidden * hidden + hidden)


def partition_bytes(length: int) -> int:
    """Bytes a partition of ``length`` time steps holds (about 120 per step)."""
    return _PARTITION_BYTES_PER_STEP * length


def check_rac(templates: int, hidden: int, depth: int, length: int | None = None,
              max_bytes: int | None = None) -> None:
    """Refuse an architecture whose weights (or whose partition of ``length`` steps) exceed the limit.

    Cheap integer arithmetic only; call it before drawing weights or building a partition.

    Raises
    ------
    SizeLimitError
        With the predicted memory and the limit.

    Examples
    --------
    >>> check_rac(3, 3, 2, 8)
    >>> check_rac(10**9, 3, 2, 4)
    Traceback (most recent call last):
    ...
    tnrnn.guards.SizeLimitError: the weights of M=1000000000, R=3, L=2 would take about 22.4 GiB of memory, over the limit of 4 GiB (max_bytes=, --max-bytes or TNRNN_MAX_BYTES); use smaller sizes or raise the limit
    """
    check_bytes(rac_weights_bytes(templates, hidden, depth),
                f"the weights of M={templates}, R={hidden}, L={depth}", max_bytes)
    if length is not None:
        check_bytes(partition_bytes(length), f"a partition of T={length} time steps", max_bytes)


def predicted_rank_seconds(depth: int, length: int, draws: int) -> float:
    """A lower estimate of the seconds of an exact rank: every route walks ``depth x length`` layer-steps per draw.

    Examples
    --------
    >>> round(predicted_rank_seconds(3, 48, 3), 4)
    0.019
    """
    return (SECONDS_PER_DRAW + SECONDS_PER_LAYER_STEP * depth * length) * draws


def check_rank_work(depth: int, length: int, draws: int, max_seconds: float | None = None) -> None:
    """Refuse an exact-rank computation whose predicted time (a lower estimate) exceeds ``max_seconds``.

    Every exact route walks all ``depth x length`` layer-steps at least once per weight draw,
    at about :data:`SECONDS_PER_LAYER_STEP` each, and pays a fixed cost per draw of at least
    :data:`SECONDS_PER_DRAW`; work that grows with ``M^T`` or the rank comes on top, so the
    prediction is a floor (``--draws 100000`` is refused at once, not run for hours).

    Raises
    ------
    SizeLimitError
        With the predicted time, the limit and the flag that raises it.

    Examples
    --------
    >>> check_rank_work(3, 48, 3)
    >>> check_rank_work(10**6, 4, 3)
    Traceback (most recent call last):
    ...
    tnrnn.guards.SizeLimitError: depth x length = 4,000,000 layer-steps per weight draw (3 draws) would take at least 360 s (about 3e-05 s per layer-step and draw, and 0.002 s per draw), over the limit of 120 s; raise it (max_seconds=, --max-seconds), or use fewer draws, layers or steps
    >>> check_rank_work(2, 8, 100_000)
    Traceback (most recent call last):
    ...
    tnrnn.guards.SizeLimitError: depth x length = 16 layer-steps per weight draw (100,000 draws) would take at least 248 s (about 3e-05 s per layer-step and draw, and 0.002 s per draw), over the limit of 120 s; raise it (max_seconds=, --max-seconds), or use fewer draws, layers or steps
    """
    limit = time_limit(max_seconds)
    predicted = predicted_rank_seconds(depth, length, draws)
    if predicted > limit:
        raise SizeLimitError(
            f"depth x length = {depth * length:,} layer-steps per weight draw ({draws:,} draws) would take at "
            f"least {predicted:.3g} s (about {SECONDS_PER_LAYER_STEP:g} s per layer-step and draw, and "
            f"{SECONDS_PER_DRAW:g} s per draw), over the limit of {limit:g} s; raise it (max_seconds=, "
            f"--max-seconds), or use "
            f"fewer draws, layers or steps")
