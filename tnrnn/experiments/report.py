"""The comparison: longest length solved per depth, probe ranks vs theory ranks, figures."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tnrnn.experiments.store import ResultsStore, _exact_int

__all__ = ["summary_rows", "markdown_table", "relative_rank", "plot_report"]

def summary_rows(store: ResultsStore, threshold: float = 0.9) -> list[dict]:
    """One row per (task, cell, depth, budget): the longest task length solved, with the theory.

    A length counts as **solved** when the mean validation accuracy over its seeds is at
    least ``threshold``. ``theory_lower``/``theory_upper`` are the closed-form interval of
    the generic Start-End rank of the RAC with the same width and depth over the task
    alphabet (M), at the task's sequence length (for the longest length swept).

    Examples
    --------
    >>> import tempfile, os
    >>> with ResultsStore(os.path.join(tempfile.mkdtemp(), "r.sqlite")) as store:
    ...     for i, (length, acc) in enumerate([(4, 0.95), (8, 0.91), (12, 0.5)]):
    ...         _ = store.record(str(i), "s", {"task": "ses", "cell": "rac", "depth": 2, "length": length,
    ...                                        "hidden": 8}, {"summary": {"accuracy": acc}}, 0.0)
    ...     [(r["depth"], r["longest_solved"], r["lengths"]) for r in summary_rows(store, 0.9)]
    [(2, 8, '4, 8, 12')]
    """
    groups: dict[tuple, list[dict]] = {}
    for row in store.points():
        key = (row["task"], row["cell"], row["depth"], row["budget"] or row["hidden"])
        groups.setdefault(key, []).append(row)
    out = []
    for (task, cell, depth, _), rows in sorted(groups.items(), key=lambda kv: tuple(str(k) for k in kv[0])):
        by_length: dict[int, list[dict]] = {}
        for row in rows:
            by_length.setdefault(row["length"], []).append(row)
        accuracy = {t: _mean([r["accuracy"] for r in rs]) for t, rs in sorted(by_length.items())}
        solved = [t for t, a in accuracy.items() if a is not None and a >= threshold]
        longest = max(by_length)
        last = by_length[longest][0]
        out.append({"task": task, "cell": cell, "depth": depth, "hidden": rows[0]["hidden"],
                    "budget": rows[0]["budget"], "parameters": rows[0]["parameters"],
                    "lengths": ", ".join(str(t) for t in accuracy),
                    "accuracy": ", ".join("-" if a is None else f"{a:.2f}" for a in accuracy.values()),
                    "longest_solved": max(solved) if solved else None, "threshold": threshold,
                    "theory_length": last["sequence_length"], "theory_templates": last["theory_templates"],
                    "theory_lower": _exact_int(last["theory_lower"]),
                    "theory_upper": _exact_int(last["theory_upper"])})
    return out


def _mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def markdown_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """A GitHub Markdown table of dict rows (``None`` shown as ``-``)."""
    if not rows:
        return "(no rows)\n"
    columns = columns or list(rows[0])

    def cell(value):
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.3g}"
        return str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def relative_rank(spectrum: list[float] | str, relative: float) -> int | None:
    """Number of singular values above ``relative * sigma_max`` (a stated, coarser float rank).

    Examples
    --------
    >>> relative_rank([1.0, 0.1, 1e-4], 1e-3), relative_rank("[2.0, 1.0]", 0.6)
    (2, 1)
    """
    values = json.loads(spectrum) if isinstance(spectrum, str) else spectrum
    if not values:
        return None
    return sum(1 for v in values if v > relative * values[0])


def plot_report(db: str | os.PathLike, out: str | os.PathLike, *, threshold: float = 0.9,
                relative: float = 1e-3) -> list[Path]:
    """Draw the comparison figures of a sweep store; returns the PNG paths.

    * ``<out>_solved.png``: per task, validation accuracy against the task length for
      each depth (the dashed line is ``threshold``), and the longest length solved per
      depth next to the theory's generic-rank interval for that architecture.
    * ``<out>_ranks.png`` (when the sweep probed): float rank (numpy's tolerance) and
      the rank at ``relative * sigma_max`` of the best-trained network of each depth
      against the probe length T, with the theory's interval for the RAC of the same
      width and depth over the same symbols.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with ResultsStore(db) as store:
        points = store.points()
        probes = store.probes(spectrum=True)
        summary = summary_rows(store, threshold)
    if not points:
        raise ValueError(f"{db} holds no finished points yet: run the sweep first")
    paths = []
    series = sorted({(r["task"], r["cell"]) for r in points})
    depths = sorted({r["depth"] for r in points})
    colours = {d: plt.cm.viridis(i / max(len(depths) - 1, 1) * 0.85) for i, d in enumerate(depths)}
    fig, axes = plt.subplots(len(series), 2, figsize=(10, 3.6 * len(series)), squeeze=False)
    for (task, cell), (left, right) in zip(series, axes):
        rows = [r for r in summary if r["task"] == task and r["cell"] == cell]
        for row in rows:
            lengths = [int(t) for t in row["lengths"].split(", ")]
            accuracy = [None if a == "-" else float(a) for a in row["accuracy"].split(", ")]
            left.plot(lengths, accuracy, "o-", color=colours[row["depth"]],
                      label=f"L={row['depth']} (R={row['hidden']}, {row['parameters']} params)")
        left.axhline(threshold, color="grey", ls="--", lw=1, label=f"solved: accuracy >= {threshold:g}")
        left.set(xlabel="task length", ylabel="validation accuracy", ylim=(0, 1.02),
                 title=f"{task}, {cell}: accuracy at matched budget")
        left.legend(fontsize=7)
        x = [r["depth"] for r in rows]
        solved = [r["longest_solved"] or 0 for r in rows]
        right.bar(x, solved, color=[colours[d] for d in x], alpha=0.8, width=0.5)
        swept = max(int(t) for r in rows for t in r["lengths"].split(", "))
        right.set(xlabel="depth L", ylabel="longest task length solved (0: none)", xticks=depths,
                  ylim=(0, swept * 1.1), title="longest solved (bars) vs theory rank (markers)")
        twin = right.twinx()
        if all(r["theory_lower"] is not None and r["theory_upper"] is not None for r in rows):
            lower = [float(r["theory_lower"]) for r in rows]
            upper = [float(r["theory_upper"]) for r in rows]
            twin.errorbar(x, lower, yerr=[[0] * len(x), [u - lo for lo, u in zip(lower, upper)]], fmt="kv",
                          capsize=4, label="generic Start-End rank: proven interval")
            twin.plot(x, upper, "k^")
            twin.set_yscale("log")
            t_len = rows[-1]["theory_length"]
            twin.set_ylabel(f"theory rank at T={t_len}, M={rows[-1]['theory_templates']}")
            twin.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    path = out.with_name(out.name + "_solved.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    paths.append(path)

    model_probes = [p for p in probes if p["route"] == "model" and p["rank"] is not None]
    if model_probes:
        by_point = {r["point_id"]: r for r in points}
        fig, axes = plt.subplots(1, len(series), figsize=(5.6 * len(series), 4.4), squeeze=False)
        for (task, cell), ax in zip(series, axes[0]):
            for depth in depths:
                # the best-trained network of this depth (highest validation accuracy)
                rows = [p for p in model_probes if by_point[p["point_id"]]["task"] == task
                        and by_point[p["point_id"]]["cell"] == cell and by_point[p["point_id"]]["depth"] == depth]
                if not rows:
                    continue
                best = max({p["point_id"] for p in rows}, key=lambda i: (by_point[i]["accuracy"] or 0, i))
                rows = sorted((p for p in rows if p["point_id"] == best), key=lambda p: p["length"])
                ts = sorted({p["length"] for p in rows})
                rank = [_mean([p["rank"] for p in rows if p["length"] == t]) for t in ts]
                coarse = [_mean([relative_rank(p["spectrum"], relative) for p in rows if p["length"] == t])
                          for t in ts]
                lo = [min(_exact_int(p["theory_lower"]) for p in rows if p["length"] == t) for t in ts]
                hi = [max(_exact_int(p["theory_upper"]) for p in rows if p["length"] == t) for t in ts]
                colour = colours[depth]
                trained = by_point[best]
                ax.plot(ts, rank, "o-", color=colour, label=f"L={depth} (task length {trained['length']}, "
                                                             f"accuracy {trained['accuracy']:.2f}): float rank")
                ax.plot(ts, coarse, "s:", color=colour, label=f"L={depth}: rank at {relative:g} sigma_max")
                lo, hi = [float(v) for v in lo], [float(v) for v in hi]
                ax.fill_between(ts, lo, hi, color=colour, alpha=0.15)
                ax.plot(ts, hi, "--", color=colour, lw=1, label=f"L={depth}: theory interval")
                ax.plot(ts, lo, "--", color=colour, lw=1)
            templates = model_probes[0]["templates"]
            ax.set(xlabel="probe length T", ylabel="Start-End rank", yscale="log",
                   title=f"{task}, {cell}: trained nets vs theory\n(Start-End, M={templates} template symbols)")
            ax.legend(fontsize=6, ncol=1)
        fig.tight_layout()
        path = out.with_name(out.name + "_ranks.png")
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths
