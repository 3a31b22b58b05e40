"""``tnrnn compare``: shallow vs deep on one screen, a length x depth pivot table of generic ranks."""

from __future__ import annotations

from tnrnn._files import output_file
from tnrnn._outputs import check_replace
from tnrnn.cli._common import (
    add_force,
    add_max_seconds,
    add_progress,
    check_rank_table,
    positive_int,
    print_json,
    progress,
    seed_int,
)
from tnrnn.guards import DEFAULT_MAX_BLOCK
from tnrnn.tables.compare import compare

HELP = "generic Start-End ranks for depths 1..L over lengths T, one table (certified value or interval)"


def add_arguments(parser) -> None:
    parser.add_argument("--templates", "-M", type=positive_int, default=3, help="M, number of templates (default 3)")
    parser.add_argument("--hidden", "-R", type=positive_int, default=3, help="R, hidden width (default 3)")
    parser.add_argument("--depths", "-L", type=positive_int, nargs="+", default=[1, 2, 3],
                        help="depths to compare (default 1 2 3)")
    parser.add_argument("--lengths", "-T", type=positive_int, nargs="+", default=[8, 16, 40],
                        help="even lengths T (default 8 16 40)")
    parser.add_argument("--max-block", type=positive_int, default=DEFAULT_MAX_BLOCK,
                        help="cells whose exact block exceeds this many rows show their interval (default 16384)")
    parser.add_argument("--draws", type=positive_int, default=3, help="random weight draws per cell (default 3)")
    parser.add_argument("--seed", type=seed_int, default=0, help="seed of the first draw (default 0)")
    add_max_seconds(parser)
    parser.add_argument("--plot", default=None, metavar="FILE", help="the figure file, .png or .svg: rank against T by depth")
    add_force(parser)
    add_progress(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object (table, summary, cells)")


def run(args) -> int:
    if args.plot:  # before the work, not after
        check_replace(output_file(args.plot, "--plot", (".png", ".svg")), "--plot", args.force)
    check_rank_table(args, args.draws, args.max_seconds)
    result = compare(args.templates, args.hidden, args.depths, args.lengths, max_block=args.max_block,
                     draws=args.draws, seed=args.seed, progress=progress(args))
    if args.plot:
        result.plot(args.plot)
    if args.json:
        print_json(result.to_dict())
        return 0
    print(result.format())
    print(result.summary())
    if args.plot:
        print(f"plot written to {args.plot}")
    return 0
