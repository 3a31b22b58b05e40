"""Every option of every ``tnrnn`` command in one table, generated from the parser.

``docs/cli.md`` carries the table between :data:`START` and :data:`END`;
``tests/test_cli_grammar.py`` fails when the committed table and the parser disagree (an
option added, removed or renamed, its value form or meaning changed). Rewrite it with::

    python -m tnrnn.cli._grammar docs/cli.md

An option that several commands take has one meaning, written once in :data:`SHARED`; an
option of a single command is described by its ``--help`` text.

Examples
--------
>>> rows = option_rows()
>>> [r for r in rows if r["option"] == "`--threads`"][0]["value"]
'`N`'
>>> option_table().splitlines()[0]
'| option | value | meaning | commands |'
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["START", "END", "SHARED", "subparsers", "visible_actions", "value_form", "option_rows",
           "option_table", "update"]

START = "<!-- options:start -->"
END = "<!-- options:end -->"

#: The one meaning of every option that more than one command takes (by its long spelling).
SHARED: dict[str, str] = {
    "--templates": "M, the number of templates (input symbols)",
    "--hidden": "R, the hidden width of every layer",
    "--depth": "L, the number of stacked recurrent layers",
    "--length": "T, the sequence length (for `train`, `timescale`: the task's length)",
    "--depths": "the depths L of a table, one or more",
    "--lengths": "the lengths T of a table, one or more",
    "--partition": "the split of the T positions: `start-end`, `cut:K`, `interleaved` or `S:0,1/E:2,3`",
    "--plot": "a single figure file (`.png` or `.svg`)",
    "--out": "a directory: the figure directory, or the run directory of `train`",
    "--force": "replace existing output files (otherwise refused before any work)",
    "--json": "one JSON object on stdout, nothing else there",
    "--no-progress": "no progress bar (also off with `--json`)",
    "--threads": "threads of torch, BLAS and flint (default: `TNRNN_THREADS`, else by the kind of work)",
    "--max-bytes": "memory limit of one computation, e.g. `16G` (default 4G or `TNRNN_MAX_BYTES`)",
    "--max-seconds": "refuse a rank computation predicted to take longer than this",
    "--max-block": "skip table cells whose exact block exceeds this many rows",
    "--method": "how the rank is computed (the valid methods differ: exact ranks, or float probes)",
    "--draws": "random weight draws of an exact rank",
    "--seed": "the random seed (weights, draws, batches)",
    "--no-plot": "do not write the figure",
    "--task": "the memory task",
    "--cell": "the recurrent cell",
    "--steps": "optimiser steps",
    "--batch-size": "training batch size",
    "--lr": "learning rate",
    "--eval-every": "steps between evaluations",
    "--device": "torch device: `cpu`, `cuda`, `cuda:N` or `mps`",
    "--db": "the SQLite results store of a sweep",
    "--csv": "also export the points table to this CSV file",
    "--quick": "small sizes (minutes)",
    "--runs": "directory of training runs, reused when present (default `OUT/runs`)",
}


def subparsers(parser: argparse.ArgumentParser | None = None) -> dict[str, argparse.ArgumentParser]:
    """Command name -> its parser, in the order of :data:`tnrnn.cli.COMMANDS`."""
    from tnrnn.cli import build_parser

    parser = parser or build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def visible_actions(sub: argparse.ArgumentParser) -> list[argparse.Action]:
    """The options and positionals ``--help`` shows (not ``--help`` itself, not hidden old spellings)."""
    return [a for a in sub._actions if not isinstance(a, argparse._HelpAction) and a.help != argparse.SUPPRESS]


def value_form(action: argparse.Action) -> str:
    """How the value is written: empty for a switch, the choices, or the metavar (``...`` for a list)."""
    if action.nargs == 0:
        return ""
    if action.choices:
        return " \\| ".join(f"`{c}`" for c in action.choices)
    metavar = action.metavar or (action.dest.upper() if action.option_strings else action.dest)
    return f"`{metavar}`" + (" ..." if action.nargs in ("+", "*") else "")


def _spelling(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest}` (positional)"
    return ", ".join(f"`{flag}`" for flag in sorted(action.option_strings, key=lambda f: (f.startswith("--"), f)))


def _key(action: argparse.Action) -> str:
    longs = [flag for flag in action.option_strings if flag.startswith("--")]
    return longs[0] if longs else action.dest


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def option_rows(parser: argparse.ArgumentParser | None = None) -> list[dict[str, str]]:
    """One row per option spelling and value form: ``option``, ``value``, ``meaning``, ``commands``.

    Rows are sorted by how many commands take the option (most first), then by spelling.
    """
    rows: dict[tuple[str, str], dict] = {}
    for command, sub in subparsers(parser).items():
        for action in visible_actions(sub):
            key = _key(action)
            meaning = SHARED.get(key) or _one_line(action.help)
            row = rows.setdefault((_spelling(action), value_form(action)),
                                  {"option": _spelling(action), "value": value_form(action), "meaning": meaning,
                                   "commands": [], "key": key})
            row["commands"].append(command)
    ordered = sorted(rows.values(), key=lambda r: (-len(r["commands"]), r["key"], r["value"]))
    return [{"option": r["option"], "value": r["value"], "meaning": r["meaning"],
             "commands": ", ".join(f"`{c}`" for c in r["commands"])} for r in ordered]


def option_table(parser: argparse.ArgumentParser | None = None) -> str:
    """The Markdown table of every option of every command (see :func:`option_rows`)."""
    lines = ["| option | value | meaning | commands |", "|---|---|---|---|"]
    lines += [f"| {r['option']} | {r['value']} | {r['meaning']} | {r['commands']} |" for r in option_rows(parser)]
    return "\n".join(lines)


def update(path: str | Path, check: bool = False) -> bool:
    """Rewrite the table between :data:`START` and :data:`END` in ``path``; return whether it changed.

    With ``check``, nothing is written.

    Raises
    ------
    ValueError
        If ``path`` lacks the markers.
    """
    path = Path(path)
    text = path.read_text()
    if START not in text or END not in text:
        raise ValueError(f"{str(path)!r} has no {START} ... {END} block for the option table")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{option_table()}\n{END}{tail}"
    if new != text and not check:
        path.write_text(new)
    return new != text


def main(argv: list[str] | None = None) -> int:
    """``python -m tnrnn.cli._grammar [--check] FILE``: rewrite (or check) the option table of FILE."""
    parser = argparse.ArgumentParser(prog="python -m tnrnn.cli._grammar", description=__doc__.split("\n")[0])
    parser.add_argument("file", help="a Markdown file with the option-table markers (docs/cli.md)")
    parser.add_argument("--check", action="store_true", help="exit 1 if the table is out of date; write nothing")
    args = parser.parse_args(argv)
    changed = update(args.file, check=args.check)
    print(f"{args.file}: option table {'out of date' if changed and args.check else 'updated' if changed else 'up to date'}")
    return 1 if changed and args.check else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
