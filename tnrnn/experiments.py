"""Depth x length sweeps: declarative TOML configs, a resumable SQLite store, local or Ray execution.

A sweep config is a TOML file::

    name = "depth-sweep"

    [sweep]                 # tnrnn train options; a list is crossed with the others
    task = "ses"
    cell = "rac"
    depth = [1, 2, 3]
    length = [8, 12]
    budget = 2000           # parameters: hidden width per depth from the budget (or give hidden)
    steps = 300
    seed = 0

    [probe]                 # how every trained network is probed (tnrnn.probe)
    lengths = [2, 4, 6]     # probe lengths T (default: none)
    partition = "start-end"
    symbols = 4             # template symbols: a count or a list

    [theory]
    generic_rank = true     # exact generic rank of the matching RAC where cheap

    [run]
    workers = 2             # local process pool
    cpus = 1                # resources of one point (Ray)
    gpus = 0

Every point (one combination of the ``[sweep]`` lists) is trained in its own directory
(``<db>.runs/<train-id>/``, which keeps the training checkpoint), probed, compared with
the theory for the RAC of the same width and depth, and written to the SQLite store in
one transaction as soon as it finishes. Rerunning the same command skips finished
points, so a sweep killed at any moment resumes with nothing lost (finished points are
in the store, a half-trained point resumes from its checkpoint) and nothing done twice.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime
import hashlib
import importlib
import itertools
import json
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "SCHEMA_VERSION",
    "ConfigError",
    "SweepConfig",
    "Point",
    "load_config",
    "ResultsStore",
    "run_sweep",
    "execute_point",
    "train_and_probe",
    "SweepSummary",
    "summary_rows",
    "markdown_table",
    "relative_rank",
    "plot_report",
]

#: Version of the SQLite layout; a store of another version is refused, never modified.
SCHEMA_VERSION = 1

DEFAULT_RUNNER = "tnrnn.experiments:train_and_probe"

_PROBE_KEYS = {
    "lengths": "probe lengths T (list of int)",
    "partition": "start-end, cut:K, interleaved or S:../E:..",
    "symbols": "template symbols: a count or a list of symbols",
    "output_index": "output coordinate probed (class logit)",
    "step": "time step read (default -1, the last)",
    "method": "auto, dense or sampled",
    "rows": "sampled rows",
    "cols": "sampled columns",
    "tolerance": "absolute rank tolerance (default numpy's)",
    "seed": "seed of the sampled blocks",
    "exact": "also probe RAC models through their exported weights (bool)",
}
_THEORY_KEYS = {
    "generic_rank": "compute the exact generic rank of the matching RAC where cheap (bool)",
    "max_bytes": "memory limit of that computation",
}
_RUN_KEYS = {
    "executor": "local or ray",
    "workers": "parallel points",
    "cpus": "CPUs per point (also torch threads)",
    "gpus": "GPUs per point (Ray)",
    "runner": "module:function running one point (default: train and probe)",
    "runs_dir": "directory of the per-point training directories",
}
_REPORT_KEYS = {"threshold": "accuracy above which a length counts as solved"}
_TABLES = {"sweep": None, "probe": _PROBE_KEYS, "theory": _THEORY_KEYS, "run": _RUN_KEYS,
           "report": _REPORT_KEYS}
_TOP_KEYS = {"name", "description"}


class ConfigError(ValueError):
    """A sweep config that cannot run: names the file, the line and the reason."""


# --- config ----------------------------------------------------------------------------


def _key_line(text: str, table: str | None, key: str | None) -> int | None:
    """Line (1-based) where ``key`` is set in ``[table]`` (or the table header if key is None)."""
    current = None
    header = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-]+)\s*\]\s*(#.*)?$")
    for number, line in enumerate(text.splitlines(), start=1):
        match = header.match(line)
        if match:
            current = match.group(1)
            if key is None and current == table:
                return number
            continue
        if key is not None and current == table and re.match(rf"^\s*{re.escape(key)}\s*=", line):
            return number
    return None


def _train_fields() -> dict[str, dataclasses.Field]:
    from tnrnn.nn import TrainConfig

    return {f.name: f for f in dataclasses.fields(TrainConfig)}


@dataclass(frozen=True)
class Point:
    """One point of a sweep: the ``tnrnn train`` options it trains with, and its identity.

    Attributes
    ----------
    params : dict
        The sweep's values for this point (as written, ``budget`` included).
    train : dict
        The complete training options (``hidden`` resolved from ``budget``).
    point_id : str
        Hash of ``train`` and the probe/theory settings: the key of its row in the store.
    train_id : str
        Hash of ``train`` alone: the name of its training directory, shared by sweeps
        that only probe differently.
    """

    params: dict
    train: dict
    point_id: str
    train_id: str


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class SweepConfig:
    """A parsed, validated sweep config (see the module docstring for the format).

    Attributes
    ----------
    path : Path or None
    name : str
    sweep : dict
        ``[sweep]``: scalar (fixed) or list (crossed) values, in file order.
    probe, theory, run, report : dict
        The other tables, with defaults filled in.
    points : list of Point
        Every combination, resolved and validated.
    """

    path: Path | None
    name: str
    sweep: dict
    probe: dict
    theory: dict
    run: dict
    report: dict
    points: list[Point] = field(default_factory=list)

    def combinations(self) -> list[dict]:
        """The crossed ``[sweep]`` values, one dict per point, lists crossed in file order."""
        keys = list(self.sweep)
        axes = [v if isinstance(v, list) else [v] for v in self.sweep.values()]
        return [dict(zip(keys, values)) for values in itertools.product(*axes)]


def load_config(path: str | os.PathLike | None = None, *, text: str | None = None,
                check_points: bool = True) -> SweepConfig:
    """Read and validate a sweep config, before anything runs.

    Parameters
    ----------
    path : path, optional
        The TOML file.
    text : str, optional
        The TOML text itself (instead of ``path``).
    check_points : bool
        Also build every point's training config (imports torch): catches impossible
        combinations such as an odd Start-End length or a budget too small for a depth.

    Returns
    -------
    SweepConfig

    Raises
    ------
    ConfigError
        ``FILE:LINE: reason`` for TOML syntax errors, unknown tables or keys, values of
        the wrong type, and combinations that cannot be trained or probed.

    Examples
    --------
    >>> config = load_config(text='[sweep]\\ntask = "ses"\\ndepth = [1, 2]\\nlength = 4\\nsteps = 1\\n')
    >>> [p.params["depth"] for p in config.points]
    [1, 2]
    >>> load_config(text='[sweep]\\ntask = "ses"\\ndeepth = 2\\n')
    Traceback (most recent call last):
    ...
    tnrnn.experiments.ConfigError: <config>:3: [sweep] unknown key 'deepth'; valid keys: ...
    """
    if (path is None) == (text is None):
        raise ValueError("give exactly one of path and text")
    where = "<config>" if path is None else str(path)
    if text is None:
        try:
            text = Path(path).read_text()
        except OSError as error:
            raise ConfigError(f"{where}: cannot read the config: {error.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{where}: invalid TOML: {error}") from None

    def fail(table, key, reason):
        line = _key_line(text, table, key) or _key_line(text, table, None)
        prefix = f"{where}:{line}" if line else where
        name = f"[{table}] " if table else ""
        raise ConfigError(f"{prefix}: {name}{reason}")

    for key, value in data.items():
        if key in _TABLES:
            if not isinstance(value, dict):
                fail(None, key, f"'{key}' must be a table [{key}]")
        elif key not in _TOP_KEYS:
            reason = f"unknown top-level key or table '{key}'; valid: {sorted(_TOP_KEYS | set(_TABLES))}"
            if isinstance(value, dict):  # point at the [table] header
                line = _key_line(text, key, None)
                raise ConfigError(f"{where}:{line}: {reason}" if line else f"{where}: {reason}")
            fail(None, key, reason)
    if "sweep" not in data:
        raise ConfigError(f"{where}: the config needs a [sweep] table naming the tnrnn train options")
    sweep = data["sweep"]
    tables = {}
    for table, keys in _TABLES.items():
        if keys is None:
            continue
        values = data.get(table, {})
        for key in values:
            if key not in keys:
                fail(table, key, f"unknown key '{key}'; valid keys: {', '.join(sorted(keys))}")
        tables[table] = dict(values)
    probe = {"lengths": [], "partition": "start-end", "symbols": None, "output_index": 0, "step": -1,
             "method": "auto", "rows": 128, "cols": 128, "tolerance": None, "seed": 0, "exact": True,
             **tables["probe"]}
    theory = {"generic_rank": True, "max_bytes": 2**28, **tables["theory"]}
    run = {"executor": "local", "workers": 1, "cpus": 1, "gpus": 0, "runner": DEFAULT_RUNNER,
           "runs_dir": None, **tables["run"]}
    report = {"threshold": 0.9, **tables["report"]}
    _check_types(probe, theory, run, report, fail)
    default_runner = run["runner"] == DEFAULT_RUNNER
    train_fields = _train_fields() if default_runner else {}
    valid_sweep = sorted(set(train_fields) | {"budget"})
    for key, value in sweep.items():
        if default_runner and key not in train_fields and key != "budget":
            fail("sweep", key, f"unknown key '{key}'; valid keys: {', '.join(valid_sweep)}")
        if isinstance(value, dict):
            fail("sweep", key, f"'{key}' must be a value or a list of values, not a table")
        if isinstance(value, list):
            if not value:
                fail("sweep", key, f"'{key}' is an empty list: a sweep over nothing")
            if len({json.dumps(v, sort_keys=True) for v in value}) != len(value):
                fail("sweep", key, f"'{key}' lists a value twice: {value}")
    if "hidden" in sweep and "budget" in sweep:
        fail("sweep", "budget", "give either 'hidden' or a parameter 'budget', not both")
    if default_runner and "task" not in sweep:
        fail("sweep", None, "the [sweep] table needs a 'task'")

    config = SweepConfig(None if path is None else Path(path), str(data.get("name", Path(where).stem)),
                         dict(sweep), probe, theory, run, report)
    if not check_points:
        pass
    elif default_runner:
        config.points = _resolve_points(config, fail)
    else:  # a custom runner defines what its [sweep] keys mean
        identity = {"probe": probe, "theory": theory, "runner": run["runner"]}
        config.points = [Point(params, dict(params), _digest({"train": params, **identity}), _digest(params))
                         for params in config.combinations()]
    return config


def _check_types(probe, theory, run, report, fail) -> None:
    def is_int(v):
        return isinstance(v, int) and not isinstance(v, bool)

    lengths = probe["lengths"]
    if not isinstance(lengths, list) or not all(is_int(t) and t >= 2 for t in lengths):
        fail("probe", "lengths", f"'lengths' must be a list of integers >= 2, got {lengths!r}")
    symbols = probe["symbols"]
    if symbols is not None and not (is_int(symbols) and symbols >= 1) and not (
            isinstance(symbols, list) and symbols and all(is_int(s) and s >= 0 for s in symbols)):
        fail("probe", "symbols", f"'symbols' must be a positive count or a list of symbols, got {symbols!r}")
    if probe["method"] not in ("auto", "dense", "sampled"):
        fail("probe", "method", f"'method' must be auto, dense or sampled, got {probe['method']!r}")
    for key in ("rows", "cols"):
        if not (is_int(probe[key]) and probe[key] >= 1):
            fail("probe", key, f"'{key}' must be a positive integer, got {probe[key]!r}")
    for key in ("output_index", "step", "seed"):
        if not is_int(probe[key]):
            fail("probe", key, f"'{key}' must be an integer, got {probe[key]!r}")
    if not isinstance(probe["exact"], bool) or not isinstance(theory["generic_rank"], bool):
        fail("probe" if not isinstance(probe["exact"], bool) else "theory",
             "exact" if not isinstance(probe["exact"], bool) else "generic_rank", "must be true or false")
    if not (is_int(theory["max_bytes"]) and theory["max_bytes"] > 0):
        fail("theory", "max_bytes", f"'max_bytes' must be a positive integer, got {theory['max_bytes']!r}")
    if run["executor"] not in ("local", "ray"):
        fail("run", "executor", f"'executor' must be local or ray, got {run['executor']!r}")
    for key, minimum in (("workers", 1), ("cpus", 1), ("gpus", 0)):
        value = run[key]
        if not (isinstance(value, (int, float)) and not isinstance(value, bool) and value >= minimum):
            fail("run", key, f"'{key}' must be a number >= {minimum}, got {value!r}")
    if not isinstance(run["runner"], str) or run["runner"].count(":") != 1:
        fail("run", "runner", f"'runner' must be 'module:function', got {run['runner']!r}")
    threshold = report["threshold"]
    if not (isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and 0 < threshold <= 1):
        fail("report", "threshold", f"'threshold' must be in (0, 1], got {threshold!r}")


def _resolve_points(config: SweepConfig, fail) -> list[Point]:
    from tnrnn.nn import TrainConfig, make_task, width_for_budget
    from tnrnn.partitions import parse_partition

    probe_identity = {"probe": config.probe, "theory": config.theory, "runner": config.run["runner"]}
    points: list[Point] = []
    for params in config.combinations():
        described = ", ".join(f"{k}={v!r}" for k, v in params.items() if isinstance(config.sweep[k], list))
        described = described or "the only point"

        def point_fail(reason, key=None, described=described):
            fail("sweep", key, f"point ({described}): {reason}")

        train = {k: v for k, v in params.items() if k != "budget"}
        try:
            defaults = TrainConfig(**{k: v for k, v in train.items()
                                      if k in ("task", "length", "cell", "depth", "alphabet",
                                               "word_length")}).to_dict()
            task = make_task(defaults["task"], defaults["length"], alphabet=defaults.get("alphabet"),
                             word_length=defaults.get("word_length"), variant=defaults.get("variant"))
            if "budget" in params:
                budget = params["budget"]
                if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
                    point_fail(f"'budget' must be a positive integer, got {budget!r}", "budget")
                train["hidden"] = width_for_budget(defaults["cell"], defaults["depth"], budget,
                                                   task.input_size, task.output_size)
            resolved = TrainConfig(**train).to_dict()
        except ConfigError:
            raise
        except (ValueError, TypeError) as error:
            point_fail(str(error))
        if config.probe["lengths"]:
            if task.alphabet_size is None:
                fail("probe", "lengths", f"task {task.name!r} has no symbol alphabet to probe over; "
                                         f"remove [probe] lengths for it")
            symbols = config.probe["symbols"]
            count = symbols if isinstance(symbols, int) else (len(symbols) if symbols else task.alphabet_size)
            top = max(symbols) if isinstance(symbols, list) else count - 1
            if top >= task.alphabet_size:
                fail("probe", "symbols", f"symbols reach {top}, outside the alphabet 0..{task.alphabet_size - 1} "
                                         f"of task {task.name!r} (point {described})")
            for length in config.probe["lengths"]:
                try:
                    parse_partition(config.probe["partition"], length)
                except ValueError as error:
                    fail("probe", "lengths", f"probe length {length}: {error}")
        train_id = _digest(resolved)
        points.append(Point(params, resolved, _digest({"train": resolved, **probe_identity}), train_id))
    ids = [p.point_id for p in points]
    if len(set(ids)) != len(ids):
        fail("sweep", None, "two points resolve to the same training options (e.g. two budgets "
                            "giving the same width): remove the duplicate")
    return points


# --- results store -----------------------------------------------------------------------

_POINT_COLUMNS = [
    ("point_id", "TEXT PRIMARY KEY"), ("sweep", "TEXT"), ("train_id", "TEXT"),
    ("task", "TEXT"), ("cell", "TEXT"), ("depth", "INTEGER"), ("length", "INTEGER"),
    ("sequence_length", "INTEGER"), ("hidden", "INTEGER"), ("budget", "INTEGER"),
    ("steps", "INTEGER"), ("seed", "INTEGER"), ("parameters", "INTEGER"),
    ("final_loss", "REAL"), ("baseline_loss", "REAL"), ("accuracy", "REAL"),
    ("theory_templates", "INTEGER"), ("theory_lower", "INTEGER"), ("theory_upper", "INTEGER"),
    ("params", "TEXT"), ("result", "TEXT"), ("seconds", "REAL"), ("finished", "TEXT"),
]
_PROBE_COLUMNS = [
    ("point_id", "TEXT"), ("length", "INTEGER"), ("partition", "TEXT"), ("route", "TEXT"),
    ("method", "TEXT"), ("rank", "INTEGER"), ("tolerance", "REAL"), ("effective_rank", "REAL"),
    ("entropy", "REAL"), ("log_gap_index", "INTEGER"), ("rows", "INTEGER"), ("cols", "INTEGER"),
    ("lower_bound_only", "INTEGER"), ("templates", "INTEGER"),
    ("theory_lower", "INTEGER"), ("theory_upper", "INTEGER"), ("theory_rank", "INTEGER"),
    ("theory_certified", "INTEGER"), ("spectrum", "TEXT"),
]


class ResultsStore:
    """The SQLite results store of a sweep: one row per finished point, committed as it finishes.

    Tables: ``schema_version`` (one row), ``points`` (one row per point: training
    options, summary, theory interval, the full result as JSON) and ``probes`` (one row
    per point, probe length and route). A file written by another schema version, or
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
    ...     store.record("abc", "demo", {"depth": 2}, {"summary": {"accuracy": 1.0}}, 0.5)
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
               train_id: str | None = None) -> None:
        """Store one finished point and its probes in one transaction (all or nothing)."""
        summary = result.get("summary", {}) or {}
        theory = result.get("theory_task", {}) or {}
        values = {
            "point_id": point_id, "sweep": sweep, "train_id": train_id,
            "task": params.get("task"), "cell": params.get("cell"), "depth": params.get("depth"),
            "length": params.get("length"), "sequence_length": result.get("sequence_length"),
            "hidden": params.get("hidden"), "budget": params.get("budget"), "steps": params.get("steps"),
            "seed": params.get("seed"), "parameters": summary.get("parameters"),
            "final_loss": summary.get("final_loss"), "baseline_loss": summary.get("baseline_loss"),
            "accuracy": summary.get("accuracy"), "theory_templates": theory.get("templates"),
            "theory_lower": theory.get("lower"), "theory_upper": theory.get("upper"),
            "params": json.dumps(params, sort_keys=True), "result": json.dumps(result, sort_keys=True),
            "seconds": seconds, "finished": _now(),
        }
        names = [n for n, _ in _POINT_COLUMNS]
        with self.connection:
            self.connection.execute(f"INSERT INTO points ({', '.join(names)}) VALUES "
                                    f"({', '.join('?' * len(names))})", [values[n] for n in names])
            for probe_row in result.get("probes", []):
                row = {n: probe_row.get(n) for n, _ in _PROBE_COLUMNS}
                row["point_id"] = point_id
                row["spectrum"] = json.dumps(probe_row.get("spectrum", []))
                probe_names = [n for n, _ in _PROBE_COLUMNS]
                self.connection.execute(f"INSERT INTO probes ({', '.join(probe_names)}) VALUES "
                                        f"({', '.join('?' * len(probe_names))})",
                                        [row[n] for n in probe_names])

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


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


# --- running points --------------------------------------------------------------------


def _load_runner(path: str) -> Callable[[dict], dict]:
    module_name, function_name = path.split(":")
    return getattr(importlib.import_module(module_name), function_name)


def execute_point(payload: dict) -> tuple[str, dict, float]:
    """Run one point (in whatever process): lock its directory, call the runner, time it.

    The lock (``fcntl.flock`` on ``run_dir/.lock``) makes a second sweep process that
    reaches the same point wait instead of training it twice at the same time; the
    operating system releases it when the holder dies, even by ``kill -9``.

    Returns
    -------
    (point_id, result, seconds)
    """
    import fcntl

    run_dir = Path(payload["run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(run_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            result = _load_runner(payload["runner"])(payload)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return payload["point_id"], result, time.perf_counter() - start


def train_and_probe(payload: dict) -> dict:
    """The default point runner: train (resuming), probe, compare with the theory.

    ``payload`` holds ``train`` (the training options), ``run_dir``, ``probe``,
    ``theory`` and ``cpus``. Returns a JSON-ready dict with ``summary`` (the training
    summary), ``probes`` (one row per probe length and route: ``model`` for the torch
    forward pass, ``rac`` for the exported RAC weights of RAC models, each with the
    theory interval of the RAC with the same width and depth over the probe symbols,
    and its exact generic rank where the dense route fits ``theory.max_bytes``) and
    ``theory_task`` (the closed-form interval at the task's own sequence length, with
    M = the task alphabet).
    """
    import torch

    from tnrnn.nn import TrainConfig, load_run, train

    torch.set_num_threads(max(1, int(payload.get("cpus", 1))))
    config = TrainConfig.from_dict(payload["train"])
    summary = train(config, payload["run_dir"], progress=False)
    model, config, task = load_run(payload["run_dir"])
    model.eval()
    result = {"summary": _jsonable(summary), "sequence_length": task.sequence_length, "probes": [], "theory_task": {}}
    probe_cfg, theory_cfg = payload["probe"], payload["theory"]
    if task.alphabet_size is not None and task.sequence_length % 2 == 0:
        result["theory_task"] = _theory(task.alphabet_size, config.hidden, config.depth,
                                        task.sequence_length, "start-end", compute=False)
    for length in probe_cfg["lengths"]:
        result["probes"].extend(_probe_rows(model, task, config, length, probe_cfg, theory_cfg))
    return result


def _theory(templates: int, hidden: int, depth: int, length: int, partition: str, *, compute: bool,
            max_bytes: int = 2**28) -> dict:
    from tnrnn.bounds import bounds
    from tnrnn.circuits import RACSpec
    from tnrnn.grid import check_grid_size
    from tnrnn.partitions import parse_partition

    spec = RACSpec(templates, hidden, depth)
    closed = bounds(spec, length, parse_partition(partition, length)).to_dict()
    out = {"templates": templates, "lower": closed["lower"], "upper": closed["upper"], "rank": None,
           "certified": closed["lower"] == closed["upper"], "bounds": closed}
    if compute and not out["certified"]:
        try:
            check_grid_size(templates, hidden, depth, length, max_bytes)
        except ValueError:
            return out
        from tnrnn.rank import generic_rank

        exact = generic_rank(spec, length, partition, method="dense", max_bytes=max_bytes)
        out.update(rank=exact.rank, lower=exact.lower, upper=exact.upper, certified=exact.certified)
    elif out["certified"]:
        out["rank"] = out["lower"]
    return out


def _probe_rows(model, task, config, length: int, probe_cfg: dict, theory_cfg: dict) -> list[dict]:
    from tnrnn.probe import NonFiniteOutputError, probe_model, rac_probe

    common = {k: probe_cfg[k] for k in ("output_index", "symbols", "tolerance")}
    try:
        found = probe_model(model, task, length, probe_cfg["partition"], step=probe_cfg["step"],
                            method=probe_cfg["method"], rows=probe_cfg["rows"], cols=probe_cfg["cols"],
                            seed=probe_cfg["seed"], **common)
    except NonFiniteOutputError:  # a diverged network is a result too: no rank, method "diverged"
        return [{"length": length, "partition": probe_cfg["partition"], "route": "model",
                 "method": "diverged", "rank": None}]
    results = [("model", found)]
    if probe_cfg["exact"] and config.cell == "rac" and probe_cfg["step"] == -1 \
            and found.method == "dense":
        results.append(("rac", rac_probe(model, length, probe_cfg["partition"], **common)))
    theory = _theory(len(found.symbols), config.hidden, config.depth, length, probe_cfg["partition"],
                     compute=theory_cfg["generic_rank"], max_bytes=theory_cfg["max_bytes"])
    rows = []
    for route, r in results:
        rows.append({"length": length, "partition": r.partition, "route": route, "method": r.method,
                     "rank": r.rank, "tolerance": r.tolerance, "effective_rank": r.effective_rank,
                     "entropy": r.entropy, "log_gap_index": r.log_gap_index, "rows": r.shape[0],
                     "cols": r.shape[1], "lower_bound_only": int(r.lower_bound_only),
                     "templates": len(r.symbols), "theory_lower": theory["lower"],
                     "theory_upper": theory["upper"], "theory_rank": theory["rank"],
                     "theory_certified": int(theory["certified"]), "spectrum": r.spectrum})
    return rows


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=lambda v: v.item() if hasattr(v, "item") else str(v)))


# --- executors -------------------------------------------------------------------------


@dataclass
class SweepSummary:
    """What a call of :func:`run_sweep` did.

    Attributes
    ----------
    total : int
        Points in the config.
    skipped : int
        Points already in the store (not run again).
    ran : int
        Points run and stored by this call.
    seconds : float
        Wall-clock time of this call.
    """

    total: int
    skipped: int
    ran: int
    seconds: float


def _payloads(config: SweepConfig, db: Path, points: Iterable[Point]) -> list[dict]:
    runs_dir = Path(config.run["runs_dir"]) if config.run["runs_dir"] else db.with_name(db.name + ".runs")
    if config.run["runs_dir"] and not runs_dir.is_absolute() and config.path is not None:
        runs_dir = config.path.parent / runs_dir
    return [{"point_id": p.point_id, "train_id": p.train_id, "params": p.params, "train": p.train,
             "run_dir": str(runs_dir / p.train_id), "probe": config.probe, "theory": config.theory,
             "runner": config.run["runner"], "cpus": config.run["cpus"], "gpus": config.run["gpus"]}
            for p in points]


def run_sweep(config: SweepConfig | str | os.PathLike, db: str | os.PathLike, *, executor: str | None = None,
              workers: int | None = None, progress: bool = True, ray_address: str | None = None) -> SweepSummary:
    """Run every point of a sweep that is not yet in the store; store each as it finishes.

    Parameters
    ----------
    config : SweepConfig or path
    db : path
        The SQLite results store (created if missing; refused if of another schema).
    executor : {"local", "ray"}, optional
        Default: the config's ``[run] executor`` (itself ``local`` by default). ``local``
        runs points in this process (1 worker) or a process pool; ``ray`` submits one
        task per point with ``num_cpus``/``num_gpus`` from ``[run] cpus``/``gpus`` to the
        cluster at ``ray_address`` (or a local Ray instance).
    workers : int, optional
        Parallel points for ``local`` (default ``[run] workers``).
    progress : bool
        Show a tqdm bar.
    ray_address : str, optional
        Address of an existing Ray cluster (default: ``RAY_ADDRESS`` or a new local one).

    Returns
    -------
    SweepSummary

    Raises
    ------
    ValueError
        For a bad config, executor or store, before any point runs.

    Notes
    -----
    Interrupting (Ctrl-C, ``kill -9``) loses nothing: finished points are committed one
    transaction each; a half-trained point resumes from its training checkpoint.
    """
    from tqdm import tqdm

    start = time.perf_counter()
    if not isinstance(config, SweepConfig):
        config = load_config(config)
    executor = executor or config.run["executor"]
    if executor not in ("local", "ray"):
        raise ValueError(f"executor must be 'local' or 'ray', got {executor!r}")
    workers = int(workers or config.run["workers"])
    if workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers}")
    db = Path(db)
    with ResultsStore(db) as store:
        done = store.finished_ids()
        pending = [p for p in config.points if p.point_id not in done]
        payloads = _payloads(config, db, pending)
        bar = tqdm(total=len(config.points), initial=len(config.points) - len(pending), desc=config.name,
                   unit="point", disable=not progress)
        ran = 0

        def store_one(point_id, result, seconds):
            nonlocal ran
            point = next(p for p in pending if p.point_id == point_id)
            store.record(point_id, config.name, point.train | {"budget": point.params.get("budget")}, result,
                         seconds, train_id=point.train_id)
            ran += 1
            bar.update(1)

        try:
            if not payloads:
                pass
            elif executor == "ray":
                _run_ray(payloads, store_one, ray_address)
            elif workers == 1:
                for payload in payloads:
                    store_one(*execute_point(payload))
            else:
                _run_pool(payloads, store_one, workers)
        finally:
            bar.close()
    return SweepSummary(len(config.points), len(config.points) - len(pending), ran,
                        time.perf_counter() - start)


def _run_pool(payloads: list[dict], store_one, workers: int) -> None:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    context = multiprocessing.get_context("spawn")  # torch and fork do not mix
    pool = ProcessPoolExecutor(max_workers=min(workers, len(payloads)), mp_context=context)
    try:
        futures = {pool.submit(execute_point, payload) for payload in payloads}
        while futures:
            finished, futures = wait(futures, return_when=FIRST_COMPLETED)
            for future in finished:
                store_one(*future.result())
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def _run_ray(payloads: list[dict], store_one, address: str | None) -> None:
    try:
        import ray
    except ImportError:
        raise ValueError("--executor ray needs Ray: pip install 'tnrnn[ray]'") from None
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS")
        if address:
            ray.init(address=address)
        else:
            ray.init(include_dashboard=False, log_to_driver=False)
    remote = ray.remote(execute_point)
    pending = {}
    for payload in payloads:
        ref = remote.options(num_cpus=payload["cpus"], num_gpus=payload["gpus"], max_retries=1).remote(payload)
        pending[ref] = payload["point_id"]
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                pending.pop(ref)
                store_one(*ray.get(ref))
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise


# --- the comparison: tables and figures ----------------------------------------------------


def summary_rows(store: ResultsStore, threshold: float = 0.9) -> list[dict]:
    """One row per (task, cell, depth, budget): the longest task length solved, with the theory.

    A length counts as **solved** when the mean validation accuracy over its seeds is at
    least ``threshold``. ``theory_lower``/``theory_upper`` are the closed-form interval of
    the generic Start-End rank of the RAC with the same width and depth over the task
    alphabet (M), at the task's sequence length (for the longest length swept).

    Examples
    --------
    >>> import tempfile, os
    >>> with ResultsStore(os.path.join(tempfile.mkdtemp(), "r.sqlite")) as store:
    ...     for i, (length, acc) in enumerate([(4, 0.95), (8, 0.91), (12, 0.5)]):
    ...         store.record(str(i), "s", {"task": "ses", "cell": "rac", "depth": 2, "length": length,
    ...                                    "hidden": 8}, {"summary": {"accuracy": acc}}, 0.0)
    ...     [(r["depth"], r["longest_solved"], r["lengths"]) for r in summary_rows(store, 0.9)]
    [(2, 8, '4, 8, 12')]
    """
    groups: dict[tuple, list[dict]] = {}
    for row in store.points():
        key = (row["task"], row["cell"], row["depth"], row["budget"] or row["hidden"])
        groups.setdefault(key, []).append(row)
    out = []
    for (task, cell, depth, _), rows in sorted(groups.items(), key=lambda kv: tuple(str(k) for k in kv[0])):
        by_length: dict[int, list[dict]] = {}
        for row in rows:
            by_length.setdefault(row["length"], []).append(row)
        accuracy = {t: _mean([r["accuracy"] for r in rs]) for t, rs in sorted(by_length.items())}
        solved = [t for t, a in accuracy.items() if a is not None and a >= threshold]
        longest = max(by_length)
        last = by_length[longest][0]
        out.append({"task": task, "cell": cell, "depth": depth, "hidden": rows[0]["hidden"],
                    "budget": rows[0]["budget"], "parameters": rows[0]["parameters"],
                    "lengths": ", ".join(str(t) for t in accuracy),
                    "accuracy": ", ".join("-" if a is None else f"{a:.2f}" for a in accuracy.values()),
                    "longest_solved": max(solved) if solved else None, "threshold": threshold,
                    "theory_length": last["sequence_length"], "theory_templates": last["theory_templates"],
                    "theory_lower": last["theory_lower"], "theory_upper": last["theory_upper"]})
    return out


def _mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def markdown_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """A GitHub Markdown table of dict rows (``None`` shown as ``-``)."""
    if not rows:
        return "(no rows)\n"
    columns = columns or list(rows[0])

    def cell(value):
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.3g}"
        return str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def relative_rank(spectrum: list[float] | str, relative: float) -> int | None:
    """Number of singular values above ``relative * sigma_max`` (a stated, coarser float rank).

    Examples
    --------
    >>> relative_rank([1.0, 0.1, 1e-4], 1e-3), relative_rank("[2.0, 1.0]", 0.6)
    (2, 1)
    """
    values = json.loads(spectrum) if isinstance(spectrum, str) else spectrum
    if not values:
        return None
    return sum(1 for v in values if v > relative * values[0])


def plot_report(db: str | os.PathLike, out: str | os.PathLike, *, threshold: float = 0.9,
                relative: float = 1e-3) -> list[Path]:
    """Draw the comparison figures of a sweep store; returns the PNG paths.

    * ``<out>_solved.png``: per task, validation accuracy against the task length for
      each depth (the dashed line is ``threshold``), and the longest length solved per
      depth next to the theory's generic-rank interval for that architecture.
    * ``<out>_ranks.png`` (when the sweep probed): float rank (numpy's tolerance) and
      the rank at ``relative * sigma_max`` of the best-trained network of each depth
      against the probe length T, with the theory's interval for the RAC of the same
      width and depth over the same symbols.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with ResultsStore(db) as store:
        points = store.points()
        probes = store.probes(spectrum=True)
        summary = summary_rows(store, threshold)
    if not points:
        raise ValueError(f"{db} holds no finished points yet: run the sweep first")
    paths = []
    series = sorted({(r["task"], r["cell"]) for r in points})
    depths = sorted({r["depth"] for r in points})
    colours = {d: plt.cm.viridis(i / max(len(depths) - 1, 1) * 0.85) for i, d in enumerate(depths)}
    fig, axes = plt.subplots(len(series), 2, figsize=(10, 3.6 * len(series)), squeeze=False)
    for (task, cell), (left, right) in zip(series, axes):
        rows = [r for r in summary if r["task"] == task and r["cell"] == cell]
        for row in rows:
            lengths = [int(t) for t in row["lengths"].split(", ")]
            accuracy = [None if a == "-" else float(a) for a in row["accuracy"].split(", ")]
            left.plot(lengths, accuracy, "o-", color=colours[row["depth"]],
                      label=f"L={row['depth']} (R={row['hidden']}, {row['parameters']} params)")
        left.axhline(threshold, color="grey", ls="--", lw=1, label=f"solved: accuracy >= {threshold:g}")
        left.set(xlabel="task length", ylabel="validation accuracy", ylim=(0, 1.02),
                 title=f"{task}, {cell}: accuracy at matched budget")
        left.legend(fontsize=7)
        x = [r["depth"] for r in rows]
        solved = [r["longest_solved"] or 0 for r in rows]
        right.bar(x, solved, color=[colours[d] for d in x], alpha=0.8, width=0.5)
        swept = max(int(t) for r in rows for t in r["lengths"].split(", "))
        right.set(xlabel="depth L", ylabel="longest task length solved (0: none)", xticks=depths,
                  ylim=(0, swept * 1.1), title="longest solved (bars) vs theory rank (markers)")
        twin = right.twinx()
        lower = [r["theory_lower"] for r in rows]
        upper = [r["theory_upper"] for r in rows]
        if all(v is not None for v in lower + upper):
            twin.errorbar(x, lower, yerr=[[0] * len(x), [u - lo for lo, u in zip(lower, upper)]], fmt="kv",
                          capsize=4, label="generic Start-End rank: proven interval")
            twin.plot(x, upper, "k^")
            twin.set_yscale("log")
            t_len = rows[-1]["theory_length"]
            twin.set_ylabel(f"theory rank at T={t_len}, M={rows[-1]['theory_templates']}")
            twin.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    path = out.with_name(out.name + "_solved.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    paths.append(path)

    model_probes = [p for p in probes if p["route"] == "model" and p["rank"] is not None]
    if model_probes:
        by_point = {r["point_id"]: r for r in points}
        fig, axes = plt.subplots(1, len(series), figsize=(5.2 * len(series), 4), squeeze=False)
        for (task, cell), ax in zip(series, axes[0]):
            for depth in depths:
                # the best-trained network of this depth (highest validation accuracy)
                rows = [p for p in model_probes if by_point[p["point_id"]]["task"] == task
                        and by_point[p["point_id"]]["cell"] == cell and by_point[p["point_id"]]["depth"] == depth]
                if not rows:
                    continue
                best = max({p["point_id"] for p in rows}, key=lambda i: (by_point[i]["accuracy"] or 0, i))
                rows = sorted((p for p in rows if p["point_id"] == best), key=lambda p: p["length"])
                ts = sorted({p["length"] for p in rows})
                rank = [_mean([p["rank"] for p in rows if p["length"] == t]) for t in ts]
                coarse = [_mean([relative_rank(p["spectrum"], relative) for p in rows if p["length"] == t])
                          for t in ts]
                lo = [min(p["theory_lower"] for p in rows if p["length"] == t) for t in ts]
                hi = [max(p["theory_upper"] for p in rows if p["length"] == t) for t in ts]
                colour = colours[depth]
                trained = by_point[best]
                ax.plot(ts, rank, "o-", color=colour, label=f"L={depth} (task length {trained['length']}, "
                                                             f"accuracy {trained['accuracy']:.2f}): float rank")
                ax.plot(ts, coarse, "s:", color=colour, label=f"L={depth}: rank at {relative:g} sigma_max")
                ax.fill_between(ts, lo, hi, color=colour, alpha=0.15)
                ax.plot(ts, hi, "--", color=colour, lw=1, label=f"L={depth}: theory interval")
                ax.plot(ts, lo, "--", color=colour, lw=1)
            templates = model_probes[0]["templates"]
            ax.set(xlabel="probe length T", ylabel="Start-End rank", yscale="log",
                   title=f"{task}, {cell}: trained nets vs theory (M={templates} symbols)")
            ax.legend(fontsize=6, ncol=1)
        fig.tight_layout()
        path = out.with_name(out.name + "_ranks.png")
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths
