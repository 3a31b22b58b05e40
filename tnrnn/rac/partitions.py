"""Partitions of the time steps into a start set S and an end set E.

Time steps are numbered ``0 .. T-1`` (axis order of the grid tensor). The
matricization ``[A]_{S,E}`` puts the axes in S on rows and those in E on columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tnrnn._validation import positive_int

__all__ = ["Partition", "start_end", "cut", "interleaved", "parse_partition"]


def _check_length(length) -> int:
    """A positive length whose index tuples fit the memory limit (checked before building them)."""
    from tnrnn import guards

    length = positive_int(length, "length")
    guards.check_bytes(guards.partition_bytes(length), f"a partition of length={length} time steps")
    return length


@dataclass(frozen=True)
class Partition:
    """A partition (S, E) of the time steps ``0 .. length-1``.

    Parameters
    ----------
    start, end : tuple of int
        Disjoint, non-empty, together exactly ``{0, ..., length-1}``.
    length : int
        T, the sequence length.
    name : str
        A label used in reports.

    Raises
    ------
    ValueError
        If (start, end) does not cover ``0 .. length-1`` exactly once, or a side is empty.

    Examples
    --------
    >>> Partition((0, 2), (1, 3), 4).prefix_length is None
    True
    >>> start_end(6).prefix_length
    3
    """

    start: tuple[int, ...]
    end: tuple[int, ...]
    length: int
    name: str = "explicit"

    def __post_init__(self) -> None:
        length = _check_length(self.length)
        start = tuple(sorted(int(i) for i in self.start))
        end = tuple(sorted(int(i) for i in self.end))
        if not start or not end:
            raise ValueError(f"both sides of a partition must be non-empty, got S={start}, E={end}")
        combined = sorted(start + end)
        if combined != list(range(length)):
            missing = sorted(set(range(length)) - set(combined))
            repeated = sorted({i for i in combined if combined.count(i) > 1})
            outside = sorted(i for i in set(combined) if not 0 <= i < length)
            raise ValueError(
                f"partition must cover time steps 0..{length - 1} exactly once: "
                f"missing {missing}, repeated {repeated}, out of range {outside}"
            )
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "length", length)

    @property
    def prefix_length(self) -> int | None:
        """k if one side is the prefix ``0..k-1`` (a contiguous cut), else ``None``."""
        for side in (self.start, self.end):
            if side == tuple(range(len(side))):
                return len(side)
        return None

    @property
    def boundaries(self) -> int:
        """Number of adjacent time-step pairs split between S and E."""
        in_start = np.zeros(self.length, dtype=bool)
        in_start[list(self.start)] = True
        return int(np.count_nonzero(in_start[1:] != in_start[:-1]))

    def matricize(self, tensor: np.ndarray) -> np.ndarray:
        """Reshape an order-T tensor into the matrix ``[A]_{S,E}``.

        Examples
        --------
        >>> start_end(2).matricize(np.arange(4).reshape(2, 2)).tolist()
        [[0, 1], [2, 3]]
        """
        if tensor.ndim != self.length:
            raise ValueError(f"tensor has order {tensor.ndim}, partition is for length {self.length}")
        rows = int(np.prod([tensor.shape[i] for i in self.start]))
        return np.transpose(tensor, self.start + self.end).reshape(rows, -1)


def start_end(length: int) -> Partition:
    """S = first half, E = second half (``length`` must be even).

    Raises
    ------
    ValueError
        If ``length`` is odd or not positive.
    """
    length = _check_length(length)
    if length % 2:
        raise ValueError(f"the Start-End partition needs an even length, got length={length}; "
                         f"use cut(length, k) (--partition cut:K) for an unequal split")
    half = length // 2
    return Partition(tuple(range(half)), tuple(range(half, length)), length, "start-end")


def cut(length: int, k: int) -> Partition:
    """S = the first k steps, E = the remaining ``length - k`` (1 <= k <= length-1)."""
    length = _check_length(length)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= length - 1:
        raise ValueError(f"cut position k must be an integer in [1, {length - 1}] for "
                         f"length={length}, got k={k!r}")
    return Partition(tuple(range(k)), tuple(range(k, length)), length, f"cut:{k}")


def interleaved(length: int) -> Partition:
    """S = even time steps (0, 2, ...), E = odd ones (length >= 2)."""
    length = _check_length(length)
    if length < 2:
        raise ValueError(f"the interleaved partition needs length >= 2, got {length}")
    return Partition(tuple(range(0, length, 2)), tuple(range(1, length, 2)), length, "interleaved")


def parse_partition(text: str | Partition, length: int) -> Partition:
    """Build a partition from a name: ``start-end``, ``cut:K``, ``interleaved`` or ``S:0,1/E:2,3``.

    Examples
    --------
    >>> parse_partition("cut:2", 6).start
    (0, 1)
    >>> parse_partition("S:0,3/E:1,2", 4).end
    (1, 2)
    """
    if isinstance(text, Partition):
        if text.length != length:
            raise ValueError(f"partition is for length {text.length}, not {length}")
        return text
    if text == "start-end":
        return start_end(length)
    if text == "interleaved":
        return interleaved(length)
    if text.startswith("cut:"):
        try:
            k = int(text[4:])
        except ValueError:
            raise ValueError(f"partition 'cut:K' needs an integer K, got {text!r}") from None
        return cut(length, k)
    if text.startswith("S:") and "/E:" in text:
        if text.count("/E:") != 1 or text.count("S:") != 1:
            raise ValueError(f"explicit partition must have one S: part and one /E: part, as S:0,1/E:2,3; "
                             f"got {text!r}")
        s_text, e_text = text[2:].split("/E:")
        try:
            s = tuple(int(i) for i in s_text.split(",") if i)
            e = tuple(int(i) for i in e_text.split(",") if i)
        except ValueError:
            raise ValueError(f"explicit partition must list integers, got {text!r}") from None
        return Partition(s, e, length)
    raise ValueError(f"unknown partition {text!r}: use 'start-end', 'cut:K', 'interleaved' "
                     f"or 'S:i,j,.../E:k,l,...'")
