"""``tnrnn demo``: shallow vs deep Start-End ranks with their bounds, and a plot.

The default lengths go to T = 48, far beyond the dense grid tensor (M^T entries), thanks to
the scalable method; cells whose exact block would exceed ``--max-block`` rows are shown
with their proven interval only.
"""

from __future__ import annotations

from tnrnn.cli._common import print_json

HELP = "table of shallow vs deep generic Start-End ranks with bounds, and a plot in figures/"

DEFAULT_LENGTHS = [2, 4, 6, 8, 10, 12, 14, 16, 20, 24, 32, 40, 48]


def add_arguments(parser) -> None:
    parser.add_argument("--templates", "-M", type=int, default=3, help="M (default 3)")
    parser.add_argument("--hidden", "-R", type=int, default=3, help="R (default 3)")
    parser.add_argument("--depths", type=int, nargs="+", default=[1, 2, 3], help="default 1 2 3")
    parser.add_argument("--lengths", type=int, nargs="+", default=DEFAULT_LENGTHS,
                        help="even lengths T (default 2 4 ... 16 20 24 32 40 48)")
    parser.add_argument("--max-block", type=int, default=9000,
                        help="skip cells whose exact block exceeds this many rows (default 9000)")
    parser.add_argument("--out", default="figures/demo_rank_vs_length.png", help="plot file")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")


def run(args) -> int:
    from tnrnn.depthtable import depth_table, format_depth_table, plot_depth_table

    if args.max_block < 1:
        raise ValueError(f"--max-block must be a positive integer, got {args.max_block}")
    rows = depth_table(args.templates, args.hidden, args.depths, args.lengths, max_block=args.max_block,
                       progress=not args.json)
    if args.json:
        print_json(rows)
    else:
        print(format_depth_table(rows))
    plot_depth_table(rows, args.out)
    if not args.json:
        print(f"plot written to {args.out}")
    return 0
