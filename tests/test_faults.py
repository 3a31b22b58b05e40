"""Fault injection: every input source and every fault a sweep or a run can meet, and the promise kept.

The promise, checked in every case: the command exits 0 (it worked) or 2 (it refused, with
one ``tnrnn COMMAND: error: ...`` line naming the source) -- 130/143 for Ctrl-C/SIGTERM --,
never with a traceback; nothing stored before is changed or lost; every file is either the
old one or the complete new one (no torn line, no half-written export, no temporary file
left behind).

Sources of faults (one section each below):

* hypothesis-generated sweep configs (values of every key, of every TOML type);
* hypothesis-corrupted run files (``config.json``, ``metrics.jsonl``, ``checkpoint.pt``,
  ``ensemble.json``, ``ensemble.pt``) and results stores (any column set to any value);
* full disks: ``RLIMIT_FSIZE`` set in a child process (``ulimit -f``; Python ignores
  ``SIGXFSZ``, so a write past the limit fails with ``EFBIG``) and ``/dev/full``;
* signals: SIGTERM and SIGINT to a sweep with two workers, ``kill -9`` of a worker;
* well-formed but wrong files, environment variables, absurd resource counts.

Budget: hypothesis runs are derandomised with :data:`EXAMPLES` examples each; the whole
file takes about a minute of wall time at one thread (most of it in the child processes
that a signal or a file-size limit needs).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tnrnn._files import append_line, atomic_write, atomic_write_text
from tnrnn.cli import main
from tnrnn.experiments import ConfigError, ResultsStore, load_config, run_sweep

REPO = Path(__file__).resolve().parents[1]

#: Examples per hypothesis test (derandomised, so CI runs the same cases every time).
EXAMPLES = int(os.environ.get("TNRNN_FAULT_EXAMPLES", "0")) or 25

#: Wall-clock limit of every child process, seconds.
CHILD_TIMEOUT = 120


def fault_settings(examples: int = EXAMPLES):
    return settings(max_examples=examples, deadline=None, derandomize="TNRNN_FAULT_EXAMPLES" not in os.environ,
                    database=None, suppress_health_check=list(HealthCheck))


# --- helpers ----------------------------------------------------------------------------------


def child_env(**extra) -> dict:
    path = os.pathsep.join(p for p in [str(REPO), os.environ.get("PYTHONPATH", "")] if p)
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **extra}


def file_size_limit(limit: int):
    """``preexec_fn`` of a child that may write no file beyond ``limit`` bytes (``ulimit -f``)."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def tnrnn_child(*args, limit: int | None = None, cwd=None, env=None, **popen) -> subprocess.CompletedProcess:
    """Run ``python -m tnrnn ARGS`` in a child process (optionally under a file-size limit)."""
    return subprocess.run([sys.executable, "-m", "tnrnn", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env or child_env(), timeout=CHILD_TIMEOUT,
                          preexec_fn=None if limit is None else file_size_limit(limit), **popen)


def assert_promise(code: int, stderr: str, codes=(0, 2)) -> None:
    assert code in codes, f"exit {code}; stderr:\n{stderr}"
    assert "Traceback" not in stderr, stderr
    if code == 2:
        assert "error:" in stderr.strip().splitlines()[-1], stderr


def in_process(argv) -> tuple[int, str, str]:
    """``tnrnn ARGV`` through :func:`tnrnn.cli.main` in this process: (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` (relative path -> bytes)."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def temporaries(directory: Path) -> list[str]:
    return [p.name for p in directory.rglob(".*.tmp")]


TINY = dict(task="ses", length=4, word_length=2, alphabet=3, cell="rac", depth=1, hidden=3, val_size=16,
            test_size=16, batch_size=8)
TINY_FLAGS = ["--task", "ses", "-T", "4", "--word-length", "2", "--alphabet", "3", "--cell", "rac", "-L", "1",
              "-R", "3", "--val-size", "16", "--test-size", "16", "--batch-size", "8", "--no-progress"]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A finished tiny single run (steps 20, evaluation every 2 steps): 10 metrics lines."""
    from tnrnn.nn import TrainConfig, train

    directory = tmp_path_factory.mktemp("run") / "run"
    train(TrainConfig(**TINY, steps=20, eval_every=2), directory, progress=False)
    return directory


@pytest.fixture(scope="module")
def finished_ensemble(tmp_path_factory) -> Path:
    """A finished tiny ensemble of seeds 0 and 1 (steps 4, evaluation every 2 steps)."""
    from tnrnn.nn import TrainConfig, train_ensemble

    directory = tmp_path_factory.mktemp("ensemble") / "ens"
    train_ensemble(TrainConfig(**TINY, steps=4, eval_every=2), [0, 1], directory, progress=False)
    return directory


FAKE_RUNNER = '''
"""A point runner for the fault tests: sleeps, dies or records into the store as told by the environment."""
import json, os, signal, sqlite3, time
from pathlib import Path


def run(payload):
    params = payload["train"]
    time.sleep(float(os.environ.get("FAKE_DELAY", "0")))
    key = f"{params['depth']}-{params['length']}"
    if key == os.environ.get("FAKE_KILL_ALWAYS"):
        os.kill(os.getpid(), signal.SIGKILL)
    marker = Path(payload["run_dir"]) / "killed-once"
    if key == os.environ.get("FAKE_KILL_ONCE") and not marker.exists():
        marker.write_text("x")
        os.kill(os.getpid(), signal.SIGKILL)
    if key == os.environ.get("FAKE_RAISE"):
        raise ValueError("this point cannot be trained")
    accuracy = (10 * params["depth"] + params["length"]) / 100
    result = {"summary": {"accuracy": accuracy, "test_accuracy": accuracy, "parameters": 7},
              "probes": [{"length": 4, "partition": "start-end", "route": "model", "method": "dense",
                          "rank": params["depth"], "spectrum": [0.5] * int(os.environ.get("FAKE_SPECTRUM", "2"))}]}
    if os.environ.get("FAKE_OTHER_SWEEP"):  # a second sweep on the same store got there first
        from tnrnn.experiments import ResultsStore
        with ResultsStore(os.environ["FAKE_OTHER_SWEEP"]) as store:
            store.record(payload["point_id"], "other", params, result, 0.0)
    return result
'''


@pytest.fixture
def fake(tmp_path, monkeypatch) -> Path:
    (tmp_path / "fault_runner.py").write_text(FAKE_RUNNER)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), str(REPO), os.environ.get("PYTHONPATH", "")]))
    return tmp_path


def fake_config(directory: Path, *, depths=(1, 2, 3), lengths=(4, 6), workers=1) -> Path:
    path = directory / "sweep.toml"
    path.write_text(textwrap.dedent(f"""\
        name = "faults"
        [sweep]
        depth = {list(depths)}
        length = {list(lengths)}
        [run]
        runner = "fault_runner:run"
        workers = {workers}
        """))
    return path


def stored(db: Path) -> dict[str, tuple]:
    with ResultsStore(db) as store:
        return {row["point_id"]: (row["depth"], row["length"], row["accuracy"]) for row in store.points()}


def children_of(pid: int) -> set[int]:
    """Live descendants of ``pid`` (from /proc)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting to be reaped does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


# --- 1. nothing lost ---------------------------------------------------------------------------


def test_append_line_is_all_or_nothing_at_the_file_size_limit(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\n' * 10)  # 120 bytes
    before = path.read_bytes()
    script = ("import sys; from tnrnn._files import append_line\n"
              "try:\n    append_line(sys.argv[1], '{\"step\": 2, \"pad\": \"' + 'x' * 60 + '\"}', 'metrics file')\n"
              "except OSError as error:\n    print(error)\n    sys.exit(3)\n")
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, env=child_env(),
                          preexec_fn=file_size_limit(150), timeout=CHILD_TIMEOUT)
    assert done.returncode == 3, done.stderr
    assert "metrics file" in done.stdout and "file-size limit" in done.stdout and str(path) in done.stdout
    assert path.read_bytes() == before  # cut back: no torn line


def test_append_line_to_a_full_disk_names_the_file():
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    with pytest.raises(OSError, match="disk is full") as error:
        append_line("/dev/full", '{"step": 1}', "metrics file")
    assert "/dev/full" in str(error.value)


def test_a_resume_on_a_full_disk_keeps_the_whole_history(finished_run, tmp_path):
    """The issue's case: a finished run resumed under ``ulimit -f`` kept 81 of 150 lines, the last torn."""
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    metrics = run / "metrics.jsonl"
    with open(metrics, "a") as handle:  # a torn last line, as a crash leaves: the resume must rewrite the file
        handle.write('{"step": 21, "train_lo')
    before = snapshot(run)
    assert len(before["metrics.jsonl"]) > 1500 > len(before["config.json"])
    flags = [*TINY_FLAGS, "--steps", "20", "--eval-every", "2", "--out", run]
    done = tnrnn_child("train", *flags, limit=1500)  # config.json fits, the metrics file does not
    assert_promise(done.returncode, done.stderr, codes=(2,))
    assert "metrics file" in done.stderr and "file-size limit" in done.stderr
    assert snapshot(run) == before and not temporaries(run)
    code, _, err = in_process(["train", *flags])  # room again: the torn line dropped, every complete line kept
    assert_promise(code, err, codes=(0,))
    lines = metrics.read_text().splitlines()
    assert lines == before["metrics.jsonl"].decode().splitlines()[:-1]
    assert [json.loads(line)["step"] for line in lines] == list(range(2, 21, 2))


def test_a_finished_run_resumed_never_rewrites_its_metrics(finished_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    stat = (run / "metrics.jsonl").stat()
    before = (run / "metrics.jsonl").read_bytes()
    time.sleep(0.01)
    from tnrnn.nn import TrainConfig, train

    train(TrainConfig(**TINY, steps=20, eval_every=2), run, progress=False)
    after = (run / "metrics.jsonl").stat()
    assert (after.st_ino, after.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)  # not even rewritten in place
    assert (run / "metrics.jsonl").read_bytes() == before


DIVERGING_SWEEP = """\
name = "diverging"
[sweep]
task = "ses"
length = 4
word_length = 2
alphabet = 3
cell = "rac"
depth = 1
hidden = 3
steps = 6
eval_every = 6
val_size = 16
test_size = 16
batch_size = 8
lr = [1e-3, 1e30]
seed = [0, 1]
[probe]
lengths = [4]
task_pairs = 4
"""


def test_a_diverged_network_is_recorded_and_the_sweep_goes_on(tmp_path):
    config = tmp_path / "diverging.toml"
    config.write_text(DIVERGING_SWEEP)
    summary = run_sweep(config, tmp_path / "r.sqlite", progress=False)
    assert (summary.ran, summary.failed) == (4, [])
    with ResultsStore(tmp_path / "r.sqlite") as store:
        rows = store.points(full=True)
    diverged = {row["seed"] for row in rows if json.loads(row["result"]).get("diverged")}
    assert diverged == {0, 1}  # both seeds of lr=1e30, and only those
    for row in rows:
        result = json.loads(row["result"])
        methods = {p["method"] for p in result["probes"]}
        if result.get("diverged"):
            assert result["task_probe"]["method"] == "diverged" and methods == {"diverged"}
        else:
            assert "diverged" not in methods and result["task_probe"]["energy_ranks"]


@pytest.fixture
def small_store(tmp_path) -> Path:
    db = tmp_path / "r.sqlite"
    with ResultsStore(db) as store:
        for depth in (1, 2):
            for seed in (0, 1):
                store.record(f"p{depth}{seed}", "demo", {"task": "ses", "cell": "rac", "depth": depth, "length": 4,
                                                         "hidden": 3, "seed": seed, "steps": 4},
                             {"summary": {"accuracy": 0.5 + 0.1 * depth, "test_accuracy": 0.4 + 0.2 * depth},
                              "probes": [{"length": 4, "partition": "start-end", "route": "model", "method": "dense",
                                          "rank": depth + 1, "spectrum": [1.0, 0.3, 0.01]}]}, 0.1)
    return db


@pytest.mark.parametrize("flag", ["--csv", "--markdown"])
def test_exports_on_a_full_disk_keep_the_old_file_and_print_the_results_first(small_store, tmp_path, flag):
    export = tmp_path / ("old.csv" if flag == "--csv" else "old.md")
    export.write_text("the previous export\n")
    before = snapshot(tmp_path)
    # --force: replacing the export is asked for (without it, refused before any work)
    done = tnrnn_child("report", "--db", small_store, flag, export, "--json", "--force", limit=200)
    assert_promise(done.returncode, done.stderr, codes=(2,))
    assert json.loads(done.stdout)["points"] == 4  # the results reached stdout before the file failed
    assert flag in done.stderr and str(export) in done.stderr and "file-size limit" in done.stderr
    assert "[Errno" not in done.stderr
    assert snapshot(tmp_path) == before and not temporaries(tmp_path)


def test_report_figures_on_a_full_disk_keep_the_old_figure(small_store, tmp_path):
    figures = tmp_path / "figs"
    figures.mkdir()
    (figures / "sweep_accuracy.png").write_bytes(b"old figure")
    before = snapshot(tmp_path)
    done = tnrnn_child("report", "--db", small_store, "--out", figures, "--force", limit=2000)
    assert_promise(done.returncode, done.stderr, codes=(2,))
    assert "## Per length" in done.stdout  # the tables first
    assert "sweep_accuracy.png" in done.stderr and "file-size limit" in done.stderr
    assert snapshot(tmp_path) == before and not temporaries(tmp_path)


def test_a_plot_on_a_full_disk_names_the_flag_and_keeps_the_old_figure(tmp_path):
    figure = tmp_path / "c.png"
    figure.write_bytes(b"old figure")
    # --force: replacing an existing figure is asked for (without it, refused before any work)
    done = tnrnn_child("compare", "-M", "2", "-R", "2", "-T", "4", "6", "--plot", figure, "--force", limit=2000)
    assert_promise(done.returncode, done.stderr, codes=(2,))
    assert f"--plot {str(figure)!r}" in done.stderr and "file-size limit" in done.stderr and "[Errno" not in done.stderr
    assert figure.read_bytes() == b"old figure" and sorted(p.name for p in tmp_path.iterdir()) == ["c.png"]


def test_a_store_on_a_full_disk_keeps_its_points_and_names_itself(fake, monkeypatch):
    db = fake / "r.sqlite"
    config = fake_config(fake, depths=(1, 2, 3, 4, 5, 6))
    done = subprocess.run([sys.executable, "-m", "tnrnn", "sweep", str(config), "--db", str(db), "--no-progress"],
                          cwd=fake, capture_output=True, text=True, env=child_env(FAKE_SPECTRUM="2000"),
                          preexec_fn=file_size_limit(60_000), timeout=CHILD_TIMEOUT)
    assert_promise(done.returncode, done.stderr, codes=(2,))
    assert f"results store {str(db)!r}: could not store point" in done.stderr
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    connection.close()
    first = stored(db)
    assert 1 <= len(first) < 12
    monkeypatch.setenv("FAKE_SPECTRUM", "2000")
    summary = run_sweep(config, db, progress=False)  # room again: the rest, the stored points untouched
    assert (summary.skipped, summary.ran) == (len(first), 12 - len(first))
    assert {k: v for k, v in stored(db).items() if k in first} == first


def test_run_files_follow_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.json", "{}")
        append_line(tmp_path / "m.jsonl", "{}")
        os.umask(0o077)
        atomic_write_text(tmp_path / "b.json", "{}")
    finally:
        os.umask(previous)
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes == {"a.json": 0o644, "m.jsonl": 0o644, "b.json": 0o600}
    (tmp_path / "a.json").chmod(0o640)  # an existing file keeps its mode when replaced
    atomic_write(tmp_path / "a.json", lambda tmp: Path(tmp).write_text("[]"))
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o640


# --- 2. nothing silently wrong ------------------------------------------------------------------

BAD_VALUES = [
    ("probe", "tolerance", "nan", "finite number"), ("probe", "tolerance", "0", "finite number in (0"),
    ("probe", "tolerance", "-1.0", "finite number in (0"), ("probe", "tolerance", '"x"', "finite number"),
    ("run", "workers", "1.5", "integer"), ("run", "workers", "inf", "integer"), ("run", "workers", "0", "integer"),
    ("run", "workers", "100000", "may use"), ("run", "cpus", "inf", "integer"), ("run", "cpus", "100000", "in [1, 4096]"),
    ("run", "gpus", "-1", "finite number"), ("theory", "max_bytes", '"4Q"', "byte count"),
    ("theory", "max_bytes", "-5", "positive"), ("report", "threshold", "1.5", "(0, 1]"),
    ("probe", "rows", "0", "integer"), ("probe", "seed", "-1", "integer"),
    ("run", "runner", '"no_such_module_22:run"', "cannot import"),
]


@pytest.mark.parametrize("table, key, value, reason", BAD_VALUES)
def test_config_values_get_the_flags_checks_naming_file_line_and_key(tmp_path, table, key, value, reason):
    path = tmp_path / "sweep.toml"
    path.write_text(f'[sweep]\ntask = "ses"\nlength = 4\nword_length = 2\nsteps = 2\n[{table}]\n{key} = {value}\n')
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert message.startswith(f"{path}:7: [{table}] '{key}'") or message.startswith(f"{path}:7: [{table}]")
    assert reason in message


toml_values = st.one_of(
    st.integers(-2**63, 2**63 - 1), st.floats(allow_nan=True), st.booleans(),
    st.text(max_size=8), st.lists(st.integers(-3, 40), max_size=4), st.sampled_from(["4G", "inf", "ses", "rac"]))
SWEEP_KEYS = ["task", "length", "depth", "hidden", "budget", "steps", "seed", "cell", "word_length", "alphabet",
              "val_size", "batch_size", "lr", "device", "orthogonal", "eval_every"]
OTHER_KEYS = {"probe": ["lengths", "partition", "symbols", "tolerance", "rows", "method", "task_pairs", "step"],
              "run": ["workers", "cpus", "gpus", "executor"], "theory": ["max_bytes", "generic_rank"],
              "report": ["threshold"]}


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if value != value else ("inf" if value == float("inf") else
                                             "-inf" if value == float("-inf") else repr(value))
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml, value)) + "]"
    return str(value)


@fault_settings()
@given(sweep=st.dictionaries(st.sampled_from(SWEEP_KEYS), toml_values, max_size=5),
       table=st.sampled_from(sorted(OTHER_KEYS)), other=st.data())
def test_generated_sweep_configs_load_or_are_refused_with_file_and_line(sweep, table, other):
    values = other.draw(st.dictionaries(st.sampled_from(OTHER_KEYS[table]), toml_values, max_size=3))
    sweep = {"task": "ses", "length": 4, "word_length": 2, "steps": 2, **sweep}
    text = "[sweep]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in sweep.items())
    text += f"[{table}]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in values.items())
    started = time.process_time()
    try:
        config = load_config(text=text)
    except ConfigError as error:
        assert str(error).startswith("<config>"), error
    else:  # what loaded passes the checks of the flags that mean the same
        from tnrnn._threads import available_cpus
        from tnrnn.nn import TrainConfig

        assert config.points and all(TrainConfig.from_dict(p.train) for p in config.points)
        if config.probe["tolerance"] is not None:
            assert 0 < config.probe["tolerance"] < float("inf")
        assert type(config.run["workers"]) is int and 1 <= config.run["workers"] <= available_cpus()
        assert type(config.run["cpus"]) is int and 1 <= config.run["cpus"] <= 4096
        assert type(config.theory["max_bytes"]) is int and config.theory["max_bytes"] > 0
        assert 0 < config.report["threshold"] <= 1
    assert time.process_time() - started < 5


def test_ensemble_members_swapped_are_refused_by_seed(finished_ensemble, tmp_path):
    import torch

    from tnrnn.nn import TrainConfig, train_ensemble

    directory = tmp_path / "ens"
    shutil.copytree(finished_ensemble, directory)
    checkpoint = torch.load(directory / "ensemble.pt", weights_only=True)
    checkpoint["members"].reverse()
    torch.save(checkpoint, directory / "ensemble.pt")
    before = snapshot(directory)
    with pytest.raises(ValueError, match=r"member 0 \(seed 0\) of checkpoint .*ensemble.pt.* seed 1"):
        train_ensemble(TrainConfig(**TINY, steps=6, eval_every=2), [0, 1], directory, progress=False)
    assert snapshot(directory) == before


def test_metrics_of_two_histories_are_refused(finished_ensemble, tmp_path):
    """The issue's case: a member whose metrics read steps 10, 20, 10, 20, 30 (two restarts from step 0)."""
    from tnrnn.nn import TrainConfig, train_ensemble

    directory = tmp_path / "ens"
    shutil.copytree(finished_ensemble, directory)
    metrics = directory / "seed-1" / "metrics.jsonl"
    lines = metrics.read_text().splitlines()
    metrics.write_text("\n".join(lines + lines) + "\n")
    before = snapshot(directory)
    with pytest.raises(ValueError, match=r"seed-1/metrics.jsonl', line 3: step 2 after step 4"):
        train_ensemble(TrainConfig(**TINY, steps=6, eval_every=2), [0, 1], directory, progress=False)
    assert snapshot(directory) == before


@pytest.mark.parametrize("sigma_w, lags", [("1e308", "3"), ("3", "300")])
def test_linear_kernel_scales_beyond_float64_are_refused_not_nan(sigma_w, lags):
    code, out, err = in_process(["linear-kernel", "--sigma-w", sigma_w, "-n", "4", "-J", lags, "--json"])
    assert code == 2 and out == "" and "beyond float64" in err


def test_two_sweeps_on_one_store_count_only_what_each_stored(fake, monkeypatch):
    db = fake / "r.sqlite"
    monkeypatch.setenv("FAKE_OTHER_SWEEP", str(db))
    summary = run_sweep(fake_config(fake), db, progress=False)
    assert (summary.ran, summary.stored_elsewhere) == (0, 6)
    with ResultsStore(db) as store:
        assert {row["sweep"] for row in store.points()} == {"other"}


# --- 3. no crash, no traceback ------------------------------------------------------------------


def test_max_bytes_variable_is_parsed_as_the_flag():
    from tnrnn.guards import _env_max_bytes

    assert _env_max_bytes({"TNRNN_MAX_BYTES": "4G"}) == (4 * 2**30, None)
    assert _env_max_bytes({"TNRNN_MAX_BYTES": "1e9"}) == (10**9, None)
    assert _env_max_bytes({"TNRNN_MAX_BYTES": ""}) == (4 * 2**30, None)
    for bad in ("-5", "abc", "0", "1e400"):
        limit, error = _env_max_bytes({"TNRNN_MAX_BYTES": bad})
        assert limit == 4 * 2**30 and error.startswith(f"TNRNN_MAX_BYTES={bad!r}")


def test_a_bad_max_bytes_variable_never_crashes_at_import():
    done = tnrnn_child("--help", env=child_env(TNRNN_MAX_BYTES="4G-ish"))  # parsed at import: must not crash
    assert_promise(done.returncode, done.stderr, codes=(0,))
    assert "COMMAND" in done.stdout


def test_a_bad_max_bytes_variable_is_refused_unless_the_flag_replaces_it(monkeypatch):
    from tnrnn import guards

    limit, error = guards._env_max_bytes({"TNRNN_MAX_BYTES": "-5"})
    monkeypatch.setattr(guards, "DEFAULT_MAX_BYTES", limit)
    monkeypatch.setattr(guards, "ENV_ERROR", error)
    code, out, err = in_process(["rank", "-M", "2", "-R", "2", "-L", "2", "-T", "4", "--json"])
    assert code == 2 and out == "" and "TNRNN_MAX_BYTES='-5'" in err and "4G" in err
    code, out, err = in_process(["rank", "-M", "2", "-R", "2", "-L", "2", "-T", "4", "--max-bytes", "1G", "--json"])
    assert code == 0 and json.loads(out)["rank"] >= 1  # the flag replaces the variable
    assert guards.ENV_ERROR == error  # and the refusal is back for the next command
    with pytest.raises(ValueError, match="TNRNN_MAX_BYTES"):  # library guards refuse it too
        guards.check_bytes(10, "a tiny array")


def test_absurd_thread_counts_are_refused_and_large_ones_bounded(tmp_path):
    from tnrnn._threads import available_cpus
    from tnrnn._validation import check_threads

    code, _, err = in_process(["train", *TINY_FLAGS, "--steps", "2", "--threads", "1000000", "--out", tmp_path / "r"])
    assert code == 2 and "--threads must be an integer in [1," in err and not (tmp_path / "r").exists()
    notes = []
    assert check_threads(available_cpus() + 1, "--threads", note=notes.append) == available_cpus() and notes


SWEEP_BASE = 'name = "s"\n[sweep]\ntask = "ses"\nlength = 4\nword_length = 2\nsteps = 2\n'


@pytest.mark.parametrize("extra, expected", [
    ("hidden = 50000\n", "over the limit"),
    ("val_size = 1000000000\n", "over the limit"),
    ('device = "foo"\n', "not a torch device"),
    ('device = "cuda"\n', "CUDA is not available"),
    ('[run]\nrunner = "no_such_module_22:run"\n', "cannot import the runner module"),
    ("[run]\nworkers = inf\n", "'workers' must be an integer"),
    ("[run]\ncpus = inf\n", "'cpus' must be an integer"),
    ('[probe]\nlengths = [4]\ntolerance = "x"\n', "'tolerance' must be a finite number"),
])
def test_sweep_runs_trains_checks_for_every_point_before_the_first(tmp_path, extra, expected):
    if "cuda" in extra:
        import torch

        if torch.cuda.is_available():
            pytest.skip("CUDA is available here")
    config = tmp_path / "s.toml"
    config.write_text(SWEEP_BASE + extra)
    started = time.perf_counter()
    code, out, err = in_process(["sweep", config, "--db", tmp_path / "r.sqlite", "--no-progress"])
    assert code == 2 and expected in err and "Traceback" not in err, err
    assert time.perf_counter() - started < 30
    assert not (tmp_path / "r.sqlite.runs").exists()  # nothing trained


def test_probe_refuses_a_run_config_too_large_before_building_it(finished_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "hidden": 50000}))
    started = time.perf_counter()
    code, _, err = in_process(["probe", run, "-T", "4"])
    assert code == 2 and "config.json" in err and "over the limit" in err
    assert time.perf_counter() - started < 10


def _available_cpus() -> int:
    from tnrnn._threads import available_cpus

    return available_cpus()


#: A pool of two workers needs two usable CPUs (more workers than CPUs are lowered to them).
needs_two_cpus = pytest.mark.skipif(_available_cpus() < 2, reason="a two-worker pool needs two usable CPUs")


def _start_sweep(fake, workers=2, delay="0.6", **env):
    config = fake_config(fake, workers=workers)
    process = subprocess.Popen([sys.executable, "-m", "tnrnn", "sweep", str(config), "--db", str(fake / "r.sqlite"),
                                "--no-progress"], cwd=fake, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=child_env(FAKE_DELAY=delay, **env), start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and len(children_of(process.pid)) < 3:  # two workers and the resource tracker
        time.sleep(0.05)
    time.sleep(0.3)
    return process


@needs_two_cpus
@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT"])
def test_a_signal_stops_a_sweep_with_workers_leaving_no_process(fake, how):
    process = _start_sweep(fake)
    children = children_of(process.pid)
    assert len(children) >= 3, "the pool did not start"
    if how == "SIGTERM":
        process.send_signal(signal.SIGTERM)  # as `kill PID` or a job scheduler does: the parent only
    else:
        os.killpg(process.pid, signal.SIGINT)  # as Ctrl-C does: the whole foreground group
    _, err = process.communicate(timeout=CHILD_TIMEOUT)
    assert_promise(process.returncode, err, codes=(143 if how == "SIGTERM" else 130,))
    deadline = time.time() + 10
    while time.time() < deadline and any(alive(pid) for pid in children):
        time.sleep(0.1)
    assert not [pid for pid in children if alive(pid)], "orphaned workers or resource tracker"
    first = stored(fake / "r.sqlite") if (fake / "r.sqlite").exists() else {}
    summary = run_sweep(fake_config(fake), fake / "r.sqlite", progress=False)  # resumes, nothing lost
    assert summary.skipped == len(first) and summary.skipped + summary.ran == 6


@needs_two_cpus
def test_a_killed_worker_is_its_points_failure_retried_once(fake):
    env = child_env(FAKE_KILL_ALWAYS="2-4", FAKE_KILL_ONCE="3-6", FAKE_DELAY="0.1")
    config = fake_config(fake, workers=2)
    done = subprocess.run([sys.executable, "-m", "tnrnn", "sweep", str(config), "--db", str(fake / "r.sqlite"),
                           "--no-progress"], cwd=fake, capture_output=True, text=True, env=env, timeout=CHILD_TIMEOUT)
    assert_promise(done.returncode, done.stderr, codes=(2,))
    assert "BrokenProcessPool" not in done.stderr
    failed = [line for line in done.stderr.splitlines() if "failed:" in line]
    assert len(failed) == 1 and "died 2 times" in failed[0], done.stderr
    assert "1 of 6 points failed" in done.stderr
    rows = stored(fake / "r.sqlite")
    assert sorted((d, t) for d, t, _ in rows.values()) == [(1, 4), (1, 6), (2, 6), (3, 4), (3, 6)]


def test_a_point_that_raises_is_its_failure_and_the_sweep_goes_on(fake, monkeypatch, capsys):
    monkeypatch.setenv("FAKE_RAISE", "1-6")
    code, _, err = in_process(["sweep", fake_config(fake), "--db", fake / "r.sqlite", "--no-progress"])
    assert code == 2 and "this point cannot be trained" in err and "1 of 6 points failed" in err
    assert len(stored(fake / "r.sqlite")) == 5


def test_a_full_disk_during_a_checkpoint_save_is_named(tmp_path):
    out = tmp_path / "r"
    done = tnrnn_child("train", *TINY_FLAGS, "--steps", "4", "--eval-every", "2", "--out", out, limit=4000)
    assert_promise(done.returncode, done.stderr, codes=(2,))
    assert "checkpoint" in done.stderr and "checkpoint.pt" in done.stderr and "file-size limit" in done.stderr
    assert not temporaries(out)


WRONG_FILES = {
    "ensemble.pt holding a tensor": ("ensemble", "ensemble.pt", "tensor", "not a tnrnn ensemble checkpoint"),
    "checkpoint.pt without model": ("run", "checkpoint.pt", "no-model", "missing 'model'"),
    "metrics line [1, 2]": ("run", "metrics.jsonl", "[1, 2]", "expected a JSON object"),
    "metrics line without step": ("run", "metrics.jsonl", '{"loss": 1}', "integer 'step'"),
    "ensemble.json holding an array": ("ensemble", "ensemble.json", "[0, 1]", "ensemble manifest"),
    "config.json with a bad value": ("run", "config.json", "bad-value", "run config"),
}


@pytest.mark.parametrize("case", sorted(WRONG_FILES))
def test_well_formed_but_wrong_files_are_refused_by_name(finished_run, finished_ensemble, tmp_path, case):
    import torch

    from tnrnn.nn import TrainConfig, train, train_ensemble

    kind, name, content, expected = WRONG_FILES[case]
    directory = tmp_path / kind
    shutil.copytree(finished_run if kind == "run" else finished_ensemble, directory)
    target = directory / name
    if content == "tensor":
        torch.save(torch.zeros(3), target)
    elif content == "no-model":
        payload = torch.load(target, weights_only=True)
        del payload["model"]
        torch.save(payload, target)
    elif content == "bad-value":
        target.write_text(json.dumps({**json.loads(target.read_text()), "depth": -1}))
    elif name == "metrics.jsonl":
        lines = target.read_text().splitlines()
        target.write_text("\n".join(lines[:2] + [content] + lines[2:]) + "\n")
    else:
        target.write_text(content)
    before = snapshot(directory)
    config = TrainConfig(**TINY, steps=20 if kind == "run" else 4, eval_every=2)
    with pytest.raises(ValueError, match=expected) as error:
        if kind == "run":
            train(config, directory, progress=False)
        else:
            train_ensemble(config, [0, 1], directory, progress=False)
    assert name in str(error.value)
    assert snapshot(directory) == before
    if kind == "run" and name != "metrics.jsonl":  # probe reads the same files through the same checks
        code, _, err = in_process(["probe", directory, "-T", "4"])
        assert code == 2 and name in err


def test_report_reads_a_config_whose_runner_is_not_importable_here(small_store, tmp_path):
    config = tmp_path / "s.toml"
    config.write_text('[sweep]\ndepth = [1, 2]\n[run]\nrunner = "no_such_module_22:run"\n[report]\nthreshold = 0.7\n')
    code, out, err = in_process(["report", "--db", small_store, "--config", config, "--json"])
    assert code == 0 and json.loads(out)["threshold"] == 0.7, err
    with pytest.raises(ConfigError, match="cannot import the runner module"):  # but a sweep would not start
        load_config(config)


def test_a_store_row_no_sweep_writes_is_refused_by_report(small_store):
    with sqlite3.connect(small_store) as connection:
        connection.execute("UPDATE points SET accuracy = 9e999, test_accuracy = 9e999 WHERE point_id = 'p10'")
    connection.close()
    code, out, err = in_process(["report", "--db", small_store])
    assert code == 2 and "'p10'" in err and "column accuracy: inf is not a score in [0, 1]" in err
    assert out == ""


# --- 4. clear messages ----------------------------------------------------------------------------


def test_store_problems_are_named(tmp_path, monkeypatch):
    from tnrnn.experiments import store as store_module

    monkeypatch.setattr(store_module, "LOCK_TIMEOUT", 0.2)
    db = tmp_path / "locked.sqlite"
    ResultsStore(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(ValueError, match="locked by another process"):
            ResultsStore(db)
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    tables = tmp_path / "tables.sqlite"
    with sqlite3.connect(tables) as connection:
        connection.execute("CREATE TABLE schema_version (version INTEGER, created TEXT)")
        connection.execute(f"INSERT INTO schema_version VALUES ({store_module.SCHEMA_VERSION}, 'x')")
    connection.close()
    before = tables.read_bytes()
    with pytest.raises(ValueError, match=r"tables.sqlite' says schema version \d+ but has no table 'points'"):
        ResultsStore(tables)
    assert tables.read_bytes() == before

    version = tmp_path / "version.sqlite"
    with sqlite3.connect(version) as connection:
        connection.execute("CREATE TABLE schema_version (version INTEGER, created TEXT)")
        connection.execute("INSERT INTO schema_version VALUES ('abc', 'x')")
    connection.close()
    with pytest.raises(ValueError, match=r"version.sqlite' was written by results schema version 'abc'"):
        ResultsStore(version)


def test_a_db_name_too_long_is_refused_and_leaves_no_file(fake):
    db = fake / ("a" * 243 + ".sqlite")  # 250 bytes: allowed alone, not with SQLite's "-journal" beside it
    code, _, err = in_process(["sweep", fake_config(fake), "--db", db])
    assert code == 2 and "file name is" in err
    assert not db.exists()


def test_a_non_utf8_db_path_is_shown_not_fatal(fake):
    db = os.fsdecode(str(fake).encode() + b"/r\xff.sqlite")
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding="utf-8")  # strict, as a UTF-8 terminal's stdout
    err = io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(err):
        code = main(["sweep", str(fake_config(fake)), "--db", db, "--no-progress"])
    stdout.flush()
    assert_promise(code, err.getvalue(), codes=(0,))
    assert "6 run now" in raw.getvalue().decode() and "\\xff" in raw.getvalue().decode()
    assert len(stored(Path(db))) == 6


def test_huge_seeds_are_refused_before_any_file(tmp_path):
    code, _, err = in_process(["train", *TINY_FLAGS, "--seeds", "0", "18446744073709551616", "--out", tmp_path / "r"])
    assert code == 2 and "below 2**63" in err and "Overflow" not in err
    assert not (tmp_path / "r").exists()


def test_a_bad_explicit_partition_is_explained():
    code, _, err = in_process(["rank", "-M", "2", "-R", "2", "-L", "1", "-T", "4", "--partition", "S:0,1/E:2,3/E:1"])
    assert code == 2 and "one S: part and one /E: part" in err


def test_report_on_an_empty_store_answers_the_same_with_or_without_figures(tmp_path):
    db = tmp_path / "empty.sqlite"
    ResultsStore(db).close()
    plain = in_process(["report", "--db", db])
    figures = in_process(["report", "--db", db, "--out", tmp_path / "figs"])
    assert plain[0] == figures[0] == 2 and "no finished points" in plain[2] and "no finished points" in figures[2]
    assert not list((tmp_path / "figs").glob("*.png"))


# --- 5. quick refusals ----------------------------------------------------------------------------


def test_huge_seed_lists_are_refused_at_once(tmp_path):
    config = tmp_path / "s.toml"
    config.write_text(SWEEP_BASE.replace("steps = 2\n", "steps = 2\ndepth = [1, 2, 3, 4, 5]\n")
                      + f"seed = {list(range(20_000))}\n")
    started = time.perf_counter()
    code, _, err = in_process(["sweep", config, "--db", tmp_path / "r.sqlite", "--check"])
    assert code == 2 and "100,000 points" in err
    config.write_text(SWEEP_BASE + f"seed = {list(range(10**6))}\n")  # the case: 10^6 seeds
    code, _, err = in_process(["sweep", config, "--db", tmp_path / "r.sqlite", "--check"])
    assert code == 2 and "characters; a sweep config is a few lines" in err
    seeds = [str(s) for s in range(20_000)]
    code, _, err = in_process(["train", *TINY_FLAGS, "--steps", "2", "--seeds", *seeds, "--out", tmp_path / "r"])
    assert code == 2 and "20,000 seeds" in err and not (tmp_path / "r").exists()
    assert time.perf_counter() - started < 15


def test_a_hundred_thousand_draws_are_refused_at_once():
    """The issue's case: predicted at 48 s and accepted, at about 80 ms a draw (hours)."""
    started = time.process_time()
    code, out, err = in_process(["rank", "-M", "3", "-R", "3", "-L", "2", "-T", "8", "--prime", "2",
                                 "--draws", "100000", "--json"])
    assert code == 2 and out == "" and "100,000 draws" in err and "--max-seconds" in err
    assert time.process_time() - started < 5


# --- generated corruptions of run files and stores ----------------------------------------------------

RUN_FILES = ["config.json", "metrics.jsonl", "checkpoint.pt", "checkpoint.pt"]
ENSEMBLE_FILES = ["ensemble.json", "ensemble.pt", "seed-0/metrics.jsonl", "seed-1/config.json"]
json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-5, 2**70), st.floats(), st.text(max_size=5)),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                           max_leaves=6)


def _corrupt(path: Path, how: str, data: st.DataObject) -> None:
    content = path.read_bytes()
    if how == "truncate":
        path.write_bytes(content[:data.draw(st.integers(0, max(len(content) - 1, 0)))])
    elif how == "flip":
        position = data.draw(st.integers(0, len(content) - 1))
        path.write_bytes(content[:position] + bytes([content[position] ^ 0xFF]) + content[position + 1:])
    elif how == "json":
        path.write_text(json.dumps(data.draw(json_values)))
    elif how == "field" and path.suffix == ".json":
        obj = json.loads(content)
        if isinstance(obj, dict) and obj:
            obj[data.draw(st.sampled_from(sorted(obj)))] = data.draw(json_values)
        path.write_text(json.dumps(obj))
    elif how == "field" and path.suffix == ".pt":  # one entry, at any depth, replaced by a value of another kind
        import torch

        obj = torch.load(path, weights_only=True)
        parent, key = None, None
        node = obj
        for _ in range(data.draw(st.integers(1, 4))):
            keys = sorted(node, key=str) if isinstance(node, dict) else list(range(len(node))) \
                if isinstance(node, list) else []
            if not keys:
                break
            parent, key = node, data.draw(st.sampled_from(keys))
            node = parent[key]
        if parent is not None:
            parent[key] = data.draw(st.sampled_from([None, 3, -1, 2.5, "x", [], {}, {"step": "x"}, torch.zeros(2),
                                                     torch.zeros(3, dtype=torch.uint8)]))
        torch.save(obj, path)
    else:  # a JSON-lines or binary file: a line of generated JSON inserted
        lines = content.split(b"\n")
        lines.insert(data.draw(st.integers(0, len(lines))), json.dumps(data.draw(json_values)).encode())
        path.write_bytes(b"\n".join(lines))


@fault_settings()
@given(ensemble=st.booleans(), data=st.data(),
       how=st.sampled_from(["truncate", "flip", "json", "field", "insert"]))
def test_corrupted_run_files_are_refused_by_name_or_resume_correctly(finished_run, finished_ensemble, ensemble,
                                                                      data, how):
    from tnrnn.nn import TrainConfig, load_run, train, train_ensemble

    name = data.draw(st.sampled_from(ENSEMBLE_FILES if ensemble else RUN_FILES))
    with tempfile.TemporaryDirectory() as base:
        directory = Path(base) / "run"
        shutil.copytree(finished_ensemble if ensemble else finished_run, directory)
        _corrupt(directory / name, how, data)
        before = snapshot(directory)
        config = TrainConfig(**TINY, steps=4 if ensemble else 20, eval_every=2)
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                if ensemble:
                    summary = train_ensemble(config, [0, 1], directory, progress=False)["members"][0]
                else:
                    summary = train(config, directory, progress=False)
                    load_run(directory)
        except ValueError as error:  # refused: by the name of a file, nothing changed
            assert any(part in str(error) for part in (name.split("/")[-1], "out_dir", str(directory))), error
            assert snapshot(directory) == before
        else:  # accepted: a complete run, its history the complete lines it had, in order
            assert summary["steps"] == config.steps
            member = "seed-0/" if ensemble else ""
            lines = (directory / f"{member}metrics.jsonl").read_text().splitlines()
            assert lines == before[f"{member}metrics.jsonl"].decode(errors="replace").splitlines()[:len(lines)]
            steps = [json.loads(line)["step"] for line in lines]
            assert steps == sorted(set(steps)) and all(0 < step <= config.steps for step in steps)
        assert not temporaries(directory)
        probed = directory / ("seed-1" if ensemble else "")
        code, _, err = in_process(["probe", probed, "-T", "4", "--json"])  # probe reads them the same way
        assert_promise(code, err)


POINT_COLUMNS = ["accuracy", "test_accuracy", "depth", "length", "hidden", "seed", "result", "task", "cell",
                 "budget", "theory_lower", "theory_upper", "steps_trained", "free_parameters", "parameters"]
PROBE_COLUMNS = ["rank", "spectrum", "theory_lower", "theory_upper", "templates", "effective_rank", "route"]
sql_values = st.one_of(st.none(), st.integers(-2**63, 2**63 - 1), st.floats(), st.text(max_size=6),
                       st.binary(max_size=4), st.sampled_from(["[1.0, 0.5]", "{}", "[]", "~1e+99", "9" * 30]))


@fault_settings()
@given(table=st.sampled_from(["points", "probes"]), data=st.data(), value=sql_values)
def test_corrupted_store_rows_give_a_report_or_a_refusal_never_a_traceback(small_store, table, data, value):
    column = data.draw(st.sampled_from(POINT_COLUMNS if table == "points" else PROBE_COLUMNS))
    with tempfile.TemporaryDirectory() as base:
        db = Path(base) / "r.sqlite"
        shutil.copy(small_store, db)
        with sqlite3.connect(db) as connection:
            connection.execute(f"UPDATE {table} SET {column} = ? WHERE point_id = 'p10'", (value,))
        connection.close()
        before = db.read_bytes()
        code, out, err = in_process(["report", "--db", db, "--json"])
        assert_promise(code, err)
        if code == 0:
            assert json.loads(out)["points"] == 4
        else:
            assert str(db) in err or "p10" in err, err
        assert db.read_bytes() == before
