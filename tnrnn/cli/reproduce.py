"""``tnrnn reproduce``: regenerate every figure in figures/ from scratch."""

from __future__ import annotations

import contextlib
import sys

from tnrnn.cli._common import add_json, print_json

HELP = "regenerate every figure in figures/ (use --quick for small sizes, as CI does)"


def add_arguments(parser) -> None:
    parser.add_argument("--quick", action="store_true", help="small sizes (minutes, as in CI)")
    parser.add_argument("--out", default="figures", help="figure directory, created if missing (default figures/)")
    parser.add_argument("--only", nargs="+", default=None, help="run only these figure jobs")
    parser.add_argument("--runs", default="runs",
                        help="directory of training runs and sweep stores, created if missing (default runs/)")
    add_json(parser)


def run(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from tnrnn._files import output_dir
    from tnrnn.reproduce import reproduce

    output_dir(args.out, "--out")
    output_dir(args.runs, "--runs")
    if args.json:  # the jobs' own output goes to stderr: stdout holds the one JSON object
        with contextlib.redirect_stdout(sys.stderr):
            written = reproduce(args.out, quick=args.quick, only=args.only, runs_dir=args.runs)
    else:
        written = reproduce(args.out, quick=args.quick, only=args.only, runs_dir=args.runs)
    if args.json:
        print_json({"out": str(args.out), "quick": args.quick,
                    "figures": {job: [str(p) for p in paths] for job, paths in written.items()}})
    else:
        print(f"wrote {sum(len(v) for v in written.values())} figures to {args.out}")
    return 0
