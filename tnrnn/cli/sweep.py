"""``tnrnn sweep``: run a declarative depth x length sweep into a resumable SQLite store."""

from __future__ import annotations

import sys

from tnrnn._files import output_file
from tnrnn._outputs import check_replace
from tnrnn.cli._common import add_force, add_json, add_progress, positive_int, print_json, progress
from tnrnn.tables.format import format_table

HELP = "run a TOML sweep config into a SQLite results store (resumable; local pool or Ray)"


def add_arguments(parser) -> None:
    parser.add_argument("config", help="the TOML sweep config (see tnrnn.experiments)")
    parser.add_argument("--db", required=True, help="SQLite results store (created, with its directory, if missing)")
    parser.add_argument("--executor", choices=("local", "ray"), default=None,
                        help="local process pool (default) or a Ray cluster")
    parser.add_argument("--workers", type=positive_int, default=None, help="parallel points (local executor)")
    parser.add_argument("--ray-address", default=None, help="address of an existing Ray cluster")
    parser.add_argument("--csv", default=None, metavar="FILE", help="also export the points table to this CSV file")
    add_force(parser)
    parser.add_argument("--check", action="store_true", help="validate the config and list the points only")
    add_progress(parser)
    add_json(parser)


def run(args) -> int:
    from tnrnn.experiments import ResultsStore, load_config, run_sweep
    from tnrnn.experiments.executors import SweepTerminated

    config = load_config(args.config)
    if args.check:
        keys = sorted({k for p in config.points for k in p.train} & {"task", "cell", "depth", "length",
                                                                     "hidden", "steps", "seed"})
        if args.json:
            print_json({"name": config.name, "points": [{"point": p.point_id, **{k: p.train.get(k) for k in keys}}
                                                        for p in config.points], "config_ok": True})
            return 0
        rows = [[p.point_id] + [p.train.get(k) for k in keys] for p in config.points]
        print(format_table(["point"] + keys, rows))
        print(f"{len(config.points)} points; config OK")
        return 0
    output_file(args.db, "--db", reserve=len("-journal"))  # SQLite writes NAME-journal beside the store
    if args.csv:  # the store is resumed; an existing export is replaced only with --force
        check_replace(output_file(args.csv, "--csv"), "--csv", args.force)
    ResultsStore(args.db).close()  # refuse a file that is not a results store before any work
    try:
        summary = run_sweep(config, args.db, executor=args.executor, workers=args.workers,
                            progress=progress(args), ray_address=args.ray_address)
    except SweepTerminated:
        print("tnrnn sweep: terminated (SIGTERM); finished points are stored, the others resume on the next run",
              file=sys.stderr)
        return 143
    out = {"name": config.name, "total": summary.total, "skipped": summary.skipped, "ran": summary.ran,
           "stored_by_another_sweep": summary.stored_elsewhere,
           "failed": [{"point": point, "reason": reason} for point, reason in summary.failed],
           "seconds": summary.seconds, "db": str(args.db)}
    if args.csv:
        out["csv"] = str(args.csv)
    if args.json:  # the results reach stdout before any file is written
        print_json(out)
    else:
        others = f", {summary.stored_elsewhere} stored meanwhile by another sweep" if summary.stored_elsewhere else ""
        failed = f", {len(summary.failed)} failed" if summary.failed else ""
        print(f"{config.name}: {summary.total} points, {summary.skipped} already stored, {summary.ran} run now"
              f"{others}{failed} ({summary.seconds:.1f} s); results in {_shown(args.db)}")
    sys.stdout.flush()
    if args.csv:
        with ResultsStore(args.db) as store:
            written = store.to_csv(args.csv, what="--csv")
        if not args.json:
            print(f"wrote {_shown(written)}")
    if summary.failed:
        for point, reason in summary.failed:
            print(f"tnrnn sweep: point {point} failed: {reason}", file=sys.stderr)
        raise ValueError(f"{len(summary.failed)} of {summary.total} points failed (listed above; the others are "
                         f"stored); rerun the same command to retry them")
    return 0


def _shown(path) -> str:
    """A path as printable text whatever its bytes (a non-UTF-8 name is shown with escapes)."""
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
