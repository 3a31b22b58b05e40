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
and its trim threshold to 1 GiB for the duration of a ``with`` block. After it, the mmap
threshold stays at 32 MiB and the trim threshold becomes 64 MiB, and the freed memory is
handed back with ``malloc_trim``. Not the 128 KiB defaults: once set, glibc's automatic
adjustment of the thresholds is off for good, and at 128 KiB every later large tensor of
the process was mapped afresh (a (5, 5120, 28) product took 4.0 ms after a training call
against 0.9 ms before it); 32 MiB and twice that are where glibc's own adjustment ends.
Elsewhere (macOS, musl, Windows) it does nothing.

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
#: The values inside :func:`keep_freed_memory`, and after it (the upper end of glibc's own
#: adjustment: mmap threshold 32 MiB, trim threshold twice that).
_KEEP = {_M_TRIM_THRESHOLD: 1 << 30, _M_MMAP_THRESHOLD: 32 << 20}
_AFTER = {_M_TRIM_THRESHOLD: 64 << 20, _M_MMAP_THRESHOLD: 32 << 20}


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


_open_blocks = 0  # blocks open in this process (nested, or in threads): the last to end sets _AFTER
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
                for key, value in _AFTER.items():
                    libc.mallopt(key, value)
                libc.malloc_trim(0)
