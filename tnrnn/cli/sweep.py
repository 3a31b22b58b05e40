"""``tnrnn sweep``: run a declarative depth x length sweep into a resumable SQLite store."""

from __future__ import annotations

from pathlib import Path

HELP = "run a TOML sweep config into a SQLite results store (resumable; local pool or Ray)"


def add_arguments(parser) -> None:
    parser.add_argument("config", help="the TOML sweep config (see tnrnn.experiments)")
    parser.add_argument("--db", required=True, help="SQLite results store (created if missing)")
    parser.add_argument("--executor", choices=("local", "ray"), default=None,
                        help="local process pool (default) or a Ray cluster")
    parser.add_argument("--workers", type=int, default=None, help="parallel points (local executor)")
    parser.add_argument("--ray-address", default=None, help="address of an existing Ray cluster")
    parser.add_argument("--csv", default=None, help="also export the points table to this CSV file")
    parser.add_argument("--check", action="store_true", help="validate the config and list the points only")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args) -> int:
    from tnrnn.cli._common import format_table
    from tnrnn.experiments import ResultsStore, load_config, run_sweep

    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be a positive integer, got {args.workers}")
    config = load_config(args.config)
    if args.check:
        keys = sorted({k for p in config.points for k in p.train} & {"task", "cell", "depth", "length",
                                                                     "hidden", "steps", "seed"})
        rows = [[p.point_id] + [p.train.get(k) for k in keys] for p in config.points]
        print(format_table(["point"] + keys, rows))
        print(f"{len(config.points)} points; config OK")
        return 0
    summary = run_sweep(config, args.db, executor=args.executor, workers=args.workers,
                        progress=not args.no_progress, ray_address=args.ray_address)
    print(f"{config.name}: {summary.total} points, {summary.skipped} already stored, {summary.ran} run now "
          f"({summary.seconds:.1f} s); results in {args.db}")
    if args.csv:
        with ResultsStore(args.db) as store:
            print(f"wrote {store.to_csv(Path(args.csv))}")
    return 0
