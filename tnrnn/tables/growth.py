"""Generic Start-End rank against length for several depths: series, a power-law fit, a figure.

:func:`rank_series` computes one :class:`~tnrnn.ranks.results.RankResult` per length (exact
rank at random weights, proven interval), stopping a series when a length is refused
for memory or a cell takes longer than a budget. :func:`fit_power_law` fits
``log rank = a log T + b`` by least squares and reports the residuals: a description of
the measured growth, not a theorem. :func:`plot_rank_growth` draws rank against T, one
panel per architecture width, certified ranks as filled markers and uncertified ones
as open markers with their proven interval as a bar.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from tnrnn.rac.circuits import RACSpec
from tnrnn.ranks.router import generic_rank

__all__ = ["rank_series", "fit_power_law", "polynomial_regime_fits", "plot_rank_growth", "growth_figure"]


def rank_series(templates: int, hidden: int, depth: int, lengths: Iterable[int], *, draws: int = 1,
                seed: int = 0, max_seconds: float | None = None, max_bytes: int | None = None,
                progress=None) -> list[dict]:
    """Exact generic Start-End ranks at each length, in increasing order.

    Parameters
    ----------
    templates, hidden, depth : int
        M, R, L.
    lengths : iterable of int
        Even lengths T.
    draws, seed, max_bytes
        As in :func:`tnrnn.ranks.router.generic_rank`.
    max_seconds : float, optional
        Stop the series after the first cell that took more wall seconds (wall, not CPU:
        the rank engine runs on every core, so CPU seconds add up the threads).
    progress : callable, optional
        Called with each row as it is finished (for printing).

    Returns
    -------
    list of dict
        ``templates, hidden, depth, length, rank, lower, upper, certified, kind, seconds,
        cpu_seconds, failure_bound, method, primes``; a length refused for memory ends the series with a row
        whose ``rank`` is ``None`` and ``note`` the reason.

    Examples
    --------
    >>> [r["rank"] for r in rank_series(2, 2, 2, [4, 6, 8])]
    [4, 8, 10]
    """
    spec = RACSpec(templates, hidden, depth)
    rows = []
    for length in sorted(lengths):
        row = {"templates": templates, "hidden": hidden, "depth": depth, "length": length}
        cpu = time.process_time()
        try:
            result = generic_rank(spec, length, draws=draws, seed=seed, max_bytes=max_bytes)
        except ValueError as error:
            row.update(rank=None, note=str(error))
            rows.append(row)
            if progress:
                progress(row)
            break
        row.update(rank=result.rank, lower=result.lower, upper=result.upper, certified=result.certified,
                   kind=result.kind, seconds=result.seconds, cpu_seconds=time.process_time() - cpu,
                   failure_bound=result.failure_bound, method=result.method, primes=result.primes, note="")
        rows.append(row)
        if progress:
            progress(row)
        if max_seconds is not None and row["seconds"] > max_seconds:
            break
    return rows


def fit_power_law(lengths: Sequence[float], values: Sequence[float]) -> dict:
    """Least-squares fit ``log10 value = exponent * log10 T + intercept``, with residuals.

    Returns
    -------
    dict
        ``exponent``, ``prefactor`` (``10**intercept``), ``lengths`` (the fitted T),
        ``residuals`` (log10 of measured / fitted, one per point) and ``max_abs_residual``.

    Examples
    --------
    >>> fit = fit_power_law([2, 4, 8], [3, 12, 48])
    >>> round(fit["exponent"], 6), round(fit["prefactor"], 6), fit["max_abs_residual"] < 1e-12
    (2.0, 0.75, True)
    """
    x = np.log10(np.asarray(lengths, dtype=float))
    y = np.log10(np.asarray(values, dtype=float))
    if x.size < 2:
        raise ValueError(f"a power-law fit needs at least 2 points, got {x.size}")
    exponent, intercept = np.polyfit(x, y, 1)
    residuals = y - (exponent * x + intercept)
    return {"exponent": float(exponent), "prefactor": float(10**intercept), "lengths": [float(t) for t in lengths],
            "residuals": [float(r) for r in residuals], "max_abs_residual": float(np.abs(residuals).max())}


def polynomial_regime_fits(rows: list[dict], depth: int = 3) -> dict:
    """Power-law fits of the ranks of ``depth`` where they are below the trivial bound ``M^(T/2)``.

    Where the rank equals ``M^(T/2)`` it grows exponentially, as the bound does; a fit describes
    only the lengths beyond, where the rank is polynomial in T. One fit per M = R with at least two
    such lengths, keyed ``(M, R, depth)``, as :func:`fit_power_law` returns it.

    Examples
    --------
    >>> rows = [{"templates": 2, "hidden": 2, "depth": 3, "length": t, "rank": r}
    ...         for t, r in [(20, 1024), (22, 1604), (24, 2050)]]
    >>> list(polynomial_regime_fits(rows))
    [(2, 2, 3)]
    """
    fits = {}
    for mr in sorted({r["templates"] for r in rows if r["templates"] == r["hidden"]}):
        points = [(r["length"], r["rank"]) for r in rows if (r["templates"], r["hidden"], r["depth"]) == (mr, mr, depth)
                  and r.get("rank") is not None and r["rank"] < mr ** (r["length"] // 2)]
        if len(points) >= 2:
            fits[(mr, mr, depth)] = fit_power_law(*zip(*points))
    return fits


def plot_rank_growth(rows: Sequence[dict], path: str | Path | None = None, *, fits: dict | None = None):
    """Rank against T (log scale), one panel per (M, R), one colour per depth.

    Filled markers: certified ranks; a generic rank only known to lie in ``[lower, upper]``
    is a bar between those ends, with an open marker at the exact rank at the random
    weights drawn; ``fits`` maps ``(M, R, L)`` to :func:`fit_power_law` results drawn as
    dashed lines. Returns the ``Figure`` (made without pyplot).
    """
    from tnrnn import style

    widths = sorted({(r["templates"], r["hidden"]) for r in rows})
    with style.context():
        fig, axes = style.figure(1, len(widths), figsize=(6.2 * len(widths), 4.6), squeeze=False)
        for ax, (m, r) in zip(axes[0], widths):
            _draw_growth_panel(ax, rows, m, r, fits)
        if path is not None:
            style.save(fig, path)
    return fig


def _draw_growth_panel(ax, rows: Sequence[dict], m: int, r: int, fits: dict | None) -> None:
    from tnrnn import style

    for depth in sorted({row["depth"] for row in rows if (row["templates"], row["hidden"]) == (m, r)}):
        series = [row for row in rows if (row["templates"], row["hidden"], row["depth"]) == (m, r, depth)
                  and row.get("rank") is not None]
        color, marker, name = style.depth_color(depth), style.depth_marker(depth), style.depth_label(depth)
        cert = [(row["length"], row["rank"]) for row in series if row["lower"] == row["upper"]]
        unc = [row for row in series if row["lower"] != row["upper"]]
        if cert:
            ax.plot(*zip(*cert), marker, color=color, ms=(6, 6, 9, 4)[(depth - 1) % 4],
                    label=f"{name}: certified")
        if unc:
            style.interval(ax, [row["length"] for row in unc], [row["lower"] for row in unc],
                           [row["upper"] for row in unc], color=color, label=f"{name}: proven interval")
            ax.plot([row["length"] for row in unc], [row["rank"] for row in unc], marker, color=color,
                    mfc="white", ms=5, label=f"{name}: rank at the random weights drawn")
        if series:
            ax.plot([row["length"] for row in series], [row["rank"] for row in series], "-", color=color,
                    lw=0.8, alpha=0.6)
        fit = (fits or {}).get((m, r, depth))
        if fit and series:
            t = np.linspace(min(fit["lengths"]), max(fit["lengths"]), 100)
            ax.plot(t, fit["prefactor"] * t ** fit["exponent"], "--", color=color, lw=1,
                    label=f"{name}: fit {fit['prefactor']:.3g} T^{fit['exponent']:.2f}")
    ts = sorted({row["length"] for row in rows if (row["templates"], row["hidden"]) == (m, r)})
    ax.plot(ts, [m ** (t // 2) for t in ts], ":", color="0.5", lw=1, label="M^(T/2) (trivial bound)")
    ax.set_yscale("log")
    top = max(row["rank"] for row in rows if (row["templates"], row["hidden"]) == (m, r)
              and row.get("rank") is not None)
    ax.set_ylim(0.8, top * 8)
    ax.set_xlabel("length T")
    ax.set_ylabel("generic Start-End rank")
    ax.set_title(f"M={m}, R={r}")
    style.legend_outside(ax, where="below", ncol=2)  # inside, it hid the last points of M=R=3


def growth_figure(out_dir: str | Path = "figures", *, quick: bool = False,
                  data: str | Path | None = None) -> list[Path]:
    """Write ``rank_vs_length.png`` into ``out_dir``: from measured series, or computed small ones.

    ``data`` (default ``figures/rank_vs_length.json`` of the source tree, written by
    ``benchmarks/bench_depth.py``, which took about ten minutes on two cores) is redrawn when
    it exists and ``quick`` is false; otherwise short series (T <= 12 at M=R=2, T <= 8
    at M=R=3, depths 1-4) are computed here in seconds.
    """
    import json

    out = Path(out_dir) / "rank_vs_length.png"
    source = Path(__file__).resolve().parent.parent / "figures" / "rank_vs_length.json" if data is None else Path(data)
    if not quick and source.exists():
        rows = json.loads(source.read_text())["rows"]
    else:
        rows = [row for mr, top in ((2, 12), (3, 8)) for depth in (1, 2, 3, 4)
                for row in rank_series(mr, mr, depth, range(2, top + 1, 2))]
    plot_rank_growth(rows, out, fits=polynomial_regime_fits(rows))
    return [out]
