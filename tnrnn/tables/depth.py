"""Generic Start-End ranks by depth and length: the data behind "depth buys memory".

:func:`depth_table` computes one :class:`~tnrnn.ranks.router.RankResult` per (depth, T) with
the closed-form bounds beside it (the scalable method makes long T possible);
:func:`plot_depth_table` draws rank against T on a log scale, bounds as lines and
computed ranks as points (open markers: not certified). Cells whose block would exceed
``max_block`` rows are not ranked: their proven interval gets a computed lower end, the
rank of a capped block (any block's rank mod p is a lower bound of the generic rank).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tnrnn.guards import (
    DEFAULT_MAX_BLOCK,
    SECONDS_PER_DRAW,
    SECONDS_PER_LAYER_STEP,
    SizeLimitError,
    active_limits,
    check_rac,
)
from tnrnn.rac.bounds import STATUS, Approx, as_float, bounds
from tnrnn.rac.circuits import RACSpec
from tnrnn.rac.partitions import start_end
from tnrnn.ranks.plan import RankPlan, plan
from tnrnn.ranks.router import generic_rank
from tnrnn.ranks.routes import DENSE_AUTO_ENTRIES
from tnrnn.ranks.scalable import capped_lower_bound
from tnrnn.tables.format import format_table

#: Rows and columns of the block whose rank is the computed lower end of a cell too large to rank
#: (about a second on two cores).
CAPPED_BLOCK = 2048
#: ... computed while the cell has at most this many layer-steps (depth x T); longer cells keep
#: the closed forms' interval (method ``skipped``).
CAPPED_MAX_LAYER_STEPS = 2000

__all__ = ["DEFAULT_MAX_BLOCK", "CAPPED_BLOCK", "CAPPED_MAX_LAYER_STEPS", "TableCell", "TablePlan", "plan_depth_table",
           "depth_table", "iter_depth_table", "format_depth_table", "plot_depth_table"]


def _check_lists(depths, lengths) -> tuple[list[int], list[int]]:
    depths, lengths = list(depths), list(lengths)
    if not depths or not lengths:
        raise ValueError(f"depths and lengths must be non-empty, got depths={depths}, lengths={lengths}")
    for name, values in (("depths", depths), ("lengths", lengths)):
        bad = [v for v in values if isinstance(v, bool) or not isinstance(v, int) or v < 1]
        if bad:
            raise ValueError(f"{name} must be positive integers, got {bad}")
    odd = [t for t in lengths if t % 2]
    if odd:
        raise ValueError(f"the Start-End partition needs even lengths, got {odd}")
    return depths, lengths


def _block_size(spec: RACSpec, length: int, method: str, max_block: int | None) -> int | None:
    """Rows of the block the chosen route would rank, or ``None`` when it is within limits."""
    if max_block is None or method == "dense":
        return None
    if method == "auto" and spec.templates**length <= DENSE_AUTO_ENTRIES:
        return None
    size = min(bounds(spec, length).upper, spec.templates ** (length // 2))
    return size if size > max_block else None


@dataclass(frozen=True, kw_only=True)
class TableCell:
    """What a depth table does with one (depth, length) cell.

    Attributes
    ----------
    spec : RACSpec
    length : int
    action : str
        ``rank`` (an exact rank through :func:`tnrnn.generic_rank`), ``capped block`` (the
        rank of a :data:`CAPPED_BLOCK`-sized block as the interval's lower end) or
        ``skipped`` (the closed forms' interval alone).
    plan : RankPlan or None
        The rank's plan (:func:`tnrnn.ranks.plan.plan`), for ``rank`` cells.
    block_rows : int or None
        Rows of the exact block, where that is over ``max_block`` (why the cell is not ranked).
    """

    spec: RACSpec
    length: int
    action: str
    plan: RankPlan | None = None
    block_rows: int | None = None


@dataclass(frozen=True, kw_only=True)
class TablePlan:
    """The plan of a whole depth table, before any cell is computed.

    Attributes
    ----------
    cells : list of TableCell
        In table order (depths outer, lengths inner).
    seconds : float
        A lower estimate of the time of every ranked cell together (capped blocks, about a
        second each, are not counted).
    max_seconds : float or None
        The time limit on the whole table (``None``: none).
    """

    cells: list[TableCell]
    seconds: float
    max_seconds: float | None

    def check(self) -> TablePlan:
        """Return the plan if every ranked cell fits its limits and the table its time, else raise.

        Raises
        ------
        SizeLimitError
            Naming the first cell over the memory limit (in its route's words), or the
            table's predicted time and the limit.

        Examples
        --------
        >>> plan_depth_table(2, 2, [1, 2], [4, 8], draws=10**6, max_seconds=60).check()
        Traceback (most recent call last):
        ...
        tnrnn.guards.SizeLimitError: the table's 4 ranked cells (1,000,000 weight draws each) would take ...
        """
        for cell in self.cells:
            if cell.plan is not None and cell.plan.refusal is not None:
                raise SizeLimitError(f"cell L={cell.spec.depth}, T={cell.length}: {cell.plan.refusal}")
        if self.max_seconds is not None and self.seconds > self.max_seconds:
            ranked = [cell for cell in self.cells if cell.plan is not None]
            raise SizeLimitError(
                f"the table's {len(ranked)} ranked cells ({ranked[0].plan.draws:,} weight draws each) would take at "
                f"least {self.seconds:.3g} s (about {SECONDS_PER_LAYER_STEP:g} s per layer-step and draw, and "
                f"{SECONDS_PER_DRAW:g} s per draw), over the limit of {self.max_seconds:g} s; raise it (max_seconds=, "
                f"--max-seconds), or use fewer draws, depths or lengths")
        return self


def plan_depth_table(templates: int, hidden: int, depths, lengths, *, method: str = "auto", draws: int = 3,
                     max_block: int | None = DEFAULT_MAX_BLOCK, max_seconds: float | None = None) -> TablePlan:
    """What :func:`depth_table` will do with each cell, its memory and its time, before any work.

    Parameters
    ----------
    templates, hidden, depths, lengths, method, draws, max_block
        As for :func:`depth_table`.
    max_seconds : float, optional
        The limit on the whole table's predicted time; default the innermost
        :func:`tnrnn.limits` block's (none outside a block).

    Returns
    -------
    TablePlan
        Never raises for a cost over the limits (see :meth:`TablePlan.check`).

    Raises
    ------
    ValueError
        Empty or non-positive depths/lengths, odd lengths, bad M or R or method.
    SizeLimitError
        Weights or partitions over the memory limit (cheap checks, before any cell).

    Examples
    --------
    >>> table = plan_depth_table(3, 3, [1, 3], [8, 40])
    >>> [(c.spec.depth, c.length, c.action) for c in table.cells]
    [(1, 8, 'rank'), (1, 40, 'rank'), (3, 8, 'rank'), (3, 40, 'capped block')]
    >>> table.cells[2].plan.method
    'dense'
    """
    depths, lengths = _check_lists(depths, lengths)
    RACSpec(templates, hidden, 1)  # validates templates and hidden before any work
    cells = []
    for depth, length in itertools.product(depths, lengths):
        check_rac(templates, hidden, depth, length)
        spec = RACSpec(templates, hidden, depth)
        too_big = _block_size(spec, length, method, max_block)
        if too_big is None:
            cells.append(TableCell(spec=spec, length=length, action="rank",
                                   plan=plan(spec, length, method=method, draws=draws)))
        else:
            action = "skipped" if length * depth > CAPPED_MAX_LAYER_STEPS else "capped block"
            cells.append(TableCell(spec=spec, length=length, action=action, block_rows=too_big))
    seconds = sum(cell.plan.seconds for cell in cells if cell.plan is not None)
    limit = max_seconds if max_seconds is not None else active_limits().max_seconds
    return TablePlan(cells=cells, seconds=seconds, max_seconds=limit)


def iter_depth_table(templates: int, hidden: int, depths, lengths, *, method: str = "auto", draws: int = 3,
                     seed: int = 0, max_block: int | None = DEFAULT_MAX_BLOCK, progress: bool = True) -> Iterator[dict]:
    """Yield the rows of :func:`depth_table` one at a time (interrupting keeps the finished ones).

    The cells are those of :func:`plan_depth_table`, checked before the first one runs.
    """
    from tqdm.auto import tqdm

    table = plan_depth_table(templates, hidden, depths, lengths, method=method, draws=draws,
                             max_block=max_block).check()
    for cell in tqdm(table.cells, desc="ranks", disable=not progress):
        spec, length, depth = cell.spec, cell.length, cell.spec.depth
        closed = bounds(spec, length, start_end(length))
        named = {k: getattr(closed, k) for k in STATUS}  # ints, or Approx when astronomically large
        row = {"templates": templates, "hidden": hidden, "depth": depth, "length": length, **named}
        if cell.action != "rank":
            row.update(_unranked_cell(cell, closed, max_block, seed))
        else:
            result = generic_rank(spec, length, method=method, draws=draws, seed=seed)
            row.update(rank=result.rank, lower=result.lower, upper=result.upper,
                       certified=result.certified, kind=result.kind, method=result.method,
                       seconds=result.seconds, failure_bound=result.failure_bound, note="")
        yield row


def _unranked_cell(cell: TableCell, closed, max_block: int, seed: int) -> dict:
    """A cell too large to rank: its proven interval, the lower end computed from a capped block."""
    import time

    start = time.perf_counter()
    note = f"block of {cell.block_rows} rows > max_block={max_block}"
    if cell.action == "skipped":  # too long even to run a capped block quickly
        return dict(rank=None, lower=closed.lower, upper=closed.upper, certified=closed.lower == closed.upper,
                    kind="certified" if closed.lower == closed.upper else "lower bound", method="skipped",
                    seconds=0.0, failure_bound=None, note=note)
    size = min(max_block, CAPPED_BLOCK)
    found = capped_lower_bound(cell.spec, cell.length, size, seed=seed)
    lower = max(found, closed.lower)
    return dict(rank=found, lower=lower, upper=closed.upper, certified=lower == closed.upper,
                kind="certified" if lower == closed.upper else "lower bound", method="capped block",
                seconds=time.perf_counter() - start, failure_bound=None,
                note=f"{note}; lower end: the rank of a {size} x {size} block (a proven lower bound)")


def depth_table(templates: int, hidden: int, depths, lengths, *, method: str = "auto",
                draws: int = 3, seed: int = 0, max_block: int | None = DEFAULT_MAX_BLOCK,
                progress: bool = True) -> list[dict]:
    """Generic Start-End ranks for every depth and (even) length.

    Parameters
    ----------
    templates, hidden : int
        M and R.
    depths, lengths : iterable of int
        L values and even T values.
    method : str
        As in :func:`tnrnn.ranks.router.generic_rank` (``auto``: dense for tiny grids, else the
        scalable method).
    draws, seed : int
        As in :func:`tnrnn.ranks.router.generic_rank`.
    max_block : int or None
        Skip cells whose exact block would have more rows than this (the rank can be that
        large: ``min(upper bound, M^{T/2})``); ``None``: no limit but memory.
    progress : bool
        Show a tqdm bar.

    Returns
    -------
    list of dict
        One row per (depth, length): ``depth``, ``length``, ``rank``, ``lower``, ``upper``,
        ``certified``, ``kind`` (as :attr:`tnrnn.ranks.router.RankResult.kind`), ``method``,
        ``seconds``, ``failure_bound``, ``note`` and the named closed forms. A cell whose
        block would exceed ``max_block`` rows is not ranked: its lower end is the rank of a
        :data:`CAPPED_BLOCK`-sized block (method ``capped block``, kind ``lower bound``), or,
        past :data:`CAPPED_MAX_LAYER_STEPS` layer-steps, the closed forms' (method ``skipped``).

    Raises
    ------
    ValueError
        Empty or non-positive depths/lengths, odd lengths, bad M or R.
    SizeLimitError
        Before any cell is computed, when a ranked cell is over the memory limit or the
        table over the time limit of a :func:`tnrnn.limits` block (:meth:`TablePlan.check`).

    Examples
    --------
    >>> rows = depth_table(2, 2, [1, 2], [4], progress=False)
    >>> [(r["depth"], r["rank"], r["certified"]) for r in rows]
    [(1, 2, True), (2, 4, True)]
    """
    return list(iter_depth_table(templates, hidden, depths, lengths, method=method, draws=draws, seed=seed,
                                 max_block=max_block, progress=progress))


def format_depth_table(rows: list[dict]) -> str:
    """A readable table: one line per (depth, T), the rank and its interval and bounds."""

    def show(v):
        if v is None:
            return "-"
        # huge bounds: readable, not exact; bounded cost at any size (tnrnn.rac.bounds.Approx)
        return str(v) if v < 10**12 else str(Approx(math.log10(v)) if isinstance(v, int) else v)

    body = [[r["depth"], r["length"], show(r["rank"]), f"[{show(r['lower'])}, {show(r['upper'])}]",
             r["kind"], show(r["shallow"]), show(r["depth2_lower"]),
             show(r["lifted_upper"]), show(r["mincut_upper"]), show(r["trivial_upper"]),
             r["method"], f"{r['seconds']:.2f}"] for r in rows]
    header = ["L", "T", "rank", "interval", "kind", "shallow", "depth2_lower",
              "lifted_upper", "mincut_upper", "trivial_upper", "method", "s"]
    return format_table(header, body)


def plot_depth_table(rows: list[dict], path: str | Path | None = None, *, ax=None):
    """Rank against T by depth, log scale: computed ranks as points, intervals as bars, bounds as lines.

    One colour and marker per depth (:func:`tnrnn.style.depth_color`). Thin line: the best
    proven upper bound (minimum of the closed forms); dashed: the paper's depth-2 lower
    bound. Filled markers are certified ranks; a cell whose generic rank is only known to
    lie in ``[lower, upper]`` (``lower < upper``) is a bar between those two ends. Returns
    the matplotlib ``Figure`` (made without pyplot); saves it to ``path`` when given.
    """
    from tnrnn import style

    with style.context():
        fig, ax = (ax.figure, ax) if ax is not None else style.figure()
        depths = sorted({r["depth"] for r in rows})
        span = (max(r["length"] for r in rows) - min(r["length"] for r in rows)) or 1
        for i, depth in enumerate(depths):
            dodge = (i - (len(depths) - 1) / 2) * 0.012 * span  # intervals of equal cells side by side
            color, marker, name = style.depth_color(depth), style.depth_marker(depth), style.depth_label(depth)
            sub = sorted((r for r in rows if r["depth"] == depth), key=lambda r: r["length"])
            lengths = [r["length"] for r in sub]
            ax.plot(lengths, [as_float(r["upper"]) for r in sub], "-", color=color, lw=1, alpha=0.6,
                    label=f"{name}: proven upper bound")
            certified = [r for r in sub if r["lower"] == r["upper"]]
            if certified:
                ax.plot([r["length"] for r in certified], [as_float(r["lower"]) for r in certified], marker,
                        ms=6, color=color, linestyle="none", zorder=3, label=f"{name}: certified rank")
            open_ = [r for r in sub if r["lower"] != r["upper"]]
            if open_:
                style.interval(ax, [r["length"] + dodge for r in open_], [as_float(r["lower"]) for r in open_],
                               [as_float(r["upper"]) for r in open_], color=color, zorder=3,
                               label=f"{name}: proven interval")
            if any(r["depth2_lower"] is not None for r in sub):
                ax.plot(lengths, [as_float(r["depth2_lower"]) for r in sub], "--", color=color, lw=1.2,
                        label=f"{name}: paper lower bound C(min(M,R)+T/2-1, T/2)")
        first = rows[0]
        ax.set_yscale("log")
        ax.set_xlabel("length T")
        ax.set_ylabel("generic Start-End rank")
        ax.set_title(f"Start-End rank by depth (M={first['templates']}, R={first['hidden']}; exact mod p)")
        style.legend_outside(ax, where="below", ncol=2)
        if path is not None:
            style.save(fig, path)
    return fig
