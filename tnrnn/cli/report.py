"""``tnrnn report``: tables and figures comparing a sweep's trained networks with the theory."""

from __future__ import annotations

from pathlib import Path

HELP = "longest length solved per depth and probe ranks vs theory ranks, from a sweep store"


def add_arguments(parser) -> None:
    parser.add_argument("--db", required=True, help="the SQLite results store of tnrnn sweep")
    parser.add_argument("--out", default=None,
                        help="figure prefix, e.g. figures/sweep (writes <out>_solved.png, <out>_ranks.png)")
    parser.add_argument("--threshold", type=float, default=0.9,
                        help="accuracy at or above which a length counts as solved (default 0.9)")
    parser.add_argument("--relative", type=float, default=1e-3,
                        help="also count singular values above this fraction of the largest (default 1e-3)")
    parser.add_argument("--markdown", default=None, help="also write the tables to this Markdown file")
    parser.add_argument("--csv", default=None, help="also export the points table to this CSV file")


def run(args) -> int:
    from tnrnn.experiments import ResultsStore, markdown_table, plot_report, relative_rank, summary_rows

    if not 0 < args.threshold <= 1:
        raise ValueError(f"--threshold must be in (0, 1], got {args.threshold}")
    if not 0 < args.relative < 1:
        raise ValueError(f"--relative must be in (0, 1), got {args.relative}")
    if not Path(args.db).exists():
        raise ValueError(f"--db {args.db} does not exist: run tnrnn sweep first")
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
    print("\n".join(text))
    if args.markdown:
        Path(args.markdown).write_text("\n".join(text))
        print(f"wrote {args.markdown}")
    if args.out:
        for path in plot_report(args.db, args.out, threshold=args.threshold, relative=args.relative):
            print(f"wrote {path}")
    return 0
