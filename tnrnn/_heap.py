"""Keeping freed memory in the process while a training loop runs (glibc only).

Why: a training step allocates and frees the same few large buffers every time (the
states of each layer, their gradients, the input lookup: 4-6 MB each for an ensemble of
5 at T = 40, batch 128). glibc serves blocks of that size with ``mmap`` or returns them
to the operating system at ``free`` (its trim and mmap thresholds start at 128 KiB), so
the next step touches fresh pages: 2,000-5,000 page faults per ensemble step, measured
on the word-length sweep's sizes. With the thresholds raised the buffers stay in the heap
and are reused (about 70 faults per step), and a step took 15-25% less time
(``benchmarks/bench_ensemble.py`` against the commit before); the arithmetic, and so every
result, is unchanged (bit-identical weights after training with and without it, tested).

:func:`keep_freed_memory` raises glibc's mmap threshold to its largest value (32 MiB)
and its trim threshold to 1 GiB for the duration of a ``with`` block, then sets both back
to their documented defaults (128 KiB; glibc's automatic adjustment of the mmap threshold
stays off after a set) and hands the freed memory back with ``malloc_trim``. Elsewhere
(macOS, musl, Windows) it does nothing.

Examples
--------
>>> with keep_freed_memory():
...     pass
"""

from __future__ import annotations

import contextlib
import ctypes
import platform
import threading
from collections.abc import Iterator

__all__ = ["keep_freed_memory", "glibc"]

#: ``mallopt`` parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: Their defaults, and the values used inside :func:`keep_freed_memory`.
_DEFAULTS = {_M_TRIM_THRESHOLD: 128 * 1024, _M_MMAP_THRESHOLD: 128 * 1024}
_KEEP = {_M_TRIM_THRESHOLD: 1 << 30, _M_MMAP_THRESHOLD: 32 << 20}


def glibc():
    """The C library as a ``ctypes`` handle where it is glibc with ``mallopt``; else None."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt, libc.malloc_trim  # noqa: B018  (both must exist)
    except (OSError, AttributeError):
        return None
    return libc


_open_blocks = 0  # blocks open in this process (nested, or in threads): the last to end restores
_lock = threading.Lock()


@contextlib.contextmanager
def keep_freed_memory() -> Iterator[bool]:
    """Inside the block, freed blocks up to 32 MiB stay in the heap for reuse (glibc); yields whether it applied."""
    global _open_blocks
    libc = glibc()
    with _lock:
        applied = libc is not None and all(libc.mallopt(key, value) == 1 for key, value in _KEEP.items())
        _open_blocks += 1
    try:
        yield applied
    finally:
        with _lock:
            _open_blocks -= 1
            if libc is not None and _open_blocks == 0:
                for key, value in _DEFAULTS.items():
                    libc.mallopt(key, value)
                libc.malloc_trim(0)
