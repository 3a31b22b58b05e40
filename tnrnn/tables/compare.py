"""Shallow vs deep on one screen: generic Start-End ranks for depths 1..L over a list of lengths.

:func:`compare` computes the same cells as :func:`tnrnn.tables.depth.depth_table` and arranges
them as one pivot table, a row per length T and a column per depth L. A cell is the generic
rank when it is certified (a computed lower bound meets a proven upper bound), otherwise the
interval ``[lower, upper]`` it is proven to lie in. :meth:`Comparison.summary` says in one
line what the table shows. ``tnrnn compare`` is the command-line face of this module.

Examples
--------
>>> c = compare(2, 2, depths=[1, 2, 3], lengths=[4, 8], progress=False)
>>> print(c.format())
T  L=1  L=2  L=3
-  ---  ---  ---
4    2    4    4
8    2   10   16
>>> c.cell(2, 8)
'10'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from tnrnn.guards import DEFAULT_MAX_BLOCK
from tnrnn.tables.format import format_table

__all__ = ["Comparison", "compare", "format_value"]


def format_value(value: int | None) -> str:
    """An exact integer up to 10^12, scientific notation beyond (``None`` -> ``"-"``).

    Examples
    --------
    >>> format_value(6561), format_value(3**40)
    ('6561', '1.22e+19')
    """
    if value is None:
        return "-"
    return str(value) if value < 10**12 else f"{Decimal(value):.2e}"


@dataclass(frozen=True)
class Comparison:
    """Generic Start-End ranks of one (M, R) by depth and length.

    Attributes
    ----------
    templates, hidden : int
        M and R.
    depths, lengths : tuple of int
        The columns (L) and rows (T) of the pivot table.
    cells : dict
        ``(depth, length)`` -> row of :func:`tnrnn.tables.depth.depth_table` (``rank``,
        ``lower``, ``upper``, ``certified``, ``method``, ``seconds``, closed-form bounds).
    """

    templates: int
    hidden: int
    depths: tuple[int, ...]
    lengths: tuple[int, ...]
    cells: dict[tuple[int, int], dict[str, Any]] = field(repr=False)

    def cell(self, depth: int, length: int) -> str:
        """The table entry: the certified rank, or ``[lower, upper]``."""
        row = self.cells[(depth, length)]
        if row["certified"]:
            return format_value(row["lower"])
        return f"[{format_value(row['lower'])}, {format_value(row['upper'])}]"

    def table(self) -> list[list[str]]:
        """The pivot table as strings: a row per length, ``[T, cell(L=1), cell(L=2), ...]``."""
        return [[str(t), *(self.cell(d, t) for d in self.depths)] for t in self.lengths]

    def format(self) -> str:
        """The pivot table as aligned text (what ``tnrnn compare`` prints)."""
        return format_table(["T", *(f"L={d}" for d in self.depths)], self.table())

    def summary(self) -> str:
        """One line: how far each depth gets at the longest length, and where depth helps.

        A deeper network "has the higher rank" at a length when the proven lower bound of
        some depth above the shallowest exceeds the proven upper bound of the shallowest there.

        Examples
        --------
        >>> compare(2, 2, depths=[1, 2], lengths=[4, 8], progress=False).summary()
        'M=2 R=2, T=8: depth 1 rank 2, depth 2 rank 10; a deeper network has the higher rank at 2 of 2 lengths (depth 1 never above 2).'
        """
        longest = self.lengths[-1]
        parts = []
        for d in self.depths:
            row = self.cells[(d, longest)]
            text = self.cell(d, longest)
            parts.append(f"depth {d} rank {text}" if row["certified"] else f"depth {d} in {text}")
        line = f"M={self.templates} R={self.hidden}, T={longest}: " + ", ".join(parts)
        shallow = min(self.depths)
        deeper = [d for d in self.depths if d > shallow]
        if deeper:
            wins = sum(max(self.cells[(d, t)]["lower"] for d in deeper) > self.cells[(shallow, t)]["upper"]
                       for t in self.lengths)
            top = max(self.cells[(shallow, t)]["upper"] for t in self.lengths)
            line += (f"; a deeper network has the higher rank at {wins} of {len(self.lengths)} lengths"
                     f" (depth {shallow} never above {format_value(top)})")
        return line + "."

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: inputs, the pivot table, the summary and every cell's details.

        Integers stay exact (JSON integers of any size).
        """
        return {
            "templates": self.templates,
            "hidden": self.hidden,
            "depths": list(self.depths),
            "lengths": list(self.lengths),
            "partition": "start-end",
            "columns": ["T", *(f"L={d}" for d in self.depths)],
            "table": self.table(),
            "summary": self.summary(),
            "cells": [self.cells[(d, t)] for t in self.lengths for d in self.depths],
        }

    def plot(self, path: str | Path | None = None, *, svg: bool = False):
        """Rank (or its interval) against T, one line per depth, log scale; returns the ``Figure``.

        Certified ranks are filled markers joined by a line; a cell whose generic rank is
        only known to lie in ``[lower, upper]`` (``lower < upper``) is a bar between those
        two ends, with caps, and no point. Saved to ``path`` (PNG, SVG by suffix) when given.
        The figure is made without pyplot (see :func:`tnrnn.style.figure`).
        """
        from tnrnn import style

        with style.context():
            fig, ax = style.figure()
            span = (max(self.lengths) - min(self.lengths)) or 1
            for i, d in enumerate(self.depths):
                colour, marker = style.depth_color(d), style.depth_marker(d)
                size, order = 4 + 1.6 * i, 10 - i  # deeper: larger markers drawn below, equal values stay visible
                dodge = (i - (len(self.depths) - 1) / 2) * 0.012 * span  # intervals side by side
                rows = [self.cells[(d, t)] for t in self.lengths]
                done = [(t, float(r["lower"])) for t, r in zip(self.lengths, rows) if r["lower"] == r["upper"]]
                ax.plot([t for t, _ in done], [v for _, v in done], color=colour, marker=marker, ms=size,
                        zorder=order, label=style.depth_label(d))  # a line through certified ranks only
                open_ = [(t + dodge, r) for t, r in zip(self.lengths, rows) if r["lower"] < r["upper"]]
                if open_:
                    style.interval(ax, [t for t, _ in open_], [r["lower"] for _, r in open_],
                                   [r["upper"] for _, r in open_], color=colour, zorder=order,
                                   label=f"{style.depth_label(d)}: proven interval")
            ax.set_yscale("log")
            ax.set_xlabel("length T")
            ax.set_ylabel("generic Start-End rank")
            ax.set_title(f"Start-End rank by depth, M={self.templates}, R={self.hidden}\n"
                         "points: certified rank; bars: proven interval [lower, upper]")
            style.legend_outside(ax)
            if path is not None:
                style.save(fig, path, svg=svg)
        return fig


def compare(templates: int = 3, hidden: int = 3, depths=(1, 2, 3), lengths=(8, 16, 40), *,
            max_block: int | None = DEFAULT_MAX_BLOCK, draws: int = 3, seed: int = 0, progress: bool = True) -> Comparison:
    """Generic Start-End ranks for every depth and length, as a :class:`Comparison`.

    Parameters
    ----------
    templates, hidden : int
        M (templates, one-hot input features) and R (hidden width).
    depths : iterable of int
        The depths L to compare (columns).
    lengths : iterable of int
        Even lengths T (rows), listed in increasing order.
    max_block : int or None
        Cells whose exact block would have more rows than this are not computed; they show
        their proven interval. ``None``: no limit but memory and time.
    draws, seed : int
        Random weight draws per cell and the seed (:func:`tnrnn.ranks.router.generic_rank`).
    progress : bool
        Show a progress bar.

    Returns
    -------
    Comparison

    Raises
    ------
    ValueError
        Empty or non-positive depths or lengths, odd lengths, bad M or R.

    Examples
    --------
    >>> c = compare(3, 3, depths=[1, 2], lengths=[8], progress=False)
    >>> c.cell(1, 8), c.cell(2, 8)
    ('3', '45')
    """
    from tnrnn.tables.depth import depth_table

    depths, lengths = tuple(depths), tuple(sorted(set(lengths)))
    rows = depth_table(templates, hidden, depths, lengths, max_block=max_block, draws=draws, seed=seed,
                       progress=progress)
    cells = {(r["depth"], r["length"]): r for r in rows}
    return Comparison(templates, hidden, tuple(sorted(set(depths))), lengths, cells)
