"""``tnrnn draw``: a diagram of the duplicated tensor network of a RAC architecture."""

from __future__ import annotations

from pathlib import Path

from tnrnn.cli._common import add_architecture, add_json, add_partition, print_json, spec_from
from tnrnn.cli.demo import add_plot_arguments, plot_path

HELP = "draw the tensor network of a RAC (PNG or SVG by the suffix of --plot)"

DEFAULT_PLOT = "network.png"


def add_arguments(parser) -> None:
    add_architecture(parser)
    add_partition(parser)
    add_plot_arguments(parser, DEFAULT_PLOT, optional=False)
    parser.add_argument("--no-cut", action="store_true", help="do not highlight the minimum S/E cut")
    add_json(parser)


def run(args) -> int:
    from tnrnn.tn.draw import draw_network

    spec = spec_from(args)
    plot = plot_path(args, DEFAULT_PLOT)
    try:
        fig = draw_network(spec, args.length, args.partition, out=plot, show_cut=not args.no_cut)
    except BaseException:
        from tnrnn._outputs import discard_if_empty

        discard_if_empty(Path(plot).parent)  # a fresh directory made for nothing is not left behind
        raise
    title = fig.axes[0].get_title().splitlines()[0]
    if args.json:
        print_json({"templates": args.templates, "hidden": args.hidden, "depth": args.depth,
                    "length": args.length, "partition": args.partition, "plot": str(plot), "title": title})
    else:
        print(f"wrote {plot} ({title})")
    return 0
