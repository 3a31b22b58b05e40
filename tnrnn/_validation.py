"""Argument checks shared by the modules: one wording for one kind of mistake."""

from __future__ import annotations

import numpy as np

__all__ = ["positive_int"]


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
