"""Argument helpers shared by the subcommands: one spelling and one check per kind of argument.

The grammar (written out for users in ``docs/cli.md``):

* ``-M/--templates``, ``-R/--hidden``, ``-L/--depth``, ``-T/--length`` mean the same
  everywhere they appear.
* ``--json`` prints one JSON object on stdout and nothing else there (progress and notes
  go to stderr).
* ``--out DIR`` is always a directory; ``--plot FILE`` is a single figure; other files
  have their own flag (``--db``, ``--csv``, ``--markdown``). Missing parent directories
  are created; a location under a regular file or in a directory that cannot be written
  is refused before any work.
* Without ``--out``/``--plot`` a command that must write makes a fresh directory
  ``tnrnn-COMMAND-TIME`` and prints it; an existing file is replaced only with ``--force``
  (or inside a directory tnrnn made for its output), see :mod:`tnrnn._outputs`.
* ``--no-progress`` turns progress bars off (they are off with ``--json`` too).
* ``--threads N`` sets the threads of torch, BLAS and python-flint for every command that
  computes (default: ``TNRNN_THREADS``, else one for training-like work and the idle CPUs
  this process may use for exact ranks; see :mod:`tnrnn._threads`).
* ``--max-bytes`` raises or lowers the memory limit of size guards (default 4 GiB, or
  ``TNRNN_MAX_BYTES``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from tnrnn.guards import DEFAULT_MAX_SECONDS, check_rac, parse_bytes, time_limit
from tnrnn.tables.format import format_table  # noqa: F401  (the commands print their tables with it)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def nonnegative_int(text: str) -> int:
    """argparse type: an integer >= 0 (seeds, step counts)."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return value


def seed_int(text: str) -> int:
    """argparse type: a random seed, an integer in [0, 2**63)."""
    value = _int(text)
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"a seed must be an integer in [0, 2**63), got {text!r}")
    return value


def prime_int(text: str) -> int:
    """argparse type: a prime modulus below 2**31 (checked again by the library)."""
    value = _int(text)
    if not 2 <= value < 2**31:
        raise argparse.ArgumentTypeError(f"must be a prime in [2, 2**31), got {text!r}")
    return value


def finite_float(low: float | None = None, high: float | None = None, *, low_open: bool = False,
                 high_open: bool = False):
    """argparse type factory: a finite float in the given (closed unless ``*_open``) range.

    The range check is :func:`tnrnn._validation.check_float`'s (the one config files and
    environment variables go through); only the message is argparse's.
    """
    from tnrnn._validation import check_float, float_span

    span = float_span(low, high, low_open=low_open, high_open=high_open)

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        try:
            return check_float(value, "value", low, high, low_open=low_open, high_open=high_open)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a finite number in {span}, got {text!r}") from None

    parse.__name__ = "number"
    return parse


def byte_count(text: str) -> int:
    """argparse type: ``4G``, ``512M``, ``1e9`` ..."""
    try:
        return parse_bytes(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_architecture(parser: argparse.ArgumentParser, *, length: bool = True) -> None:
    """``--templates M --hidden R --depth L [--length T]``."""
    parser.add_argument("--templates", "-M", type=positive_int, required=True, help="M, number of templates")
    parser.add_argument("--hidden", "-R", type=positive_int, required=True, help="R, hidden width")
    parser.add_argument("--depth", "-L", type=positive_int, required=True, help="L, number of layers")
    if length:
        parser.add_argument("--length", "-T", type=positive_int, required=True, help="T, sequence length")


def add_partition(parser: argparse.ArgumentParser) -> None:
    """``--partition start-end|cut:K|interleaved|S:.../E:...``."""
    parser.add_argument("--partition", default="start-end",
                        help="start-end (default), cut:K, interleaved, or S:0,1/E:2,3")


def add_json(parser: argparse.ArgumentParser) -> None:
    """``--json``: one JSON object on stdout, nothing else there."""
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout (nothing else)")


def add_progress(parser: argparse.ArgumentParser) -> None:
    """``--no-progress`` (the one progress flag)."""
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (also off with --json)")


def threads_int(text: str) -> int:
    """argparse type: a thread count, an integer >= 1."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive number of threads (1, 2, ...), got {text!r}")
    return value


def add_threads(parser: argparse.ArgumentParser, kind: str = "compute") -> None:
    """``--threads N``: threads of torch, BLAS and python-flint (the one policy of :mod:`tnrnn._threads`)."""
    default = ("1" if kind == "small" else "the idle CPUs this process may use")
    parser.add_argument("--threads", type=threads_int, default=None, metavar="N",
                        help=f"threads for torch, BLAS and flint (default: TNRNN_THREADS, else {default})")


def add_force(parser: argparse.ArgumentParser) -> None:
    """``--force``: replace existing files (otherwise refused, see :mod:`tnrnn._outputs`)."""
    parser.add_argument("--force", action="store_true", help="replace existing output files")


def add_max_bytes(parser: argparse.ArgumentParser) -> None:
    """``--max-bytes``: the memory limit of the size guards."""
    parser.add_argument("--max-bytes", type=byte_count, default=None,
                        help="memory limit of one computation, e.g. 16G (default 4G or TNRNN_MAX_BYTES)")


def add_max_seconds(parser: argparse.ArgumentParser) -> None:
    """``--max-seconds``: the limit on the predicted time of one exact-rank computation."""
    parser.add_argument("--max-seconds", type=finite_float(0.0, low_open=True), default=DEFAULT_MAX_SECONDS,
                        help=f"refuse a rank computation predicted to take longer (default {DEFAULT_MAX_SECONDS:g})")


def progress(args) -> bool:
    """Whether to show progress bars: not with ``--json`` nor ``--no-progress``."""
    return not (getattr(args, "json", False) or getattr(args, "no_progress", False))


def spec_from(args):
    """The :class:`~tnrnn.rac.circuits.RACSpec` named by the arguments, after the size guards."""
    from tnrnn.rac.circuits import RACSpec

    spec = RACSpec(args.templates, args.hidden, args.depth)
    check_rac(spec.templates, spec.hidden, spec.depth, getattr(args, "length", None),
              getattr(args, "max_bytes", None))
    return spec


def check_rank_table(args, draws: int, max_seconds: float | None) -> None:
    """Refuse a table of ranks over ``args.depths`` x ``args.lengths`` before any work, through its plan.

    Every cell the table will rank is planned as ``tnrnn rank`` plans it
    (:func:`tnrnn.tables.depth.plan_depth_table`), and the whole table's predicted time is
    held to ``--max-seconds`` (default :data:`tnrnn.guards.DEFAULT_MAX_SECONDS`).
    """
    from tnrnn.tables.depth import plan_depth_table

    plan_depth_table(args.templates, args.hidden, args.depths, args.lengths, method=getattr(args, "method", "auto"),
                     draws=draws, max_block=args.max_block, max_seconds=time_limit(max_seconds)).check()


def check_device(text: str | None, flag: str = "--device") -> str | None:
    """Validate a torch device name before any work (see :func:`tnrnn._validation.check_device`).

    Raises
    ------
    ValueError
        ``--device foo`` (not a device), ``--device cuda`` without CUDA, ``cuda:3`` with
        fewer GPUs, ``mps`` without MPS.
    """
    from tnrnn._validation import check_device as check

    return check(text, flag)


def print_json(obj) -> None:
    """Print one JSON object on one line (huge integers in bounded form, see :func:`tnrnn.rac.bounds.bounded`)."""
    from tnrnn.rac.bounds import bounded

    text = json.dumps(bounded(_plain(obj)), default=_jsonable, allow_nan=False)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _plain(value):
    """Numpy scalars and arrays to Python values, recursively (so that :func:`bounded` sees ints)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    module = type(value).__module__
    if module == "numpy" or module.startswith("numpy."):
        value = value.tolist() if hasattr(value, "tolist") else value
        if isinstance(value, list):
            return _plain(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None  # strict JSON has no NaN or Infinity
    return value


def _jsonable(value):
    import numpy as np

    from tnrnn.rac.bounds import Approx

    if isinstance(value, Approx):
        return str(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "__fspath__"):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
