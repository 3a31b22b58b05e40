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
    "atomic_write_text",
    "append_line",
    "save_torch",
    "write_error",
    "WriteError",
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


def output_file(path: str | os.PathLike, flag: str = "output file", suffixes: tuple[str, ...] = (), *,
                reserve: int = 0) -> Path:
    """Make sure ``path`` can be written as a file: its directory is created and writable.

    Parameters
    ----------
    path : path-like
    flag : str
        How the user named it (``"--plot"``, ``"--db"`` ...), used in the error message.
    suffixes : tuple of str, optional
        Accepted suffixes (lower case, with the dot); empty: any.
    reserve : int
        Bytes the name must leave free for companion files (SQLite writes ``NAME-journal``
        beside a store: 8).

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
    existing = next((p for p in [path.parent, *path.parent.parents] if p.is_dir()), Path("."))
    try:
        name_max = os.pathconf(existing, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        name_max = 255
    length = len(os.fsencode(path.name))
    if length + reserve > name_max:
        extra = f" (and {reserve} for the files written beside it)" if reserve else ""
        raise _refuse(flag, path, f"the file name is {length} bytes long; this filesystem allows {name_max}{extra}: "
                                  f"give a shorter name")
    if path.is_dir():
        raise _refuse(flag, path, "is a directory; give a file name")
    _ensure_dir(path.parent, flag, path)
    return path


def _umask() -> int:
    """The process's umask (read without changing it where ``/proc`` allows, else set and restored)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class WriteError(OSError):
    """A failed write, its message naming the file and the reason (no ``[Errno N]`` prefix)."""

    def __str__(self) -> str:
        return str(self.strerror)


def write_error(error: OSError, path: str | os.PathLike, what: str = "file") -> WriteError:
    """An ``OSError`` about a failed write that names ``what`` and ``path`` and says why in words.

    A full disk (``ENOSPC``), a file-size limit (``EFBIG``, as ``ulimit -f`` sets) and a
    read-only filesystem get a sentence of their own; any other error keeps its
    ``strerror``. The result is raised by the caller (``raise write_error(...) from None``).

    Examples
    --------
    >>> import errno
    >>> str(write_error(OSError(errno.ENOSPC, "No space left on device"), "/x/m.csv", "--csv"))
    "--csv '/x/m.csv': could not write it: the disk is full (No space left on device); the previous file, if any, is unchanged"
    """
    import errno

    reasons = {errno.ENOSPC: "the disk is full", errno.EFBIG: "the file-size limit was reached (ulimit -f)",
               errno.EROFS: "the filesystem is read-only", errno.EDQUOT: "the disk quota is exceeded"}
    detail = error.strerror or str(error) or type(error).__name__
    reason = f"{reasons[error.errno]} ({detail})" if error.errno in reasons else detail
    return WriteError(error.errno, f"{what} {str(path)!r}: could not write it: {reason}; the previous file, "
                                   f"if any, is unchanged")


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Write ``path`` through a temporary ``.NAME.*.tmp`` file in the same directory, then rename.

    The temporary file is flushed to disk (``fsync``) before the rename, and gets the mode
    a plain ``open(path, "w")`` would give (``0o666`` less the umask; an existing file's
    mode is kept), so colleagues can read what the user's umask lets them read. A reader
    never sees a half-written file; a crash leaves at most the temporary file, which
    :func:`remove_stale_temps` deletes on the next start. A failed write (full disk, file
    size limit) removes the temporary file and leaves the old ``path`` as it was.

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
        try:
            mode = path.stat().st_mode & 0o7777
        except OSError:
            mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_text(path: str | os.PathLike, text: str, what: str = "file") -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; a failed write raises a :func:`write_error`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.md"
    >>> atomic_write_text(p, "# hi").read_text()
    '# hi'
    """
    path = Path(path)

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)

    try:
        atomic_write(path, write)
    except OSError as error:
        raise write_error(error, path, what) from None
    return path


def append_line(path: str | os.PathLike, line: str, what: str = "file") -> None:
    """Append one line to ``path`` all or nothing: the file ends as before, or with the whole line added.

    The line is written with one ``O_APPEND`` write (retried for a short write) and
    flushed (``fsync``); if any part fails (full disk, file-size limit), the file is cut
    back to its previous length, so it never ends in a torn line because of this call,
    and the error names the file.

    Parameters
    ----------
    path : path-like
        Created (mode ``0o666`` less the umask) if missing.
    line : str
        One line, without its newline (added here); it must not contain one.
    what : str
        How to name the file in an error.

    Raises
    ------
    ValueError
        If ``line`` contains a newline.
    OSError
        The write failed; the file is as it was (see :func:`write_error`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "metrics.jsonl"
    >>> append_line(p, '{"step": 1}'); append_line(p, '{"step": 2}')
    >>> p.read_text().splitlines()
    ['{"step": 1}', '{"step": 2}']
    """
    if "\n" in line or "\r" in line:
        raise ValueError("append_line writes one line: the text holds a line break")
    data = (line + "\n").encode("utf-8")
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    except OSError as error:
        raise write_error(error, path, what) from None
    try:
        size = os.fstat(fd).st_size
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        except OSError as error:
            try:
                os.ftruncate(fd, size)
            except OSError:
                pass
            raise write_error(error, path, what) from None
    finally:
        os.close(fd)


def save_torch(obj, path: str | os.PathLike, what: str = "checkpoint") -> None:
    """``torch.save(obj, path)`` atomically; a failed write names the file and says why.

    The object is serialised in memory first and the bytes written by this module, so a
    full disk or a file-size limit is reported with its own reason (torch's writer would
    say only ``RuntimeError: ... unexpected pos``).

    Raises
    ------
    OSError
        Full disk, file-size limit, read-only directory ...: the message names ``what``
        and ``path`` and says the previous file is unchanged.
    """
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    data = buffer.getbuffer()

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            handle.write(data)

    path = Path(path)
    try:
        atomic_write(path, write)
    except OSError as error:
        raise write_error(error, path, what) from None


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
