"""``tnrnn draw``: a diagram of the duplicated tensor network of a RAC architecture."""

from __future__ import annotations

from tnrnn.cli._common import add_architecture, add_partition, spec_from

HELP = "draw the tensor network of a RAC (PNG or SVG by the suffix of --out)"


def add_arguments(parser) -> None:
    add_architecture(parser)
    add_partition(parser)
    parser.add_argument("--out", required=True, help="output file, .png or .svg")
    parser.add_argument("--no-cut", action="store_true", help="do not highlight the minimum S/E cut")


def run(args) -> int:
    from tnrnn.draw import draw_network

    fig = draw_network(spec_from(args), args.length, args.partition, out=args.out, show_cut=not args.no_cut)
    print(f"wrote {args.out} ({fig.axes[0].get_title().splitlines()[0]})")
    return 0
