"""Rank tables as plain aligned text, the form the command line prints.

Examples
--------
>>> print(format_table(["depth", "rank"], [[1, 4], [2, 10]]))
depth  rank
-----  ----
    1     4
    2    10
"""

from __future__ import annotations

from tnrnn._numbers import format_count

__all__ = ["format_table"]


def format_table(header: list[str], rows: list[list]) -> str:
    """A plain aligned text table; huge integers are shown in bounded form.

    Parameters
    ----------
    header : list of str
        Column names.
    rows : list of lists
        One list of cells per row (any values, each printed by
        :func:`tnrnn._numbers.format_count`, which bounds integers too long to print).

    Returns
    -------
    str
        The header, a rule of dashes and the rows, columns right-aligned, two spaces apart.
    """
    cells = [header] + [[format_count(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
