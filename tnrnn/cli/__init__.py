"""The ``tnrnn`` command: thin wrappers, every subcommand a call into the library.

Each subcommand lives in its own module of this package and provides ``HELP`` (one
line), ``add_arguments(parser)`` and ``run(args) -> int``. The grammar every subcommand
follows (``--json``, output locations, progress, sizes) is in ``docs/cli.md``. Expected
failures (``ValueError``, ``OSError``, ``MemoryError``, ``sqlite3.Error``) are printed as
one line and exit with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["main", "COMMANDS", "THREAD_KINDS"]

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

#: Commands that compute, each with the kind of work its default thread count suits (see
#: :func:`tnrnn._threads.default_threads`): every one of them takes ``--threads``.
THREAD_KINDS: dict[str, str] = {
    "rank": "compute",
    "demo": "compute",
    "compare": "compute",
    "depth-table": "compute",
    "reproduce": "compute",
    "train": "small",
    "sweep": "small",
    "probe": "small",
    "timescale": "small",
    "linear-kernel": "small",
}


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors on one line: ``tnrnn rank: error: argument --seed: ... (see --help)``."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    parser = _Parser(
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
        if name in THREAD_KINDS:
            from tnrnn.cli._common import add_threads

            add_threads(sub, THREAD_KINDS[name])
        sub.set_defaults(_run=module.run)
    return parser


def _subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[command]


def _expected(error: BaseException) -> bool:
    """Whether ``error`` is a user-facing failure (bad value, path, file, device), not a bug."""
    if isinstance(error, (ValueError, OSError, MemoryError)):
        return True
    sqlite3 = sys.modules.get("sqlite3")
    return sqlite3 is not None and isinstance(error, sqlite3.Error)


def _one_line(error: BaseException, args=None) -> str:
    """The error in one line, as the library wrote it (library messages name the flags too)."""
    if isinstance(error, MemoryError):
        return "out of memory: use smaller sizes (or a lower --max-bytes, so the guard refuses earlier)"
    import errno

    full = isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
    plot = getattr(args, "plot", None)
    if full and (error.filename is not None or isinstance(plot, str)):  # a full disk, in words, with the file
        from tnrnn._files import write_error

        # a figure writer's error carries no file name: the only figure a command writes is its --plot
        text = str(write_error(error, error.filename, "file") if error.filename is not None
                   else write_error(error, plot, "--plot"))
    elif isinstance(error, OSError) and error.filename is not None and error.strerror:
        text = f"{error.strerror}: {str(error.filename)!r}"
    else:
        text = str(error) or type(error).__name__
    if type(error).__module__.startswith("sqlite3"):
        text = f"results store: {text}"
    return " ".join(text.split())


def _see_help(command: str) -> str:
    """The pointer every error ends with, as argparse's usage errors do (see :class:`_Parser`)."""
    return f" (see tnrnn {command} --help)"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``tnrnn`` command; returns the exit status.

    Every expected failure (a bad value, an unusable path, a corrupt file, a missing
    device, a size over the limit) prints one line ``tnrnn COMMAND: error: ... (see tnrnn
    COMMAND --help)`` on stderr and returns 2, without a traceback; usage errors exit 2 through argparse. Whatever a
    command printed before failing stays printed. Ctrl-C returns 130.
    """
    from tnrnn import _threads, guards

    try:
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        if extra:  # named by the subcommand, with its help, not by the top-level parser
            _subparser(parser, args.command).error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as stop:  # usage errors (status 2, message printed by argparse) and --help (0)
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 2)
    max_bytes = getattr(args, "max_bytes", None)  # the flag replaces TNRNN_MAX_BYTES
    if max_bytes is None and guards.ENV_ERROR is not None:  # refused before any work, as the flag would be
        print(f"tnrnn {args.command}: error: {guards.ENV_ERROR}{_see_help(args.command)}", file=sys.stderr)
        return 2
    try:
        with guards.limits(max_bytes=max_bytes, max_seconds=getattr(args, "max_seconds", None)):
            if args.command in THREAD_KINDS:  # --threads, else TNRNN_THREADS, else the default of the work
                if args.threads is not None:
                    from tnrnn._validation import check_threads

                    args.threads = check_threads(args.threads, "--threads")  # at most the usable CPUs, a note
                with _threads.threads(args.threads, THREAD_KINDS[args.command]):
                    return int(args._run(args) or 0)
            return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print(f"tnrnn {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if not _expected(error):
            raise  # a bug: keep the traceback
        sys.stdout.flush()
        print(f"tnrnn {args.command}: error: {_one_line(error, args)}{_see_help(args.command)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
