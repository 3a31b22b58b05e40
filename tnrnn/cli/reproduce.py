"""``tnrnn reproduce``: regenerate every figure of figures/ from scratch, into a fresh directory or --out DIR.

The committed figures are replaced only when asked explicitly: ``--out figures --force``.
"""

from __future__ import annotations

import contextlib
import sys

from tnrnn._files import output_dir
from tnrnn._outputs import announce, check_replace_all, fresh_dir, prepare_dir
from tnrnn.cli._common import add_force, add_json, add_progress, print_json, progress

HELP = "regenerate every figure of figures/ into a fresh directory or --out DIR (--quick: small sizes, as CI)"


def add_arguments(parser) -> None:
    parser.add_argument("--quick", action="store_true", help="small sizes (minutes, as in CI)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="figure directory, created if missing (default: a fresh tnrnn-reproduce-TIME "
                             "directory; --out figures --force regenerates the committed figures)")
    parser.add_argument("--only", nargs="+", default=None, metavar="JOB", help="run only these figure jobs")
    parser.add_argument("--runs", default=None, metavar="DIR",
                        help="directory of training runs and sweep stores, reused when present (default OUT/runs)")
    add_force(parser)
    add_progress(parser)
    add_json(parser)


def run(args) -> int:
    from tnrnn.cli.figure_jobs import JOBS, existing_outputs, reproduce

    unknown = [name for name in args.only or () if name not in JOBS]
    if unknown:
        raise ValueError(f"--only {' '.join(unknown)}: unknown figure job(s); choose from {', '.join(JOBS)}")
    if args.out is None:
        out = fresh_dir("reproduce")
        announce("reproduce", out, args.json)
    else:
        check_replace_all(existing_outputs(args.out, args.only), "--out", args.force)  # before any work
        out = prepare_dir(args.out)
    runs = output_dir(args.runs, "--runs") if args.runs is not None else out / "runs"
    if args.json:  # the jobs' own output goes to stderr: stdout holds the one JSON object; no progress bar
        with contextlib.redirect_stdout(sys.stderr):
            written = reproduce(out, quick=args.quick, only=args.only, runs_dir=runs, force=args.force,
                                progress=False)
    else:
        written = reproduce(out, quick=args.quick, only=args.only, runs_dir=runs, force=args.force,
                            progress=progress(args))
    if args.json:
        print_json({"out": str(out), "quick": args.quick,
                    "figures": {job: [str(p) for p in paths] for job, paths in written.items()}})
    else:
        print(f"wrote {sum(len(v) for v in written.values())} figures to {out}")
    return 0
