"""The ``tnrnn`` command: thin wrappers, every subcommand a call into the library.

Each subcommand lives in its own module of this package and provides ``HELP`` (one
line), ``add_arguments(parser)`` and ``run(args) -> int``. Errors in the user's input
(``ValueError``) are printed as one line and exit with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["main", "COMMANDS"]

#: Subcommand name -> module under ``tnrnn.cli``.
COMMANDS: dict[str, str] = {
    "draw": "draw",
    "rank": "rank",
    "bounds": "bounds",
    "demo": "demo",
    "compare": "compare",
    "depth-table": "depth_table",
    "train": "train",
    "sweep": "sweep",
    "probe": "probe",
    "report": "report",
    "reproduce": "reproduce",
    "timescale": "timescale",
    "linear-kernel": "linear_kernel",
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="tnrnn",
        description="Start-End separation ranks of recurrent networks, by depth.",
    )
    from tnrnn import __version__

    parser.add_argument("--version", action="version", version=f"tnrnn {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(f"tnrnn.cli.{module_name}")
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``tnrnn`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except ValueError as error:  # bad input: one clear line, no traceback
        print(f"tnrnn {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tnrnn {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
