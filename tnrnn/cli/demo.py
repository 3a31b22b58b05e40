"""``tnrnn demo``: shallow vs deep Start-End ranks with their bounds, and a plot.

The default lengths go to T = 48, far beyond the dense grid tensor (M^T entries), thanks to
the scalable method; cells whose exact block would exceed ``--max-block`` rows are shown
with their proven interval only.
"""

from __future__ import annotations

import argparse

from tnrnn._guards import DEFAULT_MAX_BLOCK
from tnrnn.cli._common import add_json, add_progress, check_rank_table, positive_int, print_json, progress

HELP = "table of shallow vs deep generic Start-End ranks with bounds, and a plot (--plot)"

DEFAULT_LENGTHS = [2, 4, 6, 8, 10, 12, 14, 16, 20, 24, 32, 40, 48]
DEFAULT_PLOT = "figures/demo_rank_vs_length.png"


def add_arguments(parser) -> None:
    parser.add_argument("--templates", "-M", type=positive_int, default=3, help="M (default 3)")
    parser.add_argument("--hidden", "-R", type=positive_int, default=3, help="R (default 3)")
    parser.add_argument("--depths", type=positive_int, nargs="+", default=[1, 2, 3], help="default 1 2 3")
    parser.add_argument("--lengths", type=positive_int, nargs="+", default=DEFAULT_LENGTHS,
                        help="even lengths T (default 2 4 ... 16 20 24 32 40 48)")
    parser.add_argument("--max-block", type=positive_int, default=DEFAULT_MAX_BLOCK,
                        help="skip cells whose exact block exceeds this many rows (default 16384)")
    add_plot_arguments(parser, DEFAULT_PLOT)
    add_progress(parser)
    add_json(parser)


def add_plot_arguments(parser, default: str) -> None:
    """``--plot FILE`` (with the old spelling ``--out`` accepted, hidden) and ``--no-plot``."""
    parser.add_argument("--plot", default=None, help=f"the figure file, .png or .svg (default {default})")
    parser.add_argument("--out", dest="plot_alias", default=None, help=argparse.SUPPRESS)  # old spelling
    parser.add_argument("--no-plot", action="store_true", help="do not write the figure")


def plot_path(args, default: str) -> str | None:
    """The checked figure path of ``--plot`` (or its old spelling), ``None`` with ``--no-plot``."""
    from tnrnn._files import output_file

    if args.plot and args.plot_alias:
        raise ValueError("give the figure file once, as --plot FILE")
    path = args.plot or args.plot_alias or default
    if args.no_plot:
        if args.plot or args.plot_alias:
            raise ValueError("--no-plot and --plot contradict each other: drop one")
        return None
    output_file(path, "--plot", (".png", ".svg"))
    return path


def run(args) -> int:
    from tnrnn.depthtable import depth_table, format_depth_table, plot_depth_table

    check_rank_table(args, 3, None)
    plot = plot_path(args, DEFAULT_PLOT)
    rows = depth_table(args.templates, args.hidden, args.depths, args.lengths, max_block=args.max_block,
                       progress=progress(args))
    if args.json:
        print_json({"templates": args.templates, "hidden": args.hidden, "rows": rows, "plot": plot})
    else:
        print(format_depth_table(rows))
    if plot is not None:
        plot_depth_table(rows, plot)
        if not args.json:
            print(f"plot written to {plot}")
    return 0
