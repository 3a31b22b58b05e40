"""Sweep configs: the TOML format, validation with line numbers, and the crossed points."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from tnrnn.guards import parse_bytes

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["CONFIGS", "ConfigError", "Point", "SweepConfig", "config_path", "load_config", "DEFAULT_RUNNER"]

DEFAULT_RUNNER = "tnrnn.experiments:train_and_probe"

#: Most CPUs one point may ask for (``[run] cpus``), on this machine or a Ray node.
MAX_CPUS = 4096

#: Longest sweep config read (characters): far beyond any sweep of at most 10,000 points.
MAX_CONFIG_CHARS = 1_000_000

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
    "task_pairs": "task-data probe: N first halves x N second halves drawn from the task (0: off)",
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
    "max_bytes": "memory limit of one point's training and evaluation sets, e.g. \"16G\" (default TNRNN_MAX_BYTES)",
}
_REPORT_KEYS = {"threshold": "accuracy above which a length counts as solved",
                "predictions": "the theory's prediction per swept value, written before the runs (table of strings)"}
_TABLES = {"sweep": None, "probe": _PROBE_KEYS, "theory": _THEORY_KEYS, "run": _RUN_KEYS,
           "report": _REPORT_KEYS}
_TOP_KEYS = {"name", "description"}


class ConfigError(ValueError):
    """A sweep config that cannot run: names the file, the line and the reason."""

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
    tnrnn.experiments.config.ConfigError: <config>:3: [sweep] unknown key 'deepth'; valid keys: ...
    """
    if (path is None) == (text is None):
        raise ValueError("give exactly one of path and text")
    where = "<config>" if path is None else str(path)
    if text is None:
        try:
            text = Path(path).read_text()
        except OSError as error:
            raise ConfigError(f"{where}: cannot read the config: {error.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{where}: not a text file (binary or corrupt); a sweep config is TOML text") from None
    if len(text) > MAX_CONFIG_CHARS:  # before parsing: a million-seed list takes seconds to read
        raise ConfigError(f"{where}: {len(text):,} characters; a sweep config is a few lines (at most "
                          f"{MAX_CONFIG_CHARS:,} characters): sweep fewer values")
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
             "task_pairs": 0,
             **tables["probe"]}
    theory = {"generic_rank": True, "max_bytes": 2**28, **tables["theory"]}
    run = {"executor": "local", "workers": 1, "cpus": 1, "gpus": 0, "runner": DEFAULT_RUNNER,
           "runs_dir": None, "max_bytes": None, **tables["run"]}
    report = {"threshold": 0.9, **tables["report"]}
    _check_types(probe, theory, run, report, fail)
    default_runner = run["runner"] == DEFAULT_RUNNER
    if not default_runner and check_points:  # the points will run: their runner must import
        _check_runner(run["runner"], fail)
    train_fields = _train_fields() if default_runner else {}
    valid_sweep = sorted(set(train_fields) | {"budget", "preset"})
    from tnrnn._validation import MAX_POINTS

    count = 1
    for value in sweep.values():  # before any point is built: a typo of 10^6 seeds is refused at once
        count *= len(value) if isinstance(value, list) else 1
    if count > MAX_POINTS:
        longest = max((k for k in sweep if isinstance(sweep[k], list)), key=lambda k: len(sweep[k]))
        fail("sweep", longest, f"the lists cross into {count:,} points, more than {MAX_POINTS:,} (each one a "
                               f"training run); sweep fewer values")
    for key, value in sweep.items():
        if default_runner and key not in train_fields and key not in ("budget", "preset"):
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
    """Every [probe], [theory], [run] and [report] value through the check of the flag that means the same."""
    from tnrnn._validation import check_float, check_int, check_threads

    def is_int(v):
        return isinstance(v, int) and not isinstance(v, bool)

    def checked(table, key, check, *args, **kwargs):
        try:
            return check(*args, **kwargs)
        except ValueError as error:
            fail(table, key, str(error))

    lengths = probe["lengths"]
    if not isinstance(lengths, list) or not all(is_int(t) and 2 <= t <= 10_000 for t in lengths):
        fail("probe", "lengths", f"'lengths' must be a list of integers >= 2 (at most 10000), got {lengths!r}")
    symbols = probe["symbols"]
    if symbols is not None and not (is_int(symbols) and symbols >= 1) and not (
            isinstance(symbols, list) and symbols and all(is_int(s) and s >= 0 for s in symbols)):
        fail("probe", "symbols", f"'symbols' must be a positive count or a list of symbols, got {symbols!r}")
    if probe["method"] not in ("auto", "dense", "sampled"):
        fail("probe", "method", f"'method' must be auto, dense or sampled, got {probe['method']!r}")
    if not isinstance(probe["partition"], str):
        fail("probe", "partition", f"'partition' must be a string such as 'start-end', got {probe['partition']!r}")
    checked("probe", "task_pairs", check_int, probe["task_pairs"], "'task_pairs'", 0, 100_000)
    if probe["task_pairs"] == 1:
        fail("probe", "task_pairs", "'task_pairs' must be 0 (off) or at least 2, got 1")
    for key in ("rows", "cols"):  # as --rows and --cols of tnrnn probe
        checked("probe", key, check_int, probe[key], f"'{key}'", 1, 1_000_000)
    for key in ("output_index", "step"):
        checked("probe", key, check_int, probe[key], f"'{key}'", -10_000, 10_000)
    checked("probe", "seed", check_int, probe["seed"], "'seed'", 0, 2**63 - 1)  # as --seed
    if probe["tolerance"] is not None:  # as --tolerance of tnrnn probe: a finite number > 0
        # checked, not converted: the value as written is part of every point's identity
        checked("probe", "tolerance", check_float, probe["tolerance"], "'tolerance'", 0.0, low_open=True)
    if not isinstance(probe["exact"], bool) or not isinstance(theory["generic_rank"], bool):
        fail("probe" if not isinstance(probe["exact"], bool) else "theory",
             "exact" if not isinstance(probe["exact"], bool) else "generic_rank", "must be true or false")
    max_bytes = theory["max_bytes"]  # as --max-bytes: a count or "4G", "512M", "1e9"
    if isinstance(max_bytes, str):
        theory["max_bytes"] = checked("theory", "max_bytes", parse_bytes, max_bytes)
    elif not (is_int(max_bytes) and max_bytes > 0):
        fail("theory", "max_bytes", f"'max_bytes' must be a positive integer or a size such as \"4G\", "
                                    f"got {max_bytes!r}")
    if run["executor"] not in ("local", "ray"):
        fail("run", "executor", f"'executor' must be local or ray, got {run['executor']!r}")
    # as --workers: an integer, bounded by the CPUs this process may use (the local pool's size)
    run["workers"] = checked("run", "workers", check_threads, run["workers"], "'workers'")
    # CPUs of one point, wherever it runs (a Ray node may have more than this machine): an integer, at most
    # MAX_CPUS; a worker uses at most the CPUs it may use (tnrnn.experiments.runner)
    checked("run", "cpus", check_int, run["cpus"], "'cpus'", 1, MAX_CPUS)
    run["gpus"] = checked("run", "gpus", check_float, run["gpus"], "'gpus'", 0.0, 64.0)
    if run["max_bytes"] is not None:  # as --max-bytes: a count or "16G"
        value = run["max_bytes"]
        run["max_bytes"] = (checked("run", "max_bytes", parse_bytes, value) if isinstance(value, str)
                            else checked("run", "max_bytes", check_int, value, "'max_bytes'", 1, 2**62))
    if not isinstance(run["runner"], str) or run["runner"].count(":") != 1:
        fail("run", "runner", f"'runner' must be 'module:function', got {run['runner']!r}")
    if run["runs_dir"] is not None and (not isinstance(run["runs_dir"], str) or not run["runs_dir"].strip()):
        fail("run", "runs_dir", f"'runs_dir' must be a directory name, got {run['runs_dir']!r}")
    report["threshold"] = checked("report", "threshold", check_float, report["threshold"], "'threshold'", 0.0, 1.0,
                                  low_open=True)
    predictions = report.get("predictions", {})
    if not isinstance(predictions, dict) or not all(isinstance(v, str) for v in predictions.values()):
        fail("report", "predictions", f"'predictions' must be a table of strings (value -> prediction), "
                                      f"got {predictions!r}")


def _check_runner(runner: str, fail) -> None:
    """Import a custom runner now, so a missing module or function is refused before any point runs."""
    import importlib

    module_name, function_name = runner.split(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # ImportError, or whatever the module raises while loading
        fail("run", "runner", f"cannot import the runner module {module_name!r} ({type(error).__name__}: "
                              f"{str(error).splitlines()[0] if str(error) else ''})")
    if not callable(getattr(module, function_name, None)):
        fail("run", "runner", f"module {module_name!r} has no function {function_name!r}")


def _resolve_points(config: SweepConfig, fail) -> list[Point]:
    from tnrnn._validation import MAX_SEEDS, check_int
    from tnrnn.nn import PRESETS, TrainConfig, make_task, width_for_budget
    from tnrnn.nn.budget import check_train_size
    from tnrnn.nn.config import preset_fields
    from tnrnn.rac.partitions import parse_partition

    seeds = config.sweep.get("seed")
    if isinstance(seeds, list) and len(seeds) > MAX_SEEDS:
        fail("sweep", "seed", f"{len(seeds):,} seeds train as one ensemble per point; at most {MAX_SEEDS:,}")

    probe_identity = {"probe": config.probe, "theory": config.theory, "runner": config.run["runner"]}
    points: list[Point] = []
    for params in config.combinations():
        described = ", ".join(f"{k}={v!r}" for k, v in params.items() if isinstance(config.sweep[k], list))
        described = described or "the only point"

        def point_fail(reason, key=None, described=described):
            fail("sweep", key, f"point ({described}): {reason}")

        train = {k: v for k, v in params.items() if k not in ("budget", "preset")}
        try:
            if "preset" in params:
                if params["preset"] not in PRESETS:
                    point_fail(f"unknown preset {params['preset']!r}; valid presets: {', '.join(PRESETS)}", "preset")
                train = preset_fields(params["preset"], **train)
            defaults = TrainConfig(**{k: v for k, v in train.items()
                                      if k in ("task", "length", "cell", "depth", "alphabet", "word_length",
                                               "variant", "orthogonal")}).to_dict()
            task = make_task(defaults["task"], defaults["length"], alphabet=defaults.get("alphabet"),
                             word_length=defaults.get("word_length"), variant=defaults.get("variant"))
            if "budget" in params:
                budget = params["budget"]
                if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
                    point_fail(f"'budget' must be a positive integer, got {budget!r}", "budget")
                # budgets count free parameters: an orthogonal W^H has R(R-1)/2
                train["hidden"] = width_for_budget(defaults["cell"], defaults["depth"], budget,
                                                   task.input_size, task.output_size,
                                                   orthogonal=defaults["orthogonal"] is not None)
            if "seed" in train:  # as --seed: torch's generators take 64-bit seeds
                check_int(train["seed"], "'seed'", 0, 2**63 - 1)
            resolved_config = TrainConfig(**train)
            resolved = resolved_config.to_dict()
            # tnrnn train's own size check, for every point before the first one starts (the device
            # is checked by run_sweep: a config for a GPU machine validates anywhere)
            members = len(config.sweep["seed"]) if isinstance(config.sweep.get("seed"), list) else 1
            check_train_size(resolved_config, members, config.run["max_bytes"])
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
            if config.probe["method"] != "dense":  # as tnrnn probe: a sampled block through the model
                from tnrnn.guards import SizeLimitError, check_bytes

                rows, cols = config.probe["rows"], config.probe["cols"]
                try:
                    check_bytes(8 * rows * cols * (max(config.probe["lengths"]) + 2),
                                f"a sampled block of rows={rows} x cols={cols} sequences", None)
                except SizeLimitError as error:
                    fail("probe", "rows", str(error))
        train_id = _digest(resolved)
        points.append(Point(params, resolved, _digest({"train": resolved, **probe_identity}), train_id))
    ids = [p.point_id for p in points]
    if len(set(ids)) != len(ids):
        fail("sweep", None, "two points resolve to the same training options (e.g. two budgets "
                            "giving the same width): remove the duplicate")
    return points


CONFIGS = "tnrnn.experiments.configs"
"""Package holding the sweep configs (package data, so an installed ``tnrnn`` finds them)."""


def config_path(name: str) -> Path:
    """Path of a bundled sweep config, e.g. ``config_path("quick_sweep.toml")``.

    The configs ship inside the package (``tnrnn/experiments/configs/``) and are found with
    :mod:`importlib.resources`, so this works from a checkout and after a non-editable install.

    Examples
    --------
    >>> config_path("quick_sweep.toml").name
    'quick_sweep.toml'
    """
    from importlib.resources import files

    path = Path(str(files(CONFIGS).joinpath(name)))
    if not path.is_file():
        raise ValueError(f"no bundled sweep config {name!r} in {path.parent}")
    return path
