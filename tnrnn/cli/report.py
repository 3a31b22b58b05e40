"""``tnrnn report``: tables and figures comparing a sweep's trained networks with the theory."""

from __future__ import annotations

from pathlib import Path

from tnrnn.cli._common import add_json, finite_float, print_json

HELP = "longest length solved per depth and probe ranks vs theory ranks, from a sweep store"


def add_arguments(parser) -> None:
    parser.add_argument("--db", required=True, help="the SQLite results store of tnrnn sweep")
    parser.add_argument("--out", default=None,
                        help="figure directory, created if missing (writes OUT/PREFIX_solved.png, "
                             "OUT/PREFIX_ranks.png)")
    parser.add_argument("--prefix", default="sweep", help="file name prefix of the figures (default sweep)")
    parser.add_argument("--threshold", type=finite_float(0.0, 1.0, low_open=True), default=0.9,
                        help="accuracy at or above which a length counts as solved, in (0, 1] (default 0.9)")
    parser.add_argument("--relative", type=finite_float(0.0, 1.0, low_open=True, high_open=True), default=1e-3,
                        help="also count singular values above this fraction of the largest, in (0, 1) "
                             "(default 1e-3)")
    parser.add_argument("--markdown", default=None, help="also write the tables to this Markdown file")
    parser.add_argument("--csv", default=None, help="also export the points table to this CSV file")
    add_json(parser)


def run(args) -> int:
    from tnrnn._files import output_dir, output_file
    from tnrnn.experiments import ResultsStore, markdown_table, plot_report, relative_rank, summary_rows

    if not Path(args.db).is_file() or Path(args.db).stat().st_size == 0:
        raise ValueError(f"--db {args.db!r} is not a results store (missing, not a file, or empty): "
                         f"run tnrnn sweep first")
    if not args.prefix or "/" in args.prefix or args.prefix in (".", ".."):
        raise ValueError(f"--prefix must be a plain file name prefix (no '/'), got {args.prefix!r}")
    for flag, path in (("--markdown", args.markdown), ("--csv", args.csv)):
        if path:
            output_file(path, flag)
    if args.out:
        output_dir(args.out, "--out")
    with ResultsStore(args.db) as store:
        summary = summary_rows(store, args.threshold)
        points = store.points()
        probes = [p for p in store.probes(spectrum=True) if p["route"] == "model"]
        if args.csv:
            store.to_csv(args.csv)
    columns = ["task", "cell", "depth", "hidden", "parameters", "lengths", "accuracy", "longest_solved",
               "theory_length", "theory_templates", "theory_lower", "theory_upper"]
    text = [f"## Longest task length solved (mean accuracy >= {args.threshold:g}), {len(points)} points\n",
            markdown_table(summary, columns)]
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
    if not args.json:
        print("\n".join(text))
    if args.markdown:
        Path(args.markdown).write_text("\n".join(text))
        if not args.json:
            print(f"wrote {args.markdown}")
    figures = []
    if args.out:
        for path in plot_report(args.db, Path(args.out) / args.prefix, threshold=args.threshold,
                                relative=args.relative):
            figures.append(str(path))
            if not args.json:
                print(f"wrote {path}")
    if args.json:
        print_json({"db": str(args.db), "threshold": args.threshold, "points": len(points), "summary": summary,
                    "probes": rows if probes else [], "figures": figures, "markdown": args.markdown,
                    "csv": args.csv})
    return 0
