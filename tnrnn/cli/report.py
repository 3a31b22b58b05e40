"""``tnrnn report``: tables and figures comparing a sweep's trained networks with the theory."""

from __future__ import annotations

import sys
from pathlib import Path

from tnrnn._files import atomic_write_text, output_file
from tnrnn._outputs import check_replace, check_replace_all, prepare_dir
from tnrnn.cli._common import add_force, add_json, finite_float, print_json

HELP = "per-length statistics over seeds, longest length solved per depth, probes vs theory, from a sweep store"


def add_arguments(parser) -> None:
    from tnrnn.experiments.report import SOLVED_RULES

    parser.add_argument("--db", required=True, help="the SQLite results store of tnrnn sweep")
    parser.add_argument("--config", default=None,
                        help="the sweep's TOML config: its [report] threshold is used unless --threshold is given")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="figure directory, created if missing (writes DIR/PREFIX_accuracy.png, "
                             "DIR/PREFIX_ranks.png)")
    parser.add_argument("--prefix", default="sweep", help="file name prefix of the figures (default sweep)")
    parser.add_argument("--threshold", type=finite_float(0.0, 1.0, low_open=True), default=None,
                        help="test accuracy at or above which a seed counts as solving a length "
                             "(default: the config's [report] threshold, else 0.9)")
    parser.add_argument("--rule", choices=sorted(SOLVED_RULES), default="majority",
                        help="a length is solved when more than half (majority), all or any of its seeds "
                             "reach the threshold (default majority)")
    parser.add_argument("--relative", type=finite_float(0.0, 1.0, low_open=True, high_open=True), default=1e-3,
                        help="also count singular values above this fraction of the largest, in (0, 1) "
                             "(default 1e-3)")
    parser.add_argument("--markdown", default=None, metavar="FILE", help="also write the tables to this Markdown file")
    parser.add_argument("--csv", default=None, metavar="FILE", help="also export the points table to this CSV file")
    add_force(parser)
    add_json(parser)


def _threshold(args) -> float:
    if args.threshold is not None:
        threshold = args.threshold
    elif args.config is not None:
        from tnrnn.experiments import load_config

        threshold = load_config(args.config, check_points=False).report["threshold"]
    else:
        threshold = 0.9
    return threshold


def _interval(row) -> str:
    if row["mean"] is None:
        return "-"
    sd = f" ± {row['sd']:.3f}" if row["sd"] is not None else ""
    return f"{row['mean']:.3f}{sd} [{row['low']:.3f}, {row['high']:.3f}]"


def run(args) -> int:
    from tnrnn.experiments import ResultsStore, markdown_table, plot_report, relative_rank, summary_rows
    from tnrnn.experiments.report import length_rows

    threshold = _threshold(args)
    if not Path(args.db).is_file() or Path(args.db).stat().st_size == 0:
        raise ValueError(f"--db {args.db!r} is not a results store (missing, not a file, or empty): "
                         f"run tnrnn sweep first")
    if not args.prefix or "/" in args.prefix or args.prefix in (".", ".."):
        raise ValueError(f"--prefix must be a plain file name prefix (no '/'), got {args.prefix!r}")
    if args.out:  # first: a directory made here is tnrnn's own, exports in it included
        prepare_dir(args.out)
    for flag, path in (("--markdown", args.markdown), ("--csv", args.csv)):
        if path:
            check_replace(output_file(path, flag), flag, args.force)
    with ResultsStore(args.db) as store:
        store.check_rows(("depth", "length"))  # a hand-edited or foreign row is refused by name, before any table
        points = store.points()
        if not points:  # the same answer with or without --out, before any file is written
            raise ValueError(f"--db {args.db!r} holds no finished points yet: run (or finish) tnrnn sweep first")
        stats = length_rows(store, threshold, rule=args.rule)
        summary = summary_rows(store, threshold, rule=args.rule)
        probes = [p for p in store.probes(spectrum=True) if p["route"] == "model"]
    scored = {r["scored_on"] for r in stats}
    share = {"majority": "more than half of", "all": "all", "any": "at least one of"}[args.rule]
    rule_text = (f"A length is solved when {share} its seeds reach {' / '.join(sorted(scored))} accuracy "
                 f">= {threshold:g}; the longest solved length is the longest T such that T and every shorter "
                 f"T swept are solved.")
    length_table = [{"task": r["task"], "cell": r["cell"], "depth": r["depth"], "R": r["hidden"],
                     "free params": r["free_parameters"], "params": r["parameters"], "T": r["length"],
                     "seeds": r["seeds"], f"{'/'.join(sorted(scored))} accuracy: mean ± sd [95% bootstrap]":
                         _interval(r), f">= {threshold:g}": f"{r['reached']}/{r['seeds']}",
                     "solved": "yes" if r["solved"] else "no",
                     "steps to threshold": ", ".join("-" if s is None else str(s) for s in r["steps_to_threshold"]),
                     "steps trained": ", ".join(str(s) for s in r["steps"]),
                     "task probe rank (99% energy)": r["task_energy_rank_99"],
                     "optimal predictor's": r["target_energy_rank_99"]} for r in stats]
    columns = ["task", "cell", "depth", "hidden", "free_parameters", "parameters", "lengths", "accuracy",
               "seeds solved", "longest_solved", "theory_length", "theory_templates", "theory_lower", "theory_upper"]
    text = [f"## Per length, over seeds ({len(points)} points)\n", rule_text + "\n", markdown_table(length_table),
            "\n## Longest length solved per depth\n", markdown_table(summary, columns)]
    if probes:
        by_point = {r["point_id"]: r for r in points}
        rows = [{"task": by_point[p["point_id"]]["task"], "cell": by_point[p["point_id"]]["cell"],
                 "depth": by_point[p["point_id"]]["depth"], "hidden": by_point[p["point_id"]]["hidden"],
                 "task length": by_point[p["point_id"]]["length"],
                 "accuracy": by_point[p["point_id"]]["accuracy"], "probe T": p["length"],
                 "M": p["templates"], "method": p["method"], "float rank": p["rank"],
                 f"rank at {args.relative:g} sigma_max": relative_rank(p["spectrum"], args.relative),
                 "effective rank": p["effective_rank"], "theory lower": p["theory_lower"],
                 "theory upper": p["theory_upper"], "theory exact": p["theory_rank"]} for p in probes]
        text += ["\n## Probe ranks of the trained networks (float, at numpy's default tolerance) vs the "
                 "theory's generic rank (exact interval)\n", markdown_table(rows)]
    text, word_rows = _word_length_section(args, threshold, text)
    # the results reach stdout first; then the files, each written whole or not at all
    figures = []
    word_figure = Path(args.out) / f"{args.prefix}_word_length.png" if args.out and word_rows else None
    if args.out:
        base = Path(args.out) / args.prefix
        figures = [str(base.with_name(base.name + "_accuracy.png"))]
        if any(p["rank"] is not None for p in probes):
            figures.append(str(base.with_name(base.name + "_ranks.png")))
        if word_figure is not None:
            figures.append(str(word_figure))
        check_replace_all(figures, "--out", args.force)  # after reading the store, before any output
    if args.json:
        print_json({"db": str(args.db), "threshold": threshold, "rule": args.rule, "rule_text": rule_text,
                    "points": len(points), "lengths": stats, "summary": summary,
                    "probes": rows if probes else [], "figures": figures, "markdown": args.markdown,
                    "csv": args.csv})
    else:
        print("\n".join(text))
    sys.stdout.flush()
    if args.markdown:
        atomic_write_text(args.markdown, "\n".join(text), "--markdown")
        if not args.json:
            print(f"wrote {args.markdown}")
    if args.csv:
        with ResultsStore(args.db) as store:
            store.to_csv(args.csv, what="--csv")
        if not args.json:
            print(f"wrote {args.csv}")
    if args.out:
        for path in plot_report(args.db, Path(args.out) / args.prefix, threshold=threshold, relative=args.relative,
                                rule=args.rule):
            if not args.json:
                print(f"wrote {path}")
    if word_figure is not None:
        from tnrnn.experiments.report import plot_word_length

        plot_word_length(word_rows, word_figure, threshold=threshold)
        if not args.json:
            print(f"wrote {word_figure}")
    return 0


def _word_length_section(args, threshold: float, text: list[str]):
    """The per-word-length table and its rows, when the store sweeps SES word lengths (else ``None``)."""
    from tnrnn.experiments import ResultsStore
    from tnrnn.experiments.report import word_length_markdown, word_length_rows

    predictions = {}
    if args.config is not None:
        from tnrnn.experiments import load_config

        predictions = load_config(args.config, check_points=False).report.get("predictions", {})
    with ResultsStore(args.db) as store:
        rows = word_length_rows(store, threshold, predictions=predictions)
    if not rows or (len({r["word_length"] for r in rows}) < 2 and not predictions):
        return text, None  # not a word-length sweep
    text = text + ["\n## Per word length (SES), over seeds: how the runs ended, the theory's prediction\n",
                   word_length_markdown(rows)]
    return text, rows
