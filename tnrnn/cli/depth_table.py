"""``tnrnn depth-table``: generic Start-End ranks for depths 1-4 over a range of lengths, and a plot.

Interrupting (Ctrl-C) prints the rows already computed, then exits with status 130.
"""

from __future__ import annotations

from tnrnn.cli._common import print_json

HELP = "generic Start-End ranks by depth and length (the depth conjecture data), table and plot"


def add_arguments(parser) -> None:
    parser.add_argument("--templates", "-M", type=int, default=2, help="M (default 2)")
    parser.add_argument("--hidden", "-R", type=int, default=2, help="R (default 2)")
    parser.add_argument("--depths", type=int, nargs="+", default=[1, 2, 3, 4], help="default 1 2 3 4")
    parser.add_argument("--lengths", type=int, nargs="+", default=list(range(2, 25, 2)),
                        help="even lengths T (default 2 4 ... 24)")
    parser.add_argument("--method", default="auto", help="auto (default), dense, tn or scalable")
    parser.add_argument("--draws", type=int, default=3, help="random weight draws per cell (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first draw")
    parser.add_argument("--max-block", type=int, default=9000,
                        help="skip cells whose exact block would exceed this many rows (default 9000)")
    parser.add_argument("--out", default="figures/depth_table.png", help="plot file (PNG)")
    parser.add_argument("--no-plot", action="store_true", help="do not write the plot")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")


def run(args) -> int:
    from tnrnn.depthtable import format_depth_table, iter_depth_table, plot_depth_table

    if args.max_block is not None and args.max_block < 1:
        raise ValueError(f"--max-block must be a positive integer, got {args.max_block}")
    rows: list[dict] = []
    try:
        for row in iter_depth_table(args.templates, args.hidden, args.depths, args.lengths,
                                    method=args.method, draws=args.draws, seed=args.seed,
                                    max_block=args.max_block, progress=not args.json):
            rows.append(row)
    finally:
        if rows:
            print_json(rows) if args.json else print(format_depth_table(rows))
    if not args.no_plot:
        plot_depth_table(rows, args.out)
        if not args.json:
            print(f"plot written to {args.out}")
    return 0
