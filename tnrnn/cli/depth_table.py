"""``tnrnn depth-table``: generic Start-End ranks for depths 1-4 over a range of lengths, and a plot.

Interrupting (Ctrl-C) prints the rows already computed, then exits with status 130.
"""

from __future__ import annotations

from tnrnn.cli._common import (
    add_json,
    add_max_seconds,
    add_progress,
    check_rank_table,
    positive_int,
    print_json,
    progress,
    seed_int,
)
from tnrnn.cli.demo import add_plot_arguments, plot_path
from tnrnn.guards import DEFAULT_MAX_BLOCK

HELP = "generic Start-End ranks by depth and length (the depth conjecture data), table and plot"

DEFAULT_PLOT = "depth_table.png"


def add_arguments(parser) -> None:
    parser.add_argument("--templates", "-M", type=positive_int, default=2, help="M (default 2)")
    parser.add_argument("--hidden", "-R", type=positive_int, default=2, help="R (default 2)")
    parser.add_argument("--depths", "-L", type=positive_int, nargs="+", default=[1, 2, 3, 4], help="default 1 2 3 4")
    parser.add_argument("--lengths", "-T", type=positive_int, nargs="+", default=list(range(2, 25, 2)),
                        help="even lengths T (default 2 4 ... 24)")
    parser.add_argument("--method", default="auto", choices=("auto", "dense", "tn", "scalable"),
                        help="auto (default), dense, tn or scalable")
    parser.add_argument("--draws", type=positive_int, default=3, help="random weight draws per cell (default 3)")
    parser.add_argument("--seed", type=seed_int, default=0, help="seed of the first draw (default 0)")
    parser.add_argument("--max-block", type=positive_int, default=DEFAULT_MAX_BLOCK,
                        help="skip cells whose exact block would exceed this many rows (default 16384)")
    add_plot_arguments(parser, DEFAULT_PLOT)
    add_max_seconds(parser)
    add_progress(parser)
    add_json(parser)


def run(args) -> int:
    from tnrnn.tables.depth import format_depth_table, iter_depth_table, plot_depth_table

    check_rank_table(args, args.draws, args.max_seconds)
    plot = plot_path(args, DEFAULT_PLOT)
    rows: list[dict] = []
    try:
        for row in iter_depth_table(args.templates, args.hidden, args.depths, args.lengths,
                                    method=args.method, draws=args.draws, seed=args.seed,
                                    max_block=args.max_block, progress=progress(args)):
            rows.append(row)
    finally:
        if rows:  # what was computed is printed, whatever happens next
            if args.json:
                print_json({"templates": args.templates, "hidden": args.hidden, "rows": rows, "plot": plot})
            else:
                print(format_depth_table(rows))
    if plot is not None and rows:
        plot_depth_table(rows, plot)
        if not args.json:
            print(f"plot written to {plot}")
    return 0
