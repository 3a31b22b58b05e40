"""Typed checks shared by every input source: one wording and one range per kind of value.

A value reaches tnrnn through a command-line flag, a sweep config key, an environment
variable, a run's ``config.json`` or a row of a results store. Each source names itself
(``--workers``, ``sweep.toml:12 [run] workers``, ``TNRNN_MAX_BYTES``, ``run config
'R/config.json'``) and calls the same check as the flag that means the same thing, so a
value refused on the command line is refused everywhere, with the source, the value and
the valid range in the message, before any training or allocation.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from tnrnn import _threads

__all__ = [
    "positive_int",
    "check_int",
    "check_float",
    "float_span",
    "check_threads",
    "MAX_THREADS_FACTOR",
    "check_seed_list",
    "check_device",
    "MAX_SEEDS",
    "MAX_POINTS",
]

#: Most seeds one ensemble trains together (each is a full network stepped in one stacked pass).
MAX_SEEDS = 1024

#: Most points one sweep config may cross (each is a training run; more is a typo, not a plan).
MAX_POINTS = 10_000

#: A thread, worker or CPU count above this multiple of the usable CPUs is refused as absurd.
MAX_THREADS_FACTOR = 16


def positive_int(value, name: str) -> int:
    """Return ``value`` as an ``int`` if it is a positive integer, else raise a clear error.

    Raises
    ------
    ValueError
        ``"<name> must be a positive integer, got <value>"`` (booleans are refused too).

    Examples
    --------
    >>> positive_int(np.int64(3), "length")
    3
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_int(value, source: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an ``int`` in ``[minimum, maximum]``; anything else (floats, booleans, text) refused.

    Parameters
    ----------
    value : object
    source : str
        Where the value came from, as the user would find it (a flag, a file and key, a variable).
    minimum, maximum : int, optional

    Raises
    ------
    ValueError
        ``"<source> must be an integer in [min, max], got <value>"``.

    Examples
    --------
    >>> check_int(3, "--workers", 1)
    3
    >>> check_int(1.5, "sweep.toml:7 [run] workers", 1)
    Traceback (most recent call last):
    ...
    ValueError: sweep.toml:7 [run] workers must be an integer >= 1, got 1.5
    """
    if minimum is not None and maximum is not None:
        span = f"in [{minimum}, {maximum}]"
    elif minimum is not None:
        span = f">= {minimum}"
    elif maximum is not None:
        span = f"<= {maximum}"
    else:
        span = ""
    ok = not isinstance(value, bool) and isinstance(value, (int, np.integer))
    ok = ok and (minimum is None or value >= minimum) and (maximum is None or value <= maximum)
    if not ok:
        raise ValueError(f"{source} must be an integer{' ' + span if span else ''}, got {value!r}")
    return int(value)


def float_span(low: float | None = None, high: float | None = None, *, low_open: bool = False,
               high_open: bool = False) -> str:
    """A range as messages write it.

    Examples
    --------
    >>> float_span(0.0, low_open=True), float_span(0.0, 1.0)
    ('(0, inf]', '[0, 1]')
    """
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    return f"{left}{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}{right}"


def check_float(value, source: str, low: float | None = None, high: float | None = None, *,
                low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite ``float`` in the range (closed unless ``*_open``), the same range as the flag's.

    Raises
    ------
    ValueError
        ``"<source> must be a finite number in (0, inf), got nan"`` (NaN, infinities, text,
        booleans and out-of-range values).

    Examples
    --------
    >>> check_float(1e-6, "--tolerance", 0.0, low_open=True)
    1e-06
    >>> check_float(float("nan"), "sweep.toml:9 [probe] tolerance", 0.0, low_open=True)
    Traceback (most recent call last):
    ...
    ValueError: sweep.toml:9 [probe] tolerance must be a finite number in (0, inf], got nan
    """
    span = float_span(low, high, low_open=low_open, high_open=high_open)
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
    if ok:
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        ok = math.isfinite(number)
        if ok and low is not None:
            ok = number > low if low_open else number >= low
        if ok and high is not None:
            ok = number < high if high_open else number <= high
    if not ok:
        raise ValueError(f"{source} must be a finite number in {span}, got {value!r}")
    return float(value)


def check_threads(value, source: str, *, note: Callable[[str], None] | None = None) -> int:
    """A thread, worker or CPU count: an integer >= 1, used as at most the CPUs this process may use.

    The usable CPUs are :func:`tnrnn._threads.available_cpus` (affinity mask and cgroup
    quota), the one CPU count of the package. A count above :data:`MAX_THREADS_FACTOR`
    times them is refused as a mistake
    (a million threads ends in a segmentation fault, not a message); a smaller count above
    the usable CPUs is lowered to them, with a note, since more would only oversubscribe.

    Parameters
    ----------
    value : object
        The requested count.
    source : str
        Where it came from (``--threads``, ``sweep.toml:12 [run] cpus`` ...).
    note : callable, optional
        Receives the note when the count is lowered (default: print to stderr).

    Returns
    -------
    int
        ``min(value, available_cpus())``.

    Raises
    ------
    ValueError
        Not an integer >= 1, or absurdly large, naming the source and the usable CPUs.

    Examples
    --------
    >>> check_threads(1, "--threads")
    1
    >>> check_threads(10**6, "--threads")
    Traceback (most recent call last):
    ...
    ValueError: --threads must be an integer in [1, ...] (this process may use ... CPU(s)), got 1000000
    """
    cpus = _threads.available_cpus()  # looked up at call time: tests stand in other CPU counts
    limit = MAX_THREADS_FACTOR * cpus
    ok = not isinstance(value, bool) and isinstance(value, (int, np.integer)) and 1 <= value <= limit
    if not ok:
        raise ValueError(f"{source} must be an integer in [1, {limit}] (this process may use {cpus} CPU(s)), "
                         f"got {value!r}")
    if value > cpus:
        text = f"note: {source} {value} is more than the {cpus} CPU(s) this process may use; using {cpus}"
        if note is None:
            import sys

            print(text, file=sys.stderr)
        else:
            note(text)
        return cpus
    return int(value)


def check_seed_list(seeds, source: str, maximum: int = MAX_SEEDS) -> list[int]:
    """Seeds of an ensemble: a non-empty list of distinct integers in ``[0, 2**63)``, at most ``maximum``.

    Checked before any directory is made or any network built: a seed beyond 64 bits
    cannot seed torch's generator, and thousands of members would run for hours.

    Raises
    ------
    ValueError
        Naming the source, the offending seed (or the count) and the valid range.

    Examples
    --------
    >>> check_seed_list([0, 1, 2], "--seeds")
    [0, 1, 2]
    >>> check_seed_list([0, 2**64], "--seeds")
    Traceback (most recent call last):
    ...
    ValueError: --seeds: a seed must be an integer >= 0 and below 2**63, got 18446744073709551616
    """
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__len__"):
        raise ValueError(f"{source}: expected a list of seeds, got {seeds!r}")
    if not len(seeds):
        raise ValueError(f"{source}: give at least one seed")
    if len(seeds) > maximum:
        raise ValueError(f"{source}: {len(seeds):,} seeds; at most {maximum:,} train together as one ensemble "
                         f"(split them into several runs)")
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
            raise ValueError(f"{source}: a seed must be an integer >= 0 and below 2**63, got {seed!r}")
    if len(set(seeds)) != len(seeds):
        repeated = sorted({s for s in seeds if list(seeds).count(s) > 1})
        raise ValueError(f"{source}: seeds must be distinct (repeated: {repeated})")
    return [int(s) for s in seeds]


def check_device(text: str | None, source: str = "--device") -> str | None:
    """Validate a torch device name before any work: its syntax, and that it exists here.

    Parameters
    ----------
    text : str or None
        ``cpu``, ``cuda``, ``cuda:N`` or ``mps`` (None: the default, accepted).
    source : str
        Where it came from (``--device``, ``sweep.toml point (depth=2) device``).

    Raises
    ------
    ValueError
        ``foo`` (not a device), ``cuda`` without CUDA, ``cuda:3`` with fewer GPUs, ``mps``
        without MPS.
    """
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError(f"{source} {text!r}: not a device name; use cpu, cuda, cuda:N or mps")
    import torch

    cpu = f"{source} cpu" if source.startswith("--") else "cpu"
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise ValueError(f"{source} {text!r}: not a torch device; use cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{source} {text}: CUDA is not available on this machine (torch "
                             f"{torch.__version__}); use {cpu}")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"{source} {text}: only {torch.cuda.device_count()} CUDA device(s) here")
    elif device.type == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise ValueError(f"{source} {text}: MPS is not available on this machine; use {cpu}")
    elif device.type != "cpu":
        raise ValueError(f"{source} {text}: unsupported device type {device.type!r}; use cpu, cuda, cuda:N or mps")
    return text
