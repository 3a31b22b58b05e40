"""``tnrnn reproduce``: regenerate every figure in figures/ from scratch."""

from __future__ import annotations

HELP = "regenerate every figure in figures/ (use --quick for small sizes, as CI does)"


def add_arguments(parser) -> None:
    parser.add_argument("--quick", action="store_true", help="small sizes (minutes, as in CI)")
    parser.add_argument("--out", default="figures", help="output directory (default figures/)")
    parser.add_argument("--only", nargs="+", default=None, help="run only these figure jobs")
    parser.add_argument("--runs", default="runs", help="training runs and sweep stores (default runs/)")


def run(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from tnrnn.reproduce import reproduce

    written = reproduce(args.out, quick=args.quick, only=args.only, runs_dir=args.runs)
    print(f"wrote {sum(len(v) for v in written.values())} figures to {args.out}")
    return 0
