"""Argument helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import json
import sys


def add_architecture(parser: argparse.ArgumentParser, *, length: bool = True) -> None:
    """``--templates M --hidden R --depth L [--length T]``."""
    parser.add_argument("--templates", "-M", type=int, required=True, help="M, number of templates")
    parser.add_argument("--hidden", "-R", type=int, required=True, help="R, hidden width")
    parser.add_argument("--depth", "-L", type=int, required=True, help="L, number of layers")
    if length:
        parser.add_argument("--length", "-T", type=int, required=True, help="T, sequence length")


def add_partition(parser: argparse.ArgumentParser) -> None:
    """``--partition start-end|cut:K|interleaved|S:.../E:...``."""
    parser.add_argument("--partition", default="start-end",
                        help="start-end (default), cut:K, interleaved, or S:0,1/E:2,3")


def spec_from(args):
    """The :class:`~tnrnn.circuits.RACSpec` named by the arguments."""
    from tnrnn.circuits import RACSpec

    return RACSpec(args.templates, args.hidden, args.depth)


def print_json(obj) -> None:
    """Print one JSON object on one line."""
    json.dump(obj, sys.stdout, default=_jsonable)
    sys.stdout.write("\n")


def _jsonable(value):
    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def format_table(header: list[str], rows: list[list]) -> str:
    """A plain aligned text table."""
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
