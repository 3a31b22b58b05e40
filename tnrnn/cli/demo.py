"""``tnrnn demo``: shallow vs deep Start-End ranks with their bounds, and a plot.

The default lengths go to T = 48, far beyond the dense grid tensor (M^T entries), thanks to
the scalable method; cells whose exact block would exceed ``--max-block`` rows are shown
with their proven interval only.
"""

from __future__ import annotations

import sys

from tnrnn._files import output_file
from tnrnn._outputs import announce, check_replace, fresh_dir, prepare_dir
from tnrnn.cli._common import (
    add_force,
    add_json,
    add_progress,
    check_rank_table,
    positive_int,
    print_json,
    progress,
)
from tnrnn.guards import DEFAULT_MAX_BLOCK

HELP = "table of shallow vs deep generic Start-End ranks with bounds, and a plot"

DEFAULT_LENGTHS = [2, 4, 6, 8, 10, 12, 14, 16, 20, 24, 32, 40, 48]
DEFAULT_PLOT = "demo_rank_vs_length.png"


def add_arguments(parser) -> None:
    parser.add_argument("--templates", "-M", type=positive_int, default=3, help="M (default 3)")
    parser.add_argument("--hidden", "-R", type=positive_int, default=3, help="R (default 3)")
    parser.add_argument("--depths", "-L", type=positive_int, nargs="+", default=[1, 2, 3], help="default 1 2 3")
    parser.add_argument("--lengths", "-T", type=positive_int, nargs="+", default=DEFAULT_LENGTHS,
                        help="even lengths T (default 2 4 ... 16 20 24 32 40 48)")
    parser.add_argument("--max-block", type=positive_int, default=DEFAULT_MAX_BLOCK,
                        help="skip cells whose exact block exceeds this many rows (default 16384)")
    add_plot_arguments(parser, DEFAULT_PLOT)
    add_progress(parser)
    add_json(parser)


def add_plot_arguments(parser, default: str, *, optional: bool = True) -> None:
    """``--plot FILE``, ``--out DIR`` (the figure as ``DIR/<default>``), ``--force`` and, if ``optional``, ``--no-plot``."""
    parser.add_argument("--plot", default=None, metavar="FILE", help="the figure file, .png or .svg")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help=f"directory of the figure {default} (default: a fresh tnrnn-COMMAND-TIME directory)")
    if optional:
        parser.add_argument("--no-plot", action="store_true", help="do not write the figure")
    add_force(parser)


def plot_path(args, default: str) -> str | None:
    """The checked figure path (``--plot``, else ``--out``/``default``, else a fresh directory); ``None`` with ``--no-plot``.

    An ``--out`` ending in .png or .svg is the old spelling of ``--plot`` (accepted, with a note).
    """
    from pathlib import Path

    if args.out and Path(args.out).suffix.lower() in (".png", ".svg"):
        print(f"note: --out {args.out} is a file; --out is a directory, use --plot FILE", file=sys.stderr)
        if args.plot:
            raise ValueError("give the figure file once, as --plot FILE")
        args.plot, args.out = args.out, None
    if getattr(args, "no_plot", False):
        if args.plot or args.out:
            raise ValueError(f"--no-plot and {'--plot' if args.plot else '--out'} contradict each other: drop one")
        return None
    if args.plot and args.out:
        raise ValueError("--plot FILE and --out DIR both say where the figure goes: give one")
    if args.plot:
        path = output_file(args.plot, "--plot", (".png", ".svg"))
    else:
        directory = prepare_dir(args.out) if args.out else fresh_dir(args.command)
        if not args.out:
            announce(args.command, directory, getattr(args, "json", False))
        path = output_file(directory / default, "--out", (".png", ".svg"))
    return str(check_replace(path, "--plot" if args.plot else "--out", args.force))


def run(args) -> int:
    from tnrnn.tables.depth import depth_table, format_depth_table, plot_depth_table

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
