"""Generic Start-End ranks by depth and length: the data behind "depth buys memory".

:func:`depth_table` computes one :class:`~tnrnn.rank.RankResult` per (depth, T) with
the closed-form bounds beside it; :func:`plot_depth_table` draws rank against T on a
log scale, bounds as lines and computed ranks as points (open markers: not certified).
"""

from __future__ import annotations

import itertools
from pathlib import Path

from tnrnn.bounds import bounds
from tnrnn.circuits import RACSpec
from tnrnn.rank import generic_rank

__all__ = ["depth_table", "format_depth_table", "plot_depth_table"]


def depth_table(templates: int, hidden: int, depths, lengths, *, method: str = "auto",
                draws: int = 3, seed: int = 0, progress: bool = True) -> list[dict]:
    """Generic Start-End ranks for every depth and (even) length.

    Returns
    -------
    list of dict
        One row per (depth, length): ``depth``, ``length``, ``rank``, ``lower``, ``upper``,
        ``certified``, ``method``, ``seconds`` and the named closed forms.

    Examples
    --------
    >>> rows = depth_table(2, 2, [1, 2], [4], progress=False)
    >>> [(r["depth"], r["rank"], r["certified"]) for r in rows]
    [(1, 2, True), (2, 4, True)]
    """
    from tqdm.auto import tqdm

    grid = list(itertools.product(depths, lengths))
    rows = []
    for depth, length in tqdm(grid, desc="ranks", disable=not progress):
        spec = RACSpec(templates, hidden, depth)
        result = generic_rank(spec, length, method=method, draws=draws, seed=seed)
        closed = bounds(spec, length)
        rows.append({"templates": templates, "hidden": hidden, "depth": depth, "length": length,
                     "rank": result.rank, "lower": result.lower, "upper": result.upper,
                     "certified": result.certified, "method": result.method,
                     "seconds": result.seconds, "failure_bound": result.failure_bound,
                     **{k: v for k, v in closed.to_dict().items() if k not in ("lower", "upper")}})
    return rows


def format_depth_table(rows: list[dict]) -> str:
    """A readable table: one line per (depth, T), the rank and its interval and bounds."""
    from tnrnn.cli._common import format_table

    def show(v):
        return "-" if v is None else str(v)

    body = [[r["depth"], r["length"], r["rank"], f"[{r['lower']}, {r['upper']}]",
             "yes" if r["certified"] else "no", show(r["shallow"]), show(r["depth2_lower"]),
             show(r["lifted_upper"]), show(r["mincut_upper"]), show(r["trivial_upper"]),
             r["method"], f"{r['seconds']:.2f}"] for r in rows]
    header = ["L", "T", "rank", "interval", "certified", "shallow", "depth2_lower",
              "lifted_upper", "mincut_upper", "trivial_upper", "method", "s"]
    return format_table(header, body)


def plot_depth_table(rows: list[dict], path: str | Path | None = None, *, ax=None):
    """Rank against T by depth, log scale: computed ranks as points, bounds as lines.

    Filled markers are certified ranks; open markers are exact ranks at random weights
    whose generic value is only known to lie in ``[lower, upper]`` (drawn as an error bar).
    Returns the matplotlib ``Figure``; saves it to ``path`` when given.
    """
    import matplotlib

    if ax is None:
        matplotlib.use("Agg") if path is not None else None
    import matplotlib.pyplot as plt

    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 4.5))
    depths = sorted({r["depth"] for r in rows})
    colors = plt.cm.viridis([i / max(len(depths) - 1, 1) * 0.85 for i in range(len(depths))])
    for depth, color in zip(depths, colors):
        sub = sorted((r for r in rows if r["depth"] == depth), key=lambda r: r["length"])
        lengths = [r["length"] for r in sub]
        for cert in (True, False):
            pts = [r for r in sub if r["certified"] == cert]
            if not pts:
                continue
            ax.errorbar([r["length"] for r in pts], [r["rank"] for r in pts],
                        yerr=[[0] * len(pts), [r["upper"] - r["rank"] for r in pts]],
                        fmt="o", ms=7, color=color, mfc=color if cert else "white", capsize=3,
                        label=f"L={depth} rank" + ("" if cert else " (interval)"), zorder=3)
        lifted = [r["lifted_upper"] for r in sub]
        ax.plot(lengths, [min(a, r["trivial_upper"]) for a, r in zip(lifted, sub)], "-",
                color=color, lw=1.2, alpha=0.8, label=f"L={depth} upper bound")
        if any(r["depth2_lower"] is not None for r in sub):
            ax.plot(lengths, [r["depth2_lower"] for r in sub], "--", color=color, lw=1.2,
                    label=f"L={depth} paper lower bound")
    first = rows[0]
    ax.set_yscale("log")
    ax.set_xlabel("sequence length T")
    ax.set_ylabel("Start-End separation rank")
    ax.set_title(f"Generic Start-End rank by depth (M={first['templates']}, R={first['hidden']})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=150)
    return fig
