"""The comparison: per-length statistics over seeds, longest length solved per depth, probes vs theory, figures."""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path

from tnrnn._files import write_error
from tnrnn.experiments.store import ResultsStore, _exact_int

__all__ = ["summary_rows", "length_rows", "log10_rank", "longest_solved", "bootstrap_interval", "steps_to_threshold",
           "SOLVED_RULES", "markdown_table", "relative_rank", "plot_report", "word_length_rows",
           "word_length_markdown", "plot_word_length"]

#: How a length counts as solved: the share of seeds whose test accuracy reaches the threshold.
SOLVED_RULES = {"majority": 0.5, "all": 1.0, "any": 0.0}


def bootstrap_interval(values, confidence: float = 0.95, resamples: int = 10_000,
                       seed: int = 0) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean of ``values`` (None for no values).

    Examples
    --------
    >>> bootstrap_interval([0.5, 0.5, 0.5])
    (0.5, 0.5)
    >>> low, high = bootstrap_interval([0.2, 0.4, 0.9, 0.95, 1.0])
    >>> 0.2 <= low < 0.69 < high <= 1.0
    True
    """
    import numpy as np

    values = np.asarray([v for v in values if v is not None], dtype=float)
    if values.size == 0:
        return None
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    means = np.random.default_rng(seed).choice(values, size=(resamples, values.size)).mean(axis=1)
    tail = (1 - confidence) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def steps_to_threshold(curve: list[dict], threshold: float) -> int | None:
    """The first evaluation step whose validation accuracy reaches ``threshold`` (None: never).

    Examples
    --------
    >>> steps_to_threshold([{"step": 250, "accuracy": 0.4}, {"step": 500, "accuracy": 0.9}], 0.85)
    500
    """
    return next((point["step"] for point in curve if point["accuracy"] >= threshold), None)


def longest_solved(solved: dict[int, bool]) -> int | None:
    """The longest length T such that T and every shorter length swept are solved (None: not even the shortest).

    Examples
    --------
    >>> longest_solved({24: True, 48: True, 96: False, 144: True})
    48
    >>> longest_solved({8: False, 16: False, 24: True}) is None
    True
    """
    longest = None
    for length in sorted(solved):
        if not solved[length]:
            break
        longest = length
    return longest


def length_rows(store: ResultsStore, threshold: float = 0.9, *, rule: str = "majority",
                confidence: float = 0.95) -> list[dict]:
    """One row per architecture and length: the statistics of its seeds.

    Accuracy is the **test** accuracy (the separate test set, scored once with the final
    weights); points stored without one fall back to validation accuracy and say so in
    ``scored_on``. A length is **solved** when the fraction of seeds reaching
    ``threshold`` exceeds the rule's share (``majority``: more than half; ``all``;
    ``any``).

    Returns
    -------
    list of dict
        ``task, cell, depth, hidden, budget, parameters, free_parameters, length, seeds,
        mean, sd, low, high`` (the bootstrap interval of the mean), ``reached`` (seeds
        at or above the threshold), ``solved_fraction``, ``solved``,
        ``steps_to_threshold`` (per seed, validation curve), ``steps`` (trained, per seed),
        ``scored_on``, ``rule``, ``threshold``, and the theory columns of the point.
    """
    if rule not in SOLVED_RULES:
        raise ValueError(f"rule must be one of {', '.join(SOLVED_RULES)}, got {rule!r}")
    groups: dict[tuple, list[dict]] = {}
    for row in store.points(full=True):
        key = (row["task"], row["cell"], row["depth"], row["budget"] or row["hidden"], row["length"])
        groups.setdefault(key, []).append(row)
    out = []
    for key in sorted(groups, key=lambda k: tuple(str(v).zfill(12) for v in k)):
        rows = sorted(groups[key], key=lambda r: (r["seed"] is None, r["seed"]))
        on_test = all(r["test_accuracy"] is not None for r in rows)
        scores = [r["test_accuracy"] if on_test else r["accuracy"] for r in rows]
        known = [v for v in scores if v is not None]
        interval = bootstrap_interval(known, confidence)
        reached = sum(v >= threshold for v in known)
        fraction = reached / len(known) if known else 0.0
        curves = [json.loads(r["result"] or "{}").get("curve") for r in rows]
        first = rows[0]
        out.append({
            "task": first["task"], "cell": first["cell"], "depth": first["depth"], "hidden": first["hidden"],
            "budget": first["budget"], "parameters": first["parameters"],
            "free_parameters": first["free_parameters"], "length": first["length"],
            "sequence_length": first["sequence_length"], "seeds": len(known),
            "mean": statistics.fmean(known) if known else None,
            "sd": statistics.stdev(known) if len(known) > 1 else None,
            "low": interval[0] if interval else None, "high": interval[1] if interval else None,
            "reached": reached, "solved_fraction": fraction,
            "solved": bool(known) and (fraction > SOLVED_RULES[rule] if rule != "all" else fraction == 1.0),
            "steps_to_threshold": [steps_to_threshold(c, threshold) if c else None for c in curves],
            "steps": [r["steps_trained"] for r in rows], "scored_on": "test" if on_test else "validation",
            "rule": rule, "threshold": threshold, "theory_templates": first["theory_templates"],
            "theory_lower": _exact_int(first["theory_lower"]), "theory_upper": _exact_int(first["theory_upper"]),
            "task_energy_rank_99": _mean([r["task_energy_rank_99"] for r in rows]),
            "target_energy_rank_99": _mean([r["target_energy_rank_99"] for r in rows]),
        })
    return out


def summary_rows(store: ResultsStore, threshold: float = 0.9, *, rule: str = "majority") -> list[dict]:
    """One row per (task, cell, depth, budget): the longest length solved, with the theory.

    A length counts as **solved** by the rule of :func:`length_rows` (by default: more
    than half of its seeds reach ``threshold`` test accuracy), and ``longest_solved`` is
    the longest length such that it and every shorter length swept are solved
    (:func:`longest_solved`). ``theory_lower``/``theory_upper`` are the closed-form
    interval of the generic Start-End rank of the RAC with the same width and depth over
    the task alphabet (M), at the longest length swept.

    Examples
    --------
    >>> import tempfile, os
    >>> with ResultsStore(os.path.join(tempfile.mkdtemp(), "r.sqlite")) as store:
    ...     for i, (length, acc) in enumerate([(4, 0.95), (8, 0.5), (12, 0.91)]):
    ...         _ = store.record(str(i), "s", {"task": "ses", "cell": "rac", "depth": 2, "length": length,
    ...                                        "hidden": 8}, {"summary": {"test_accuracy": acc}}, 0.0)
    ...     [(r["depth"], r["longest_solved"], r["lengths"]) for r in summary_rows(store, 0.9)]
    [(2, 4, '4, 8, 12')]
    """
    groups: dict[tuple, list[dict]] = {}
    for row in length_rows(store, threshold, rule=rule):
        groups.setdefault((row["task"], row["cell"], row["depth"], row["budget"] or row["hidden"]), []).append(row)
    out = []
    for (task, cell, depth, _), rows in groups.items():
        rows = sorted(rows, key=lambda r: r["length"])
        last = rows[-1]
        out.append({"task": task, "cell": cell, "depth": depth, "hidden": last["hidden"], "budget": last["budget"],
                    "parameters": last["parameters"], "free_parameters": last["free_parameters"],
                    "lengths": ", ".join(str(r["length"]) for r in rows),
                    "accuracy": ", ".join("-" if r["mean"] is None else f"{r['mean']:.2f}" for r in rows),
                    "seeds solved": ", ".join(f"{r['reached']}/{r['seeds']}" for r in rows),
                    "longest_solved": longest_solved({r["length"]: r["solved"] for r in rows}),
                    "threshold": threshold, "rule": rule, "theory_length": last["sequence_length"],
                    "theory_templates": last["theory_templates"], "theory_lower": last["theory_lower"],
                    "theory_upper": last["theory_upper"]})
    return out


def log10_rank(value) -> float:
    """log10 of a rank stored as an int, a decimal string, or an approximate ``"~1.2e+4567"`` string.

    Examples
    --------
    >>> log10_rank(1000), round(log10_rank(10**400), 6), log10_rank("~1.00e+5000"), log10_rank("~10^(4.5e+20)")
    (3.0, 400.0, 5000.0, 4.5e+20)
    """
    import math

    if isinstance(value, str):
        if value.startswith("~10^("):
            return float(value[len("~10^("):-1])
        if value.startswith("~"):
            mantissa, exponent = value[1:].split("e")
            return math.log10(float(mantissa)) + int(exponent)
        value = int(value)
    if isinstance(value, int) and value.bit_length() > 1000:
        shift = value.bit_length() - 60
        return math.log10(value >> shift) + shift * math.log10(2)
    return math.log10(value)


def _seed_values(points: list[dict], task, cell, depth, length) -> list[int]:
    values = [p["task_energy_rank_99"] for p in points
              if (p["task"], p["cell"], p["depth"], p["length"]) == (task, cell, depth, length)]
    return [v for v in values if v is not None] or [0]


def _mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def markdown_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """A GitHub Markdown table of dict rows (``None`` shown as ``-``, integers of 16 digits or more as ``~1.23e+89``).

    Examples
    --------
    >>> print(markdown_table([{"T": 24, "upper": 3 * 10**89}]), end="")
    | T | upper |
    |---|---|
    | 24 | ~3.00e+89 |
    """
    if not rows:
        return "(no rows)\n"
    columns = columns or list(rows[0])

    def cell(value):
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.3g}"
        if isinstance(value, str) and value.isdigit():
            value = int(value)  # huge bounds are stored as decimal strings
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**15:
            try:  # bounded: a 90-digit bound is not read digit by digit
                return f"~{float(value):.2e}"
            except OverflowError:
                from tnrnn.rac.bounds import format_count

                return str(format_count(value))
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
                relative: float = 1e-3, rule: str = "majority") -> list[Path]:
    """Draw the comparison figures of a sweep store; returns the PNG paths.

    * ``<out>_accuracy.png``: per task and cell, three panels against the task length T,
      one colour per depth: test accuracy (every seed as a dot, the mean with its 95%
      bootstrap band, the threshold dashed); the generic Start-End rank of the RAC of the
      same width and depth over the task alphabet (proven interval, log axis); and, when
      the sweep ran the task-data probe, the rank holding 99% of the energy of the trained
      networks' Start-End matrix (mean and range over seeds) beside the optimal predictor's.
    * ``<out>_ranks.png`` (when the sweep probed over template symbols): float rank
      (numpy's tolerance) and the rank at ``relative * sigma_max`` of the best-trained
      network of each depth against the probe length T, with the theory's interval for
      the RAC of the same width and depth over the same symbols.
    """
    from tnrnn import style

    with style.context():
        return _draw_report(db, out, threshold=threshold, relative=relative, rule=rule)


def _draw_report(db, out, *, threshold: float, relative: float, rule: str) -> list[Path]:
    from tnrnn import style

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with ResultsStore(db) as store:
        points = store.points()
        probes = store.probes(spectrum=True)
        stats = length_rows(store, threshold, rule=rule)
    if not points:
        raise ValueError(f"{db} holds no finished points yet: run the sweep first")
    paths = []
    series = sorted({(r["task"], r["cell"]) for r in points})
    depths = sorted({r["depth"] for r in points})
    colours = {d: style.depth_color(d) for d in depths}  # the colour of a depth in every figure
    probed = any(r["task_energy_rank_99"] is not None for r in stats)
    panels = 3 if probed else 2
    fig, axes = style.figure(len(series), panels, figsize=(4.2 * panels, 3.9 * len(series)), squeeze=False)
    seed_scores = {}
    for row in points:
        score = row["test_accuracy"] if row["test_accuracy"] is not None else row["accuracy"]
        seed_scores.setdefault((row["task"], row["cell"], row["depth"], row["length"]), []).append(score)
    for (task, cell), row_axes in zip(series, axes):
        accuracy_ax, theory_ax = row_axes[0], row_axes[1]
        xlabel = "delay B (sequence B + 2K)" if task == "copying" else "task length T"
        for depth in depths:
            rows = sorted((r for r in stats if (r["task"], r["cell"], r["depth"]) == (task, cell, depth)),
                          key=lambda r: r["length"])
            if not rows:
                continue
            colour, lengths = colours[depth], [r["length"] for r in rows]
            label = (f"{style.depth_label(depth)}, R={rows[0]['hidden']} "
                     f"({rows[0]['free_parameters'] or rows[0]['parameters']} free)")
            accuracy_ax.plot(lengths, [r["mean"] for r in rows], "o-", color=colour, label=label)
            accuracy_ax.fill_between(lengths, [r["low"] for r in rows], [r["high"] for r in rows], color=colour,
                                     alpha=0.18, lw=0)
            for r in rows:
                scores = seed_scores[(task, cell, depth, r["length"])]
                jitter = [r["length"] * (1 + 0.012 * (depth - (len(depths) + 1) / 2))] * len(scores)
                accuracy_ax.plot(jitter, scores, ".", color=colour, alpha=0.55, ms=5)
            if all(r["theory_lower"] is not None for r in rows):
                # the proven interval [lower, upper] as a bar between its two ends (a known value: a point)
                low = [log10_rank(r["theory_lower"]) for r in rows]
                high = [log10_rank(r["theory_upper"]) for r in rows]
                dodge = [t * (1 + 0.02 * (depth - (len(depths) + 1) / 2)) for t in lengths]
                exact = [(x, lo) for x, lo, hi in zip(dodge, low, high) if lo == hi]
                bars = [(x, lo, hi) for x, lo, hi in zip(dodge, low, high) if lo != hi]
                if exact:
                    theory_ax.plot(*zip(*exact), style.depth_marker(depth), color=colour,
                                   label=f"{style.depth_label(depth)}: exact")
                if bars:
                    style.interval(theory_ax, *zip(*bars), color=colour,
                                   label=f"{style.depth_label(depth)}: proven interval")
            if probed:
                energy = [r["task_energy_rank_99"] for r in rows]
                low = [min(v for v in _seed_values(points, task, cell, depth, r["length"])) for r in rows]
                high = [max(v for v in _seed_values(points, task, cell, depth, r["length"])) for r in rows]
                row_axes[2].errorbar(lengths, energy, yerr=[[e - lo for e, lo in zip(energy, low)],
                                                            [hi - e for e, hi in zip(energy, high)]],
                                     fmt="o-", color=colour, capsize=3,
                                     label=f"{style.depth_label(depth)}: trained networks")
        if probed:
            target = sorted({(r["length"], r["target_energy_rank_99"]) for r in stats
                             if (r["task"], r["cell"]) == (task, cell) and r["target_energy_rank_99"] is not None})
            row_axes[2].plot([t for t, _ in target], [v for _, v in target], "ks--", lw=1,
                             label="optimal predictor")
            row_axes[2].set(xlabel=xlabel, ylabel="rank holding 99% of the energy",
                            title="task-data Start-End matrix (float)", xscale="log")
            row_axes[2].legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
        accuracy_ax.axhline(threshold, color="grey", ls="--", lw=1, label=f"threshold {threshold:g}")
        accuracy_ax.set(xlabel=xlabel, ylabel="test accuracy", ylim=(0, 1.02), xscale="log",
                        title=f"{task}, {cell}: seeds, mean, 95% band")
        accuracy_ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
        theory_ax.set(xlabel=xlabel, ylabel="log10 of the generic Start-End rank (RAC)", xscale="log",
                      title="theory at the same width and depth")
        if theory_ax.get_legend_handles_labels()[0]:  # no theory for this series: no empty legend
            theory_ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
        for ax in row_axes:
            ticks = sorted({r["length"] for r in stats if (r["task"], r["cell"]) == (task, cell)})
            ax.set_xticks(ticks, [str(t) for t in ticks])
            ax.minorticks_off()
    fig.tight_layout()
    paths.append(_save_figure(fig, out.with_name(out.name + "_accuracy.png")))

    model_probes = [p for p in probes if p["route"] == "model" and p["rank"] is not None]
    if model_probes:
        by_point = {r["point_id"]: r for r in points}
        fig, axes = style.figure(1, len(series), figsize=(5.6 * len(series), 4.4), squeeze=False)
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
                theory = [t for t in ts if all(p["theory_lower"] is not None and p["theory_upper"] is not None
                                               for p in rows if p["length"] == t)]  # a probe without theory: none
                lo = [min(_exact_int(p["theory_lower"]) for p in rows if p["length"] == t) for t in theory]
                hi = [max(_exact_int(p["theory_upper"]) for p in rows if p["length"] == t) for t in theory]
                colour = colours[depth]
                trained = by_point[best]
                name = style.depth_label(depth)
                ax.plot(ts, rank, "o-", color=colour, label=f"{name} (task length {trained['length']}, "
                                                             f"accuracy {trained['accuracy']:.2f}): float rank")
                ax.plot(ts, coarse, "s:", color=colour, label=f"{name}: rank at {relative:g} sigma_max")
                if theory:
                    lo, hi = [float(v) for v in lo], [float(v) for v in hi]
                    ax.fill_between(theory, lo, hi, color=colour, alpha=0.15)
                    ax.plot(theory, hi, "--", color=colour, lw=1, label=f"{name}: theory interval")
                    ax.plot(theory, lo, "--", color=colour, lw=1)
            templates = model_probes[0]["templates"]
            ax.set(xlabel="probe length T", ylabel="Start-End rank", yscale="log",
                   title=f"{task}, {cell}: trained nets vs theory\n(Start-End, M={templates} template symbols)")
            ax.legend(fontsize=6, ncol=1)
        fig.tight_layout()
        paths.append(_save_figure(fig, out.with_name(out.name + "_ranks.png")))
    return paths


def _save_figure(fig, path: Path) -> Path:
    """:func:`tnrnn.style.save` (atomic: the old figure or the whole new one), a full disk named as such."""
    from tnrnn import style

    try:
        return style.save(fig, path)
    except OSError as error:
        raise write_error(error, path, "--out figure") from None


def _params(row: dict) -> dict:
    try:
        found = json.loads(row.get("params") or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def word_length_rows(store: ResultsStore, threshold: float = 0.9, *, predictions: dict | None = None,
                     confidence: float = 0.95) -> list[dict]:
    """One row per Start-End Similarity word length, depth and width: seeds, endings, theory, prediction.

    Parameters
    ----------
    store : ResultsStore
    threshold : float
        Test accuracy at which a seed counts as having solved the point.
    predictions : dict, optional
        Word length (as a string) -> the prediction written in the sweep config before the
        runs (``[report] predictions``), shown beside the outcome.
    confidence : float
        Of the bootstrap interval of the mean test accuracy.

    Returns
    -------
    list of dict
        ``word_length, depth, hidden, free_parameters, length, seeds, scores`` (every seed's
        test accuracy, in seed order), ``mean, sd, low, high, reached`` (seeds at or above
        ``threshold``), ``ended`` (how many runs ended by the
        plateau rule, at the step cap, by divergence), ``plateau_share``, ``best_steps``
        (the steps the tested weights are from), ``steps`` (trained), ``tested_on_best``
        (every test score is from the best-validation weights), ``overlap_rank`` (the
        Start-End rank that suffices at this word length, :func:`tnrnn.nn.capacity.ses_overlap_rank`)
        and ``prediction``. Only SES points are included.

    Examples
    --------
    >>> import tempfile, os
    >>> with ResultsStore(os.path.join(tempfile.mkdtemp(), "r.sqlite")) as store:
    ...     for seed, (acc, end) in enumerate([(0.95, "plateau"), (0.5, "cap")]):
    ...         _ = store.record(str(seed), "s", {"task": "ses", "cell": "modrelu", "depth": 1, "length": 40,
    ...                                           "hidden": 60, "seed": seed, "word_length": 8},
    ...                          {"summary": {"test_accuracy": acc, "ended": end, "best_step": 1000}}, 0.0)
    ...     row = word_length_rows(store, 0.9, predictions={"8": "depth 1 below"})[0]
    >>> row["word_length"], row["reached"], row["ended"], row["overlap_rank"], row["prediction"]
    (8, 1, 'plateau 1, cap 1', 249, 'depth 1 below')
    """
    from tnrnn.nn.capacity import ses_overlap_rank

    predictions = predictions or {}
    groups: dict[tuple, list[dict]] = {}
    for row in store.points(full=True):
        if row["task"] != "ses":
            continue
        params = _params(row)
        key = (params.get("word_length"), row["depth"], row["hidden"], row["length"], params.get("alphabet") or 32)
        groups.setdefault(key, []).append(row)
    out = []
    for key in sorted(groups, key=lambda k: tuple(-1 if v is None else v for v in k)):
        word_length, depth, hidden, length, alphabet = key
        rows = sorted(groups[key], key=lambda r: (r["seed"] is None, r["seed"]))
        summaries = [json.loads(r["result"] or "{}").get("summary", {}) for r in rows]
        scores = [r["test_accuracy"] for r in rows if r["test_accuracy"] is not None]
        interval = bootstrap_interval(scores, confidence)
        endings: dict[str, int] = {}
        for summary in summaries:
            ending = summary.get("ended") or "not recorded"
            endings[ending] = endings.get(ending, 0) + 1
        out.append({
            "word_length": word_length, "depth": depth, "hidden": hidden,
            "free_parameters": rows[0]["free_parameters"], "length": length, "seeds": len(scores),
            "scores": scores, "mean": statistics.fmean(scores) if scores else None,
            "sd": statistics.stdev(scores) if len(scores) > 1 else None,
            "low": interval[0] if interval else None, "high": interval[1] if interval else None,
            "reached": sum(v >= threshold for v in scores),
            "ended": ", ".join(f"{name} {count}" for name, count in sorted(endings.items(),
                                                                          key=lambda item: item[0] != "plateau")),
            "plateau_share": endings.get("plateau", 0) / len(rows),
            "best_steps": [summary.get("best_step") for summary in summaries],
            "steps": [r["steps_trained"] for r in rows],
            "tested_on_best": all(summary.get("best_step") is not None for summary in summaries),
            "overlap_rank": ses_overlap_rank(word_length, alphabet) if word_length else None,
            "prediction": predictions.get(str(word_length)),
            "threshold": threshold,
        })
    return out


def word_length_markdown(rows: list[dict]) -> str:
    """The table of :func:`word_length_rows` as Markdown (accuracy as mean ± sd [interval])."""
    def interval(r):
        if r["mean"] is None:
            return "-"
        sd = f" ± {r['sd']:.3f}" if r["sd"] is not None else ""
        return f"{r['mean']:.3f}{sd} [{r['low']:.3f}, {r['high']:.3f}]"

    table = [{"m": r["word_length"], "depth": r["depth"], "R": r["hidden"], "free params": r["free_parameters"],
              "T": r["length"], "rank needed (1+m(n-1))": r["overlap_rank"],
              "test accuracy: mean ± sd [95% bootstrap]": interval(r),
              f">= {r['threshold']:g}": f"{r['reached']}/{r['seeds']}", "ended": r["ended"],
              "tested at step": ", ".join("-" if s is None else str(s) for s in r["best_steps"]),
              "steps trained": ", ".join(str(s) for s in r["steps"]),
              "prediction (stated before the runs)": r["prediction"] or "-"} for r in rows]
    return markdown_table(table)


def plot_word_length(rows: list[dict], path: str | os.PathLike, *, threshold: float | None = None) -> Path:
    """Test accuracy and test error against SES word length, one colour per depth; returns the PNG.

    Left: the mean test accuracy with its 95% bootstrap interval; the top axis gives the
    Start-End rank that suffices at each word length (``1 + m (n - 1)``), chance (1/3) and
    ``threshold`` are drawn dashed. Right: every seed's test error ``1 - accuracy`` on a
    log scale, with the median per depth, which separates depths that all sit near
    accuracy 1 on the left. A seed with no test error at all is drawn at half the smallest
    positive error of the figure (a log axis has no 0).
    """
    from tnrnn import style

    if not rows:
        raise ValueError("no SES points to draw: run the word-length sweep first")
    with style.context():
        fig, (ax, errors) = style.figure(1, 2)
        depths = sorted({r["depth"] for r in rows})
        lengths = sorted({r["word_length"] for r in rows})
        test_errors = {id(r): [1 - v for v in r["scores"]] for r in rows}
        positive = [e for seeds in test_errors.values() for e in seeds if e > 0]
        zero_at = min(positive) / 2 if positive else 1e-4

        def shown(error: float) -> float:  # on the log axis, no error is drawn at zero_at
            return error if error > 0 else zero_at

        for offset, depth in enumerate(depths):
            mine = sorted((r for r in rows if r["depth"] == depth), key=lambda r: r["word_length"])
            xs = [r["word_length"] for r in mine]
            colour, marker = style.depth_color(depth), style.depth_marker(depth)
            ax.errorbar(xs, [r["mean"] for r in mine], yerr=[[r["mean"] - r["low"] for r in mine],
                                                                [r["high"] - r["mean"] for r in mine]],
                        fmt=marker + "-", color=colour, capsize=3,
                        label=f"{style.depth_label(depth)}, R={mine[0]['hidden']} "
                              f"({mine[0]['free_parameters']} free)")
            shift = 1 + 0.04 * (offset - (len(depths) - 1) / 2)  # side by side on the log axis
            for r in mine:
                seeds = test_errors[id(r)]
                errors.plot([r["word_length"] * shift] * len(seeds), [shown(e) for e in seeds],
                            marker, color=colour, alpha=0.45, ms=5, ls="none")
            medians = [statistics.median(test_errors[id(r)]) if r["scores"] else float("nan") for r in mine]
            errors.plot([x * shift for x in xs], [shown(m) for m in medians], marker + "-",
                        color=colour, ms=8, mfc="white")
        ax.axhline(1 / 3, color="grey", ls=":", lw=1, label="chance 1/3")
        if threshold is not None:
            ax.axhline(threshold, color="grey", ls="--", lw=1, label=f"threshold {threshold:g}")
        ax.set(xlabel="word length m", ylabel="test accuracy (best-validation weights)", ylim=(0, 1.02),
               xticks=lengths, title=f"SES, T = {rows[0]['length']}: mean and 95% bootstrap interval")
        top = ax.secondary_xaxis("top")
        top.set_xticks(lengths, [str(next(r["overlap_rank"] for r in rows if r["word_length"] == m))
                                 for m in lengths])
        top.set_xlabel("Start-End rank that suffices, 1 + m(n-1)")
        errors.set_xscale("log")
        errors.set_yscale("log")
        errors.set_xticks(lengths, [str(m) for m in lengths])
        errors.minorticks_off()
        errors.set(xlabel="word length m", ylabel="test error, 1 - accuracy (log)",
                   title="every seed (small), median per depth (large)")
        if threshold is not None:
            errors.axhline(1 - threshold, color="grey", ls="--", lw=1)
        errors.axhline(zero_at, color="grey", ls=":", lw=1)
        errors.annotate("no test error", (0.01, zero_at), xycoords=("axes fraction", "data"),
                        xytext=(0, 3), textcoords="offset points", fontsize="small", color="grey")
        style.legend_outside(ax, where="below")
        return style.save(fig, path)
