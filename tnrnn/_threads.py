"""One thread policy for the whole package: torch, BLAS and python-flint use the same count.

Why: on a shared machine, libraries that start one OpenMP or BLAS thread per core of the
*machine* fight every other process for those cores; a thread that is descheduled holds up
every barrier of the others. Measured on a 2-core machine at load 4-6, the library
defaults made ``tnrnn compare`` 3x and a training ensemble 15x slower than one thread.

The policy:

- **Explicit wins.** ``--threads N`` on the command line, or :func:`set_threads` /
  :func:`threads` in Python; otherwise the ``TNRNN_THREADS`` environment variable.
- **Otherwise a default by kind of work** (:func:`default_threads`):

  * ``"small"`` work (training steps, probes, sweeps, the lenses): one thread. Its
    matrices are too small for threads to pay for their synchronisation, and a process
    per seed or per point is the better parallelism.
  * ``"compute"`` work (exact ranks: large BLAS eliminations and products): as many
    threads as there are *idle* CPUs among those this process may use
    (:func:`available_cpus`: affinity mask and cgroup quota, not the machine's core
    count), at least one. Idle means not claimed by the load average nor by the
    processes running right now, so a busy shared box gets one thread and a quiet
    laptop or cluster node gets its cores.

- **Applied everywhere at once** (:func:`set_threads`): torch (``torch.set_num_threads``
  when torch is loaded, ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` for when it loads
  later and for child processes), the BLAS numpy uses (through ``threadpoolctl`` when
  installed, else OpenBLAS's own ``set_num_threads`` entry point, else only the
  environment variables), and python-flint (``flint.ctx.threads``).

``benchmarks/bench_threads.py`` measures the default against the best thread count, quiet
and with one busy process per core.

Examples
--------
>>> from tnrnn import _threads
>>> _threads.default_threads("small", env={})
1
>>> _threads.default_threads("compute", env={"TNRNN_THREADS": "3"})
3
>>> 1 <= _threads.default_threads("compute", env={}) <= _threads.available_cpus()
True
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

__all__ = [
    "ENV_VAR",
    "KINDS",
    "available_cpus",
    "busy_cpus",
    "default_threads",
    "parse_threads",
    "resolve_threads",
    "set_threads",
    "get_threads",
    "threads",
]

#: Environment variable that sets the thread count of every command and library call.
ENV_VAR = "TNRNN_THREADS"
#: Kinds of work with their own default (see :func:`default_threads`).
KINDS = ("small", "compute")
#: Variables read by OpenMP, MKL, OpenBLAS and others when they load (set for late loads and children).
_ENV_THREADS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "BLIS_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def _cgroup_cpus(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """The CPU quota of this process's cgroup (v2 ``cpu.max`` or v1 ``cfs_quota_us``), ``None`` if unlimited."""
    try:
        text = (root / "cpu.max").read_text().split()
        if text and text[0] != "max":
            return int(text[0]) / int(text[1])
        if text:
            return None
    except (OSError, ValueError, IndexError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def available_cpus() -> int:
    """The CPUs this process may use: its affinity mask, capped by a cgroup CPU quota.

    Not the machine's core count: in a container, a batch job or a ``taskset``, that
    overstates what the process gets.

    Examples
    --------
    >>> available_cpus() >= 1
    True
    """
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    quota = _cgroup_cpus()
    if quota is not None:
        count = min(count, max(1, math.ceil(quota)))
    return max(1, count)


def busy_cpus() -> float:
    """How many CPUs other processes keep busy: the 1-minute load average or the runnable count now.

    The larger of the two: the load average lags a minute behind a job that just started,
    the instantaneous count of runnable processes (``/proc/loadavg``, less this one) is noisy.
    Zero where neither can be read.

    Examples
    --------
    >>> busy_cpus() >= 0
    True
    """
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = 0.0
    running = 0
    try:
        samples = []
        for i in range(5):  # the median of 5 readings 5 ms apart: a short-lived process does not count
            if i:
                time.sleep(0.005)
            fields = Path("/proc/loadavg").read_text().split()
            samples.append(int(fields[3].split("/")[0]) - 1)  # this process is running while it reads
        running = sorted(samples)[2]
    except (OSError, ValueError, IndexError):
        pass
    return max(load, float(running), 0.0)


def parse_threads(text: str | int, source: str = ENV_VAR) -> int:
    """A thread count from ``text``: a positive integer.

    Raises
    ------
    ValueError
        Naming ``source`` (the flag or variable), the value and what is valid.

    Examples
    --------
    >>> parse_threads("4")
    4
    >>> parse_threads("0")
    Traceback (most recent call last):
    ...
    ValueError: TNRNN_THREADS='0': expected a positive integer number of threads (1, 2, ...)
    """
    try:
        value = int(str(text).strip())
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{source}={str(text)!r}: expected a positive integer number of threads (1, 2, ...)")
    return value


def default_threads(kind: str = "compute", *, env: Mapping[str, str] | None = None) -> int:
    """The thread count used when none is given: ``TNRNN_THREADS``, else the default of ``kind``.

    Parameters
    ----------
    kind : {"small", "compute"}
        ``"small"``: one thread (training, probes, sweeps, lenses). ``"compute"``: the idle
        CPUs among :func:`available_cpus` (available less :func:`busy_cpus`, rounded to the
        nearest integer), at least one.
    env : mapping, optional
        The environment to read (default ``os.environ``).

    Raises
    ------
    ValueError
        An unknown ``kind``, or a ``TNRNN_THREADS`` that is not a positive integer.

    Examples
    --------
    >>> default_threads("small", env={})
    1
    >>> default_threads("small", env={"TNRNN_THREADS": "2"})
    2
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind of work {kind!r}: choose from {KINDS}")
    env = os.environ if env is None else env
    if env.get(ENV_VAR, "").strip():
        return parse_threads(env[ENV_VAR])
    if kind == "small":
        return 1
    cpus = available_cpus()
    return max(1, min(cpus, math.floor(cpus - busy_cpus() + 0.5)))


def resolve_threads(value: int | None, kind: str = "compute") -> int:
    """``value`` if given (checked), else :func:`default_threads` of ``kind``.

    Examples
    --------
    >>> resolve_threads(2), resolve_threads(None, "small") >= 1
    (2, True)
    """
    if value is None:
        return default_threads(kind)
    return parse_threads(value, "threads")


def _openblas_setters() -> list:
    """``set_num_threads`` functions of the OpenBLAS libraries loaded in this process (Linux)."""
    import ctypes

    setters = []
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return setters
    paths = sorted({line.split()[-1] for line in maps.splitlines() if "openblas" in line.lower()
                    and line.split()[-1].startswith("/")})
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                     "openblas_set_num_threads64_", "openblas_set_num_threads"):
            function = getattr(lib, name, None)
            if function is not None:
                function.argtypes = [ctypes.c_int]
                function.restype = None
                setters.append(function)
                break
    return setters


def _set_blas(n: int) -> str:
    """Limit the BLAS libraries already loaded to ``n`` threads; returns how."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        pass
    else:
        threadpool_limits(limits=n)
        return "threadpoolctl"
    if "numpy" not in sys.modules:
        return "environment"  # read when the library loads
    setters = _openblas_setters()
    for setter in setters:
        setter(n)
    return "openblas" if setters else "environment"


_current: int | None = None


def set_threads(n: int | None = None, kind: str = "compute") -> int:
    """Use ``n`` threads in torch, BLAS and python-flint from now on; ``None``: the default of ``kind``.

    Also sets ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` (and
    friends) so that libraries loaded later and child processes (sweep workers) follow,
    and, when ``n`` is given, ``TNRNN_THREADS``, so that nested calls keep it. Returns the
    count set.

    Examples
    --------
    >>> previous = get_threads()
    >>> set_threads(1)
    1
    >>> get_threads()
    1
    >>> _ = set_threads(previous)
    """
    global _current
    explicit = n is not None
    n = resolve_threads(n, kind)
    for name in _ENV_THREADS:
        os.environ[name] = str(n)
    if explicit:  # nested commands (tnrnn reproduce) and child processes follow an explicit choice
        os.environ[ENV_VAR] = str(n)
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "set_num_threads"):
        torch.set_num_threads(n)
    _set_blas(n)
    try:
        import flint
    except ImportError:
        pass
    else:
        flint.ctx.threads = n
    _current = n
    return n


def get_threads() -> int:
    """The count last set by :func:`set_threads`, else the current default of ``"compute"`` work.

    Examples
    --------
    >>> get_threads() >= 1
    True
    """
    return _current if _current is not None else default_threads("compute")


@contextlib.contextmanager
def threads(n: int | None = None, kind: str = "compute") -> Iterator[int]:
    """Context manager: :func:`set_threads` inside the block, the earlier setting restored after.

    Examples
    --------
    >>> with threads(1) as n:
    ...     n
    1
    """
    global _current
    saved_env = {name: os.environ.get(name) for name in (*_ENV_THREADS, ENV_VAR)}
    saved = _current
    previous = saved if saved is not None else (_torch_threads() or available_cpus())
    try:
        yield set_threads(n, kind)
    finally:
        set_threads(previous)
        for name, value in saved_env.items():  # set_threads rewrote them
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _current = saved


def _torch_threads() -> int | None:
    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch is not None and hasattr(torch, "get_num_threads") else None
