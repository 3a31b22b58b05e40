"""The SQLite results store of a sweep: one row per finished point, schema-versioned."""

from __future__ import annotations

import contextlib
import csv
import datetime
import json
import os
import sqlite3
from pathlib import Path

from tnrnn._files import atomic_write_text

__all__ = ["SCHEMA_VERSION", "ResultsStore"]

#: Seconds a command waits for a store that another process holds locked before refusing it.
LOCK_TIMEOUT = 30.0

#: Version of the SQLite layout; a store of another version is refused, never modified.
SCHEMA_VERSION = 2

_POINT_COLUMNS = [
    ("point_id", "TEXT PRIMARY KEY"), ("sweep", "TEXT"), ("train_id", "TEXT"),
    ("task", "TEXT"), ("cell", "TEXT"), ("depth", "INTEGER"), ("length", "INTEGER"),
    ("sequence_length", "INTEGER"), ("hidden", "INTEGER"), ("budget", "INTEGER"),
    ("steps", "INTEGER"), ("seed", "INTEGER"), ("parameters", "INTEGER"), ("free_parameters", "INTEGER"),
    ("steps_trained", "INTEGER"), ("stopped_early", "INTEGER"),
    ("final_loss", "REAL"), ("baseline_loss", "REAL"), ("accuracy", "REAL"),
    ("test_loss", "REAL"), ("test_accuracy", "REAL"),
    ("task_energy_rank_90", "INTEGER"), ("task_energy_rank_99", "INTEGER"),
    ("target_energy_rank_90", "INTEGER"), ("target_energy_rank_99", "INTEGER"),
    ("theory_templates", "INTEGER"), ("theory_lower", ""), ("theory_upper", ""),
    ("params", "TEXT"), ("result", "TEXT"), ("seconds", "REAL"), ("finished", "TEXT"),
]
# Theory columns have no type affinity: ranks beyond 64 bits are stored exactly as decimal text
# (an INTEGER column would turn such text into a lossy REAL).
_PROBE_COLUMNS = [
    ("point_id", "TEXT"), ("length", "INTEGER"), ("partition", "TEXT"), ("route", "TEXT"),
    ("method", "TEXT"), ("kind", "TEXT"), ("rank", "INTEGER"), ("tolerance", "REAL"), ("effective_rank", "REAL"),
    ("entropy", "REAL"), ("log_gap_index", "INTEGER"), ("rows", "INTEGER"), ("cols", "INTEGER"),
    ("lower_bound_only", "INTEGER"), ("templates", "INTEGER"),
    ("theory_lower", ""), ("theory_upper", ""), ("theory_rank", ""),
    ("theory_certified", "INTEGER"), ("spectrum", "TEXT"),
]


class ResultsStore:
    """The SQLite results store of a sweep: one row per finished point, committed as it finishes.

    Tables: ``schema_version`` (one row), ``points`` (one row per point, that is per
    seed: training options, summary with validation and test scores, stored and free
    parameter counts, the task-data probe's energy ranks, theory interval, the full
    result as JSON) and ``probes`` (one row per point, probe length and route; ``kind``
    says what the rank is: ``"float"`` for the numerical rank of particular weights). A file written by another schema version, or
    not a tnrnn store at all, is refused with a ValueError and left untouched.

    Parameters
    ----------
    path : path
        The SQLite file (created if missing).

    Examples
    --------
    >>> import tempfile, os
    >>> db = os.path.join(tempfile.mkdtemp(), "r.sqlite")
    >>> with ResultsStore(db) as store:
    ...     stored = store.record("abc", "demo", {"depth": 2}, {"summary": {"accuracy": 1.0}}, 0.5)
    ...     store.finished_ids(), store.points()[0]["depth"], store.points()[0]["accuracy"]
    ({'abc'}, 2, 1.0)
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        existed = self.path.exists()
        if existed and self.path.stat().st_size > 0:
            self._check_existing()
        try:
            connection = sqlite3.connect(self.path, timeout=LOCK_TIMEOUT, isolation_level=None)
        except sqlite3.Error as error:
            raise ValueError(f"results store {str(self.path)!r}: cannot open it ({error}); give another --db "
                             f"file") from None
        try:  # create the tables atomically, once, even with several processes racing
            connection.execute("BEGIN IMMEDIATE")
            tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "schema_version" not in tables:
                if tables:
                    raise ValueError(f"{self.path} is an SQLite file with other tables ({sorted(tables)}), "
                                     f"not a tnrnn results store: refusing to touch it; give another --db file")
                connection.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, created TEXT)")
                connection.execute("INSERT INTO schema_version VALUES (?, ?)", (SCHEMA_VERSION, _now()))
                connection.execute(f"CREATE TABLE points ({', '.join(f'{n} {t}' for n, t in _POINT_COLUMNS)})")
                connection.execute(
                    f"CREATE TABLE probes ({', '.join(f'{n} {t}' for n, t in _PROBE_COLUMNS)}, "
                    f"PRIMARY KEY (point_id, length, partition, route))")
            connection.execute("COMMIT")
        except BaseException as error:
            connection.close()
            if not existed and self.path.exists() and self.path.stat().st_size == 0:
                self.path.unlink()  # leave no empty file behind a store that could not be created
            if isinstance(error, sqlite3.OperationalError):
                raise ValueError(f"results store {str(self.path)!r}: cannot create it ({error}; a file name "
                                 f"too long for the journal beside it, or a folder that cannot be written?); "
                                 f"give another --db file") from None
            raise
        connection.close()
        self._check_existing()
        self.connection = sqlite3.connect(self.path, timeout=LOCK_TIMEOUT)
        self.connection.row_factory = sqlite3.Row

    def _check_existing(self) -> None:
        """Refuse, naming the file, anything but a store of this schema: locked, foreign, other version, other tables."""
        import urllib.parse

        name = f"results store {str(self.path)!r}"
        uri = f"file:{urllib.parse.quote(os.fsencode(self.path.resolve()))}?mode=ro"  # any bytes in the name
        try:
            with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=LOCK_TIMEOUT)) as probe_connection:
                tables = {r[0] for r in probe_connection.execute(
                    "SELECT name FROM sqlite_master WHERE type='table'")}
                if "schema_version" not in tables:
                    raise ValueError(f"{name} is not a tnrnn results store (no schema_version table): refusing to "
                                     f"touch it; give another --db file")
                rows = probe_connection.execute("SELECT version FROM schema_version").fetchall()
                columns = {table: {r[1] for r in probe_connection.execute(f"PRAGMA table_info({table})")}
                           for table in ("points", "probes")}
        except sqlite3.OperationalError as error:
            if "locked" in str(error):
                raise ValueError(f"{name} is locked by another process (a sweep writing to it?) and stayed locked "
                                 f"for {LOCK_TIMEOUT:g} s; wait for it to finish, then retry") from None
            raise ValueError(f"{name} cannot be read as an SQLite database ({error}); give another --db "
                             f"file") from None
        except sqlite3.DatabaseError:
            raise ValueError(f"{name} is not a tnrnn results store (not an SQLite database): refusing to touch "
                             f"it; give another --db file") from None
        versions = sorted({str(r[0]) for r in rows})
        if versions != [str(SCHEMA_VERSION)]:
            shown = ", ".join(v if v.isdigit() else repr(v) for v in versions) or "unknown"
            raise ValueError(f"{name} was written by results schema version {shown}; this tnrnn reads version "
                             f"{SCHEMA_VERSION}. The file was not modified: give another --db file "
                             f"(or use the tnrnn version that wrote it)")
        for table, expected in (("points", _POINT_COLUMNS), ("probes", _PROBE_COLUMNS)):
            missing = [n for n, _ in expected if n not in columns[table]]
            if missing:
                what = f"no table {table!r}" if not columns[table] else \
                    f"table {table!r} lacks the column(s) {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}"
                raise ValueError(f"{name} says schema version {SCHEMA_VERSION} but has {what}: not a store this "
                                 f"tnrnn wrote; the file was not modified: give another --db file")

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()

    def finished_ids(self) -> set[str]:
        """Point ids already stored."""
        return {row[0] for row in self.connection.execute("SELECT point_id FROM points")}

    def record(self, point_id: str, sweep: str, params: dict, result: dict, seconds: float, *,
               train_id: str | None = None) -> bool:
        """Store one finished point and its probes in one transaction (all or nothing).

        Returns False (and stores nothing) if the point is already stored, e.g. by a
        second sweep process working on the same store.
        """
        summary = result.get("summary", {}) or {}
        theory = result.get("theory_task", {}) or {}
        task_probe = result.get("task_probe", {}) or {}
        energy = task_probe.get("energy_ranks", {}) or {}
        target_energy = task_probe.get("target_energy_ranks", {}) or {}
        values = {
            "point_id": point_id, "sweep": sweep, "train_id": train_id,
            "task": params.get("task"), "cell": params.get("cell"), "depth": params.get("depth"),
            "length": params.get("length"), "sequence_length": result.get("sequence_length"),
            "hidden": params.get("hidden"), "budget": params.get("budget"), "steps": params.get("steps"),
            "seed": params.get("seed"), "parameters": summary.get("parameters"),
            "free_parameters": summary.get("free_parameters"), "steps_trained": summary.get("steps"),
            "stopped_early": summary.get("stopped_early"),
            "final_loss": summary.get("final_loss"), "baseline_loss": summary.get("baseline_loss"),
            "accuracy": summary.get("accuracy"), "test_loss": summary.get("test_loss"),
            "test_accuracy": summary.get("test_accuracy"),
            "task_energy_rank_90": energy.get("0.9"), "task_energy_rank_99": energy.get("0.99"),
            "target_energy_rank_90": target_energy.get("0.9"), "target_energy_rank_99": target_energy.get("0.99"),
            "theory_templates": theory.get("templates"),
            "theory_lower": theory.get("lower"), "theory_upper": theory.get("upper"),
            "params": json.dumps(params, sort_keys=True), "result": json.dumps(result, sort_keys=True),
            "seconds": seconds, "finished": _now(),
        }
        values = {k: _sqlite_int(v) for k, v in values.items()}
        try:
            return self._insert(point_id, values, result)
        except sqlite3.OperationalError as error:  # a full disk, a file-size limit, a lock held too long
            raise ValueError(f"results store {str(self.path)!r}: could not store point {point_id!r} ({error}; "
                             f"a full disk or a file-size limit?); the points stored before are intact: free "
                             f"space and rerun the same command") from None

    def _insert(self, point_id: str, values: dict, result: dict) -> bool:
        """Insert one point and its probes in one transaction; False if it is already stored."""
        names = [n for n, _ in _POINT_COLUMNS]
        with self.connection:
            # INSERT OR IGNORE takes the write lock first, so two processes cannot both store a point
            inserted = self.connection.execute(f"INSERT OR IGNORE INTO points ({', '.join(names)}) VALUES "
                                               f"({', '.join('?' * len(names))})", [values[n] for n in names])
            if inserted.rowcount == 0:
                return False
            for probe_row in result.get("probes", []):
                row = {n: _sqlite_int(probe_row.get(n)) for n, _ in _PROBE_COLUMNS}
                row["point_id"] = point_id
                row["spectrum"] = json.dumps(probe_row.get("spectrum", []))
                row["kind"] = probe_row.get("kind") or "float"
                probe_names = [n for n, _ in _PROBE_COLUMNS]
                self.connection.execute(f"INSERT INTO probes ({', '.join(probe_names)}) VALUES "
                                        f"({', '.join('?' * len(probe_names))})",
                                        [row[n] for n in probe_names])
        return True

    def check_rows(self, required: tuple[str, ...] = ()) -> None:
        """Refuse stored values no tnrnn sweep writes, naming the store, the point and the column.

        Scores (``accuracy``, ``test_accuracy``) must be in [0, 1] or missing; sizes and
        counts integers of their range; names text; theory ranks integers (or their exact
        decimal text); ``result`` a JSON object and a probe's ``spectrum`` a JSON list of
        numbers. A row edited by hand or written by another program is refused before any
        table or figure is drawn from it.

        Parameters
        ----------
        required : tuple of str
            Columns of ``points`` that must hold a value (a report by length needs ``length``).

        Raises
        ------
        ValueError
            ``results store 'r.sqlite', point 'p1', column accuracy: inf is not a score in [0, 1] ...``
        """
        if required:
            names = {n for n, _ in _POINT_COLUMNS}
            for column in required:
                if column not in names:
                    raise ValueError(f"no column {column!r} in the points table")
                row = self.connection.execute(f"SELECT point_id FROM points WHERE {column} IS NULL LIMIT 1").fetchone()
                if row is not None:
                    raise ValueError(f"results store {str(self.path)!r}, point {row['point_id']!r}: no {column}, "
                                     f"which this needs (a sweep whose [sweep] table sets no {column}?)")
        for table, checks in (("points", _POINT_CHECKS), ("probes", _PROBE_CHECKS)):
            columns = ", ".join(["point_id", *checks])
            for row in self.connection.execute(f"SELECT {columns} FROM {table}"):
                where = f"results store {str(self.path)!r}, {'' if table == 'points' else 'probe of '}point " \
                        f"{row['point_id']!r}"
                for column, (check, wanted) in checks.items():
                    if not check(row[column]):
                        raise ValueError(f"{where}, column {column}: {_shown_value(row[column])} is not {wanted} "
                                         f"(tnrnn sweep never writes it); delete the row (or the store) and rerun "
                                         f"the sweep")

    def points(self, *, full: bool = False) -> list[dict]:
        """Stored points as dicts, ordered by task, cell, depth, length, seed (``full``: JSON too)."""
        columns = [n for n, _ in _POINT_COLUMNS if full or n not in ("params", "result")]
        rows = self.connection.execute(f"SELECT {', '.join(columns)} FROM points ORDER BY task, cell, "
                                       f"depth, length, hidden, seed, point_id")
        return [dict(row) for row in rows]

    def probes(self, *, spectrum: bool = False) -> list[dict]:
        """Stored probe rows, ordered by point and length."""
        columns = [n for n, _ in _PROBE_COLUMNS if spectrum or n != "spectrum"]
        rows = self.connection.execute(f"SELECT {', '.join('probes.' + c for c in columns)} FROM probes "
                                       f"JOIN points USING (point_id) ORDER BY points.task, points.cell, "
                                       f"points.depth, points.length, points.seed, probes.length, route")
        return [dict(row) for row in rows]

    def to_csv(self, path: str | os.PathLike, *, table: str = "points", what: str = "CSV file") -> Path:
        """Write ``points`` or ``probes`` as CSV (without the bulky JSON columns), atomically.

        The file is written whole to a temporary file beside ``path`` and renamed over it:
        a failed write (full disk) leaves the previous file as it was and raises an
        ``OSError`` naming ``what`` (``"--csv"`` on the command line) and the path.
        """
        import io

        if table not in ("points", "probes"):
            raise ValueError(f"table must be 'points' or 'probes', got {table!r}")
        rows = self.points() if table == "points" else self.probes()
        columns = [n for n, _ in (_POINT_COLUMNS if table == "points" else _PROBE_COLUMNS)
                   if n not in ("params", "result", "spectrum")]
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
        return atomic_write_text(path, buffer.getvalue(), what)

    def to_pandas(self, table: str = "points"):
        """The ``points`` or ``probes`` table as a pandas DataFrame (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:
            raise ValueError("to_pandas needs pandas: pip install pandas (or use to_csv)") from None
        if table not in ("points", "probes"):
            raise ValueError(f"table must be 'points' or 'probes', got {table!r}")
        return pd.DataFrame(self.points() if table == "points" else self.probes())


def _sqlite_int(value):
    """Integers beyond SQLite's 64 bits (closed-form ranks grow like M^(T/2)) are stored as exact decimal text."""
    if isinstance(value, int) and not isinstance(value, bool) and not -2**63 <= value < 2**63:
        return str(value)
    return value


def _exact_int(value):
    """Read back an integer column that may hold a big integer as text (``"~1.2e+4567"``: approximate, kept)."""
    return int(value) if isinstance(value, str) and not value.startswith("~") else value


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _shown_value(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(value, minimum: int | None = None) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and (minimum is None or value >= minimum)


def _optional(check):
    return lambda value: value is None or check(value)


def _finite(value) -> bool:
    import math

    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _score(value) -> bool:
    return _finite(value) and 0 <= value <= 1


def _big_int(value) -> bool:
    """An integer, or the exact decimal text (or bounded ``~1e+N`` form) of one beyond 64 bits."""
    if _is_int(value, 0):
        return True
    return isinstance(value, str) and (value.isdigit() or (value.startswith("~") and len(value) > 1))


def _json_object(value) -> bool:
    try:
        return isinstance(json.loads(value), dict)
    except (TypeError, ValueError):
        return False


def _json_spectrum(value) -> bool:
    try:
        values = json.loads(value)
    except (TypeError, ValueError):
        return False
    return isinstance(values, list) and all(v is None or _finite(v) for v in values)


_TEXT = (_optional(lambda v: isinstance(v, str)), "text")
_COUNT = (_optional(lambda v: _is_int(v, 0)), "an integer >= 0")
_SIZE = (_optional(lambda v: _is_int(v, 1)), "an integer >= 1")
_RANK = (_optional(_big_int), "an integer rank (or its exact decimal text)")
_POINT_CHECKS = {
    "task": _TEXT, "cell": _TEXT, "depth": _SIZE, "length": _SIZE, "hidden": _SIZE, "seed": _COUNT,
    "budget": _COUNT, "steps": _COUNT, "steps_trained": _COUNT, "parameters": _COUNT, "free_parameters": _COUNT,
    "accuracy": (_optional(_score), "a score in [0, 1]"), "test_accuracy": (_optional(_score), "a score in [0, 1]"),
    "theory_templates": _SIZE, "theory_lower": _RANK, "theory_upper": _RANK,
    "result": (_optional(_json_object), "a JSON object"),
}
_PROBE_CHECKS = {
    "length": _SIZE, "partition": _TEXT, "route": _TEXT, "method": _TEXT, "rank": _COUNT, "templates": _SIZE,
    "rows": _COUNT, "cols": _COUNT, "effective_rank": (_optional(_finite), "a finite number"),
    "theory_lower": _RANK, "theory_upper": _RANK, "theory_rank": _RANK,
    "spectrum": (_optional(_json_spectrum), "a JSON list of finite numbers"),
}
