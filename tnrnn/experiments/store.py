"""The SQLite results store of a sweep: one row per finished point, schema-versioned."""

from __future__ import annotations

import contextlib
import csv
import datetime
import json
import os
import sqlite3
from pathlib import Path

__all__ = ["SCHEMA_VERSION", "ResultsStore"]

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
        if self.path.exists() and self.path.stat().st_size > 0:
            self._check_existing()
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
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
        except BaseException:
            connection.close()
            raise
        connection.close()
        self._check_existing()
        self.connection = sqlite3.connect(self.path, timeout=30)
        self.connection.row_factory = sqlite3.Row

    def _check_existing(self) -> None:
        uri = f"file:{self.path.resolve()}?mode=ro"
        try:
            with contextlib.closing(sqlite3.connect(uri, uri=True)) as probe_connection:
                rows = probe_connection.execute("SELECT version FROM schema_version").fetchall()
        except sqlite3.DatabaseError:
            raise ValueError(f"{self.path} is not a tnrnn results store (no schema_version table): "
                             f"refusing to touch it; give another --db file") from None
        versions = sorted({int(r[0]) for r in rows})
        if versions != [SCHEMA_VERSION]:
            raise ValueError(f"{self.path} was written by results schema version "
                             f"{', '.join(map(str, versions)) or 'unknown'}; this tnrnn reads version "
                             f"{SCHEMA_VERSION}. The file was not modified: give another --db file "
                             f"(or use the tnrnn version that wrote it)")

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

    def to_csv(self, path: str | os.PathLike, *, table: str = "points") -> Path:
        """Write ``points`` or ``probes`` as CSV (without the bulky JSON columns)."""
        if table not in ("points", "probes"):
            raise ValueError(f"table must be 'points' or 'probes', got {table!r}")
        rows = self.points() if table == "points" else self.probes()
        columns = [n for n, _ in (_POINT_COLUMNS if table == "points" else _PROBE_COLUMNS)
                   if n not in ("params", "result", "spectrum")]
        path = Path(path)
        with open(path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        return path

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
