"""Where commands write, and when they may replace a file: nothing the user did not ask for.

The rules, for every ``tnrnn`` command that writes files:

- Outputs go where ``--out DIR`` (a directory) or ``--plot FILE`` (one figure) says.
  Without either, a command that must write makes a **fresh directory**
  ``tnrnn-COMMAND-YYYYmmdd-HHMMSS`` in the current directory and prints its name.
- An **existing file is replaced only with** ``--force``, or when it lies in a directory
  that tnrnn itself created for its output (such a directory holds a marker file,
  :data:`MARKER`), so that rerunning a command into its own output directory works.
- The check comes before any work: a refused run costs nothing.

Examples
--------
>>> import os, tempfile
>>> from pathlib import Path
>>> base = Path(tempfile.mkdtemp())
>>> out = fresh_dir("demo", base)
>>> out.name.startswith("tnrnn-demo-"), is_owned(out)
(True, True)
>>> mine = out / "fig.png"; _ = mine.write_text("x")
>>> check_replace(mine, "--plot") == mine  # tnrnn's own output: replaced
True
>>> theirs = base / "paper.png"; _ = theirs.write_text("x")
>>> check_replace(theirs, "--plot")
Traceback (most recent call last):
...
ValueError: --plot '.../paper.png' exists: pass --force to replace it, or choose another name
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from tnrnn._files import output_dir

__all__ = ["MARKER", "fresh_dir", "is_owned", "prepare_dir", "check_replace", "check_replace_all", "announce",
           "discard_if_empty"]

#: File that marks a directory tnrnn created for its output (its files may be replaced).
MARKER = ".tnrnn-output"


def _mark(directory: Path) -> None:
    (directory / MARKER).write_text("created by tnrnn for its output; files here may be replaced by tnrnn\n")


def is_owned(directory: str | os.PathLike) -> bool:
    """Whether ``directory`` was created by tnrnn for its output (holds :data:`MARKER`).

    Examples
    --------
    >>> is_owned("/")
    False
    """
    return (Path(directory) / MARKER).is_file()


def fresh_dir(command: str, parent: str | os.PathLike = ".") -> Path:
    """A new directory ``tnrnn-COMMAND-YYYYmmdd-HHMMSS[-N]`` under ``parent``, created and marked.

    Never an existing directory: a suffix ``-2``, ``-3`` ... is added when the name is taken.

    Examples
    --------
    >>> import tempfile
    >>> base = tempfile.mkdtemp()
    >>> first, second = fresh_dir("rank", base), fresh_dir("rank", base)
    >>> first != second and first.is_dir() and second.is_dir()
    True
    """
    stamp = time.strftime("%Y%m%d-%H%M%S")
    parent = Path(parent)
    for attempt in range(1, 1000):
        path = parent / (f"tnrnn-{command}-{stamp}" + (f"-{attempt}" if attempt > 1 else ""))
        try:
            path.mkdir(parents=True)
        except FileExistsError:
            continue
        _mark(path)
        return path
    raise ValueError(f"could not create a fresh output directory under {str(parent)!r}; give --out DIR")


def prepare_dir(path: str | os.PathLike, flag: str = "--out") -> Path:
    """The checked output directory ``path``; created (and marked as tnrnn's) if missing.

    Raises
    ------
    ValueError
        As :func:`tnrnn._files.output_dir`: under a regular file, or not writable.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> new = Path(tempfile.mkdtemp()) / "figs"
    >>> is_owned(prepare_dir(new))
    True
    """
    existed = Path(path).exists()
    directory = output_dir(path, flag)
    if not existed:
        _mark(directory)
    return directory


def check_replace(path: str | os.PathLike, flag: str, force: bool = False) -> Path:
    """``path``, unless it exists and may not be replaced (no ``--force``, not in tnrnn's own directory).

    Raises
    ------
    ValueError
        Naming the flag and the file, and how to proceed.
    """
    path = Path(path)
    if path.exists() and not force and not is_owned(path.parent):
        raise ValueError(f"{flag} {str(path)!r} exists: pass --force to replace it, or choose another name")
    return path


def check_replace_all(paths: Iterable[str | os.PathLike], flag: str, force: bool = False) -> None:
    """:func:`check_replace` for several files at once, naming all that exist (at most five).

    Raises
    ------
    ValueError
        Naming the existing files and how to proceed.
    """
    existing = [Path(p) for p in paths if Path(p).exists() and not force and not is_owned(Path(p).parent)]
    if existing:
        names = ", ".join(repr(str(p)) for p in existing[:5]) + (" ..." if len(existing) > 5 else "")
        raise ValueError(f"{flag}: {len(existing)} file(s) would be replaced ({names}): pass --force to replace "
                         f"them, or choose another directory")


def discard_if_empty(directory: str | os.PathLike) -> bool:
    """Remove ``directory`` if tnrnn made it and it holds nothing but its marker; return whether it did.

    Examples
    --------
    >>> import tempfile
    >>> d = fresh_dir("x", tempfile.mkdtemp())
    >>> discard_if_empty(d), d.exists()
    (True, False)
    """
    directory = Path(directory)
    if is_owned(directory) and [p.name for p in directory.iterdir()] == [MARKER]:
        (directory / MARKER).unlink()
        directory.rmdir()
        return True
    return False


def announce(command: str, path: Path, json_mode: bool = False) -> None:
    """Print where a command writes when the user did not say (stderr with ``--json``)."""
    print(f"tnrnn {command}: writing to {path}/ (choose with --out DIR)",
          file=sys.stderr if json_mode else sys.stdout, flush=True)
