"""Files written and read by the package: checked output locations, atomic writes, refusal of corrupt state.

One rule for every output location (command-line flags and library paths alike):
missing parent directories are created; a location under a regular file, an existing
directory where a file is expected (or the reverse), or a directory that cannot be
written is refused with a ``ValueError`` naming the flag (or argument) and the path,
before any work is done.

Corrupt state is refused the same way: a truncated, empty or garbage checkpoint, a
config that is not JSON, a metrics file with a bad line. The one exception is the last
line of a JSON-lines file cut short by an interrupted write: it is dropped, with a note.
Temporary files left by an interrupted atomic save (``.NAME.*.tmp``) are removed by
:func:`remove_stale_temps` when a run starts again.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "output_dir",
    "output_file",
    "atomic_write",
    "remove_stale_temps",
    "safe_torch_load",
    "read_json",
    "read_jsonl",
]


def _refuse(flag: str, path, what: str) -> ValueError:
    return ValueError(f"{flag} {str(path)!r}: {what}")


def output_dir(path: str | os.PathLike, flag: str = "output directory") -> Path:
    """Make sure ``path`` is a writable directory (created with its parents if missing).

    Parameters
    ----------
    path : path-like
        The directory.
    flag : str
        How the user named it, e.g. ``"--out"``, used in the error message.

    Raises
    ------
    ValueError
        If a component of ``path`` is a regular file, or the directory cannot be created
        or written (a temporary file is created and removed to find out).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> base = pathlib.Path(tempfile.mkdtemp())
    >>> output_dir(base / "a" / "b").is_dir()
    True
    >>> (base / "f").write_text("x") and None
    >>> output_dir(base / "f" / "sub", "--out")
    Traceback (most recent call last):
    ...
    ValueError: --out '.../f/sub': '.../f' is a file, not a directory
    """
    if not str(path).strip():
        raise _refuse(flag, path, "an empty path; give a directory")
    return _ensure_dir(Path(path), flag, Path(path))


def _ensure_dir(path: Path, flag: str, shown: Path) -> Path:
    for parent in [path, *path.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise _refuse(flag, shown, f"{str(parent)!r} is a file, not a directory")
            break
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".tnrnn-write-test.")
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise _refuse(flag, shown, f"cannot create or write the directory {str(path)!r} "
                                   f"({error.strerror or error})") from None
    return path


def output_file(path: str | os.PathLike, flag: str = "output file", suffixes: tuple[str, ...] = ()) -> Path:
    """Make sure ``path`` can be written as a file: its directory is created and writable.

    Parameters
    ----------
    path : path-like
    flag : str
        How the user named it (``"--plot"``, ``"--db"`` ...), used in the error message.
    suffixes : tuple of str, optional
        Accepted suffixes (lower case, with the dot); empty: any.

    Raises
    ------
    ValueError
        Wrong suffix, ``path`` is an existing directory, or its directory cannot be
        created or written (see :func:`output_dir`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> base = pathlib.Path(tempfile.mkdtemp())
    >>> output_file(base / "figs" / "x.png", "--plot", (".png", ".svg")).parent.is_dir()
    True
    >>> output_file(base / "x.pdf", "--plot", (".png", ".svg"))
    Traceback (most recent call last):
    ...
    ValueError: --plot '.../x.pdf': expected a file name ending in .png or .svg
    """
    if not str(path).strip():
        raise _refuse(flag, path, "an empty path; give a file name")
    path = Path(path)
    if suffixes and path.suffix.lower() not in suffixes:
        raise _refuse(flag, path, f"expected a file name ending in {' or '.join(suffixes)}")
    if path.is_dir():
        raise _refuse(flag, path, "is a directory; give a file name")
    _ensure_dir(path.parent, flag, path)
    return path


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Write ``path`` through a temporary ``.NAME.*.tmp`` file in the same directory, then rename.

    A reader never sees a half-written file; a crash leaves at most the temporary file,
    which :func:`remove_stale_temps` deletes on the next start.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> atomic_write(p, lambda tmp: pathlib.Path(tmp).write_text("ok"))
    >>> p.read_text(), sorted(x.name for x in p.parent.iterdir())
    ('ok', ['a.txt'])
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def remove_stale_temps(directory: str | os.PathLike) -> list[Path]:
    """Delete the ``.NAME.*.tmp`` files an interrupted :func:`atomic_write` left in ``directory``.

    Call it when a run (re)starts, before it writes: no other writer is active then.
    Returns the removed paths.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / ".checkpoint.pt.abc123.tmp").write_bytes(b"half")
    >>> [p.name for p in remove_stale_temps(d)], list(d.iterdir())
    (['.checkpoint.pt.abc123.tmp'], [])
    """
    directory = Path(directory)
    removed = []
    if directory.is_dir():
        for path in directory.glob(".*.tmp"):
            if path.is_file():
                try:
                    path.unlink()
                    removed.append(path)
                except OSError:
                    pass
    return removed


def safe_torch_load(path: str | os.PathLike, map_location=None):
    """``torch.load(path, weights_only=True)`` that refuses a missing, empty, truncated or garbage file.

    Raises
    ------
    ValueError
        Naming the file, what is wrong with it, and what to do (a truncated checkpoint is
        what a crash during a non-atomic copy leaves; the package's own saves are atomic).
    """
    import pickle
    import zipfile

    import torch

    path = Path(path)
    hint = "delete it (and retrain or resume from scratch) or restore a good copy"
    if not path.is_file():
        raise ValueError(f"checkpoint {str(path)!r} is missing or not a file")
    if path.stat().st_size == 0:
        raise ValueError(f"checkpoint {str(path)!r} is empty (an interrupted copy?): {hint}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (EOFError, pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, OSError, ValueError,
            KeyError, AttributeError, TypeError, IndexError, UnicodeDecodeError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(f"checkpoint {str(path)!r} is corrupt or truncated ({type(error).__name__}: "
                         f"{reason[:200]}): {hint}") from None


def read_json(path: str | os.PathLike, what: str = "JSON file"):
    """Parse a JSON file, refusing unreadable or invalid content with the file's name.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "config.json"
    >>> _ = p.write_text("{not json")
    >>> read_json(p, "run config")
    Traceback (most recent call last):
    ...
    ValueError: run config '.../config.json' is not valid JSON (line 1 column 2: Expecting property name enclosed in double quotes); fix or delete it
    """
    path = Path(path)
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise ValueError(f"{what} {str(path)!r} is not text (binary or corrupt); fix or delete it") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{what} {str(path)!r} is not valid JSON (line {error.lineno} column {error.colno}: "
                         f"{error.msg}); fix or delete it") from None


def read_jsonl(path: str | os.PathLike, what: str = "JSON-lines file", *, note=None) -> list:
    """The records of a JSON-lines file; a torn last line (an interrupted append) is dropped, with a note.

    Parameters
    ----------
    path : path-like
    what : str
        How to name the file in messages.
    note : callable, optional
        Receives the note about a dropped last line (default: print to stderr).

    Raises
    ------
    ValueError
        A bad line other than the last, or a file that is not text: naming the file and line.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "metrics.jsonl"
    >>> _ = p.write_text('{"step": 1}\\n{"step": 2, "lo')
    >>> read_jsonl(p, note=lambda text: None)
    [{'step': 1}]
    """
    path = Path(path)
    if not path.exists():
        return []
    try:
        lines = path.read_text().splitlines()
    except UnicodeDecodeError:
        raise ValueError(f"{what} {str(path)!r} is not text (binary or corrupt); fix or delete it") from None
    numbered = [(i, line) for i, line in enumerate(lines, 1) if line.strip()]
    records = []
    for position, (number, line) in enumerate(numbered):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            if position == len(numbered) - 1:
                message = (f"note: dropped the incomplete last line {number} of {what} {str(path)!r} "
                           f"(an interrupted write)")
                (note or (lambda text: print(text, file=sys.stderr)))(message)
                break
            raise ValueError(f"{what} {str(path)!r}, line {number}: not valid JSON ({error.msg}); "
                             f"fix or delete the line") from None
    return records
