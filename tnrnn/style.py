"""One figure style for every tnrnn plot: size, dpi, a colour-blind-safe palette, legends outside the data.

Every module that draws uses these names instead of its own numbers, so all figures share
one width, one resolution and one set of colours:

- :data:`DPI` (120) and the sizes :data:`SINGLE` (one panel) and :data:`WIDE` (two panels);
- :data:`PALETTE`, the eight colours of Okabe and Ito ("Color Universal Design", 2008),
  distinguishable under the common colour-vision deficiencies; :func:`color` picks one by
  index and :func:`depth_color` gives depth ``L`` the same colour in every figure;
- :func:`legend_outside` puts a legend to the right of (or below) the axes, never on the data;
- :func:`figure` makes a :class:`matplotlib.figure.Figure` with its axes *without pyplot*
  (no global state, no backend switch: a notebook's ``plt.show()`` keeps working, and a
  returned figure displays itself in Jupyter), drawn inside :func:`context`;
- :func:`depth_label` is the one label form of a depth (``"depth 2"``);
- :func:`interval` draws a proven interval ``[lower, upper]`` as a bar between its two ends
  (never as a point at its lower end, which would look like a collapse of the rank);
- :func:`save` writes a figure atomically at :data:`DPI`, optionally with an SVG next to the
  PNG. It is the only place in the package that calls ``savefig``.

Examples
--------
>>> from tnrnn import style
>>> style.depth_color(1) != style.depth_color(2)
True
>>> len(set(style.PALETTE)) == len(style.PALETTE) == 8
True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = [
    "DPI",
    "SINGLE",
    "WIDE",
    "PALETTE",
    "MARKERS",
    "color",
    "depth_color",
    "depth_marker",
    "depth_label",
    "rc",
    "context",
    "styled",
    "figure",
    "interval",
    "legend_outside",
    "save",
]

#: Resolution of every PNG, in dots per inch.
DPI: int = 120
#: Size of a one-panel figure, in inches (840 x 504 pixels at :data:`DPI`).
SINGLE: tuple[float, float] = (7.0, 4.2)
#: Size of a two-panel figure, in inches.
WIDE: tuple[float, float] = (11.0, 4.2)
#: Okabe-Ito colours, black last (kept for reference lines).
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
)
#: Markers that tell series apart without colour (printed in grey, or for colour-blind readers).
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*")


def color(index: int) -> str:
    """The ``index``-th colour of :data:`PALETTE`, cycling.

    Examples
    --------
    >>> color(0), color(8)
    ('#0072B2', '#0072B2')
    """
    return PALETTE[index % len(PALETTE)]


def depth_color(depth: int) -> str:
    """The colour of depth ``depth`` (1-based) in every figure: blue, orange, green, purple, ...

    Examples
    --------
    >>> depth_color(1), depth_color(3)
    ('#0072B2', '#009E73')
    """
    return color(depth - 1)


def depth_marker(depth: int) -> str:
    """The marker of depth ``depth`` (1-based).

    Examples
    --------
    >>> depth_marker(1), depth_marker(2)
    ('o', 's')
    """
    return MARKERS[(depth - 1) % len(MARKERS)]


def depth_label(depth: int) -> str:
    """The label of depth ``depth`` in every legend: ``"depth 2"``.

    Examples
    --------
    >>> depth_label(2)
    'depth 2'
    """
    return f"depth {depth}"


def rc() -> dict[str, Any]:
    """Matplotlib rc parameters of the style, for ``matplotlib.rc_context(style.rc())``.

    Examples
    --------
    >>> rc()["savefig.dpi"]
    120
    """
    from cycler import cycler

    return {
        "figure.figsize": SINGLE,
        "figure.dpi": DPI,
        "savefig.dpi": DPI,
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.labelsize": 9,
        "legend.fontsize": 8,
        "legend.frameon": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": cycler(color=list(PALETTE)),
    }


def context():
    """``matplotlib.rc_context`` with :func:`rc`: draw a figure inside it so that its text uses the style.

    Examples
    --------
    >>> with context():
    ...     fig, ax = figure()
    >>> ax.xaxis.label.get_fontsize() == rc()["axes.labelsize"]
    True
    """
    import matplotlib

    return matplotlib.rc_context(rc())


def styled(function):
    """Decorator: run a drawing function inside :func:`context`.

    Examples
    --------
    >>> @styled
    ... def label_size():
    ...     fig, ax = figure()
    ...     return ax.xaxis.label.get_fontsize()
    >>> label_size() == rc()["axes.labelsize"]
    True
    """
    import functools

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with context():
            return function(*args, **kwargs)

    return wrapper


def figure(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] | None = None, **kwargs):
    """A new ``Figure`` and its axes (``Figure.subplots``), without pyplot; returns ``(fig, axes)``.

    ``figsize`` defaults to :data:`SINGLE` for one column and :data:`WIDE` for more.
    Keyword arguments go to :meth:`matplotlib.figure.Figure.subplots` (``squeeze=``,
    ``sharex=`` ...). Call it inside :func:`context` to get the style's fonts and grid.

    Examples
    --------
    >>> fig, (left, right) = figure(1, 2)
    >>> tuple(fig.get_size_inches()) == WIDE, fig._repr_png_()[:4] == b"\\x89PNG"
    (True, True)
    """
    fig = _figure_class()(figsize=figsize or (SINGLE if ncols == 1 else WIDE), dpi=DPI)
    return fig, fig.subplots(nrows, ncols, **kwargs)


_FIGURE_CLASS: Any = None


def _figure_class():
    """``matplotlib.figure.Figure`` with a ``_repr_png_``: Jupyter shows it (``display(fig)``, or as a
    cell's value) without pyplot and whatever the backend."""
    global _FIGURE_CLASS
    if _FIGURE_CLASS is None:
        from matplotlib.figure import Figure

        class StyledFigure(Figure):
            def _repr_png_(self) -> bytes:
                import io

                buffer = io.BytesIO()
                self.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
                return buffer.getvalue()

        StyledFigure.__module__ = __name__
        _FIGURE_CLASS = StyledFigure
    return _FIGURE_CLASS


def interval(ax, x, lower, upper, *, color: str, label: str | None = None, zorder: float = 2, **kwargs):
    """Draw proven intervals ``[lower, upper]`` at ``x`` as vertical bars with caps at both ends.

    No marker is drawn at either end: a point at the lower end (often 1) would read as the
    rank itself. Scalars or sequences; ``lower == upper`` gives a cap only (use a marker for
    certified values instead). Extra keyword arguments go to ``Axes.errorbar``.

    Examples
    --------
    >>> fig, ax = figure()
    >>> bars = interval(ax, [20, 24], [1, 3], [5e4, 5e5], color=depth_color(3), label="depth 3 interval")
    >>> len(ax.collections), ax.get_legend_handles_labels()[1]
    (1, ['depth 3 interval'])
    """
    import numpy as np

    x = np.atleast_1d(np.asarray(x, dtype=float))
    low = np.atleast_1d(np.asarray([float(v) for v in np.atleast_1d(lower)]))
    high = np.atleast_1d(np.asarray([float(v) for v in np.atleast_1d(upper)]))
    return ax.errorbar(x, low, yerr=[np.zeros_like(low), high - low], fmt="none", ecolor=color,
                       elinewidth=2, capsize=4, capthick=1.5, alpha=0.8, label=label, zorder=zorder,
                       **kwargs)


def legend_outside(ax, *, where: str = "right", **kwargs):
    """Draw the legend of ``ax`` outside the axes: ``where="right"`` (default) or ``"below"``.

    Extra keyword arguments go to :meth:`matplotlib.axes.Axes.legend` (``handles=``, ``ncol=``, ...).
    Returns the legend. Save with :func:`save` (``bbox_inches="tight"``) so it is not cut off.
    """
    if where == "right":
        placement = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0)}
    elif where == "below":
        placement = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.14), "ncol": 3}
    else:
        raise ValueError(f"where must be 'right' or 'below', got {where!r}")
    return ax.legend(**{"frameon": False, "fontsize": 8, **placement, **kwargs})


def save(fig, path: str | Path, *, svg: bool = False) -> Path:
    """Write ``fig`` to ``path`` (PNG at :data:`DPI`, tight bounding box) atomically; return the path.

    With ``svg=True`` an SVG of the same figure is written next to it (same name, ``.svg``),
    for figures shown on the front page.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix or '.png'}")
    fmt = path.suffix[1:].lower() or "png"
    fig.savefig(tmp, dpi=DPI, bbox_inches="tight", format=fmt,
                metadata={"Date": None} if fmt == "svg" else None)  # reproducible SVG bytes
    tmp.replace(path)  # atomic: never a half-written figure
    if svg:
        fig.savefig(path.with_suffix(".svg"), bbox_inches="tight", format="svg", metadata={"Date": None})
    return path
