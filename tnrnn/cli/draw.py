"""``tnrnn draw``: a diagram of the duplicated tensor network of a RAC architecture."""

from __future__ import annotations

import argparse

from tnrnn.cli._common import add_architecture, add_json, add_partition, print_json, spec_from

HELP = "draw the tensor network of a RAC (PNG or SVG by the suffix of --plot)"


def add_arguments(parser) -> None:
    add_architecture(parser)
    add_partition(parser)
    parser.add_argument("--plot", default=None, help="the figure file, .png or .svg (required)")
    parser.add_argument("--out", dest="plot_alias", default=None, help=argparse.SUPPRESS)  # old spelling
    parser.add_argument("--no-cut", action="store_true", help="do not highlight the minimum S/E cut")
    add_json(parser)


def run(args) -> int:
    from tnrnn._files import output_file
    from tnrnn.draw import draw_network

    plot = args.plot or args.plot_alias
    if plot is None:
        raise ValueError("--plot FILE is required (.png or .svg)")
    if args.plot and args.plot_alias:
        raise ValueError("give the figure file once, as --plot FILE")
    spec = spec_from(args)
    output_file(plot, "--plot", (".png", ".svg"))
    fig = draw_network(spec, args.length, args.partition, out=plot, show_cut=not args.no_cut)
    title = fig.axes[0].get_title().splitlines()[0]
    if args.json:
        print_json({"templates": args.templates, "hidden": args.hidden, "depth": args.depth,
                    "length": args.length, "partition": args.partition, "plot": str(plot), "title": title})
    else:
        print(f"wrote {plot} ({title})")
    return 0
