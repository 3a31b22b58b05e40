"""Sweeps: config validation, the SQLite store, resume after kill -9, process pool and Ray executors."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tnrnn._runfiles import read_metrics
from tnrnn.experiments import SCHEMA_VERSION, ConfigError, ResultsStore, load_config, run_sweep

REPO = Path(__file__).resolve().parents[1]

FAKE_RUNNER = '''
"""A point runner for the tests: 'trains' for `steps` steps, checkpointing each, deterministically."""
import json, os, time
from pathlib import Path


def run(payload):
    run_dir, params = Path(payload["run_dir"]), payload["train"]
    state = run_dir / "progress.json"
    done = json.loads(state.read_text())["step"] if state.exists() else 0
    log = Path(os.environ["FAKE_LOG"])
    for step in range(done, params["steps"]):
        time.sleep(float(os.environ.get("FAKE_DELAY", "0")))
        # log before checkpointing: a kill in between redoes (and re-logs) the step, never loses it
        with open(log, "a") as handle:
            handle.write(f"step {payload['point_id']} {step}\\n")
        tmp = run_dir / "progress.tmp"
        tmp.write_text(json.dumps({"step": step + 1}))
        os.replace(tmp, state)
    accuracy = (10 * params["depth"] + params["length"]) / 100
    return {"summary": {"accuracy": accuracy, "final_loss": 1 - accuracy, "parameters": 7 * params["depth"]},
            "probes": [{"length": 4, "partition": "start-end", "route": "model", "method": "dense",
                        "rank": params["depth"] * params["length"], "spectrum": [1.0, 0.5]}]}
'''


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """Write the fake runner module, put it on the path (here and in child processes)."""
    (tmp_path / "fake_runner.py").write_text(FAKE_RUNNER)
    monkeypatch.syspath_prepend(str(tmp_path))
    path = os.pathsep.join([str(tmp_path), str(REPO), os.environ.get("PYTHONPATH", "")])
    monkeypatch.setenv("PYTHONPATH", path)
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "log.txt"))
    return tmp_path


def fake_config(directory: Path, *, steps=2, depths=(1, 2, 3), lengths=(4, 6), extra="") -> Path:
    path = directory / "sweep.toml"
    path.write_text(textwrap.dedent(f"""\
        name = "fake"
        [sweep]
        depth = {list(depths)}
        length = {list(lengths)}
        steps = {steps}
        [run]
        runner = "fake_runner:run"
        {extra}
        """))
    return path


def table(db) -> list[tuple]:
    with ResultsStore(db) as store:
        points = [tuple(v for k, v in row.items() if k not in ("seconds", "finished"))
                  for row in store.points()]
        probes = [tuple(row.values()) for row in store.probes(spectrum=True)]
    return points + probes


def log_lines(directory: Path) -> list[str]:
    log = directory / "log.txt"
    return log.read_text().split("\n")[:-1] if log.exists() else []


# --- config -------------------------------------------------------------------------------


def test_lists_are_crossed_and_scalars_fixed(fake):
    config = load_config(fake_config(fake))
    assert [(p.params["depth"], p.params["length"]) for p in config.points] == [
        (1, 4), (1, 6), (2, 4), (2, 6), (3, 4), (3, 6)]
    assert all(p.params["steps"] == 2 for p in config.points)
    assert len({p.point_id for p in config.points}) == 6


@pytest.mark.parametrize("text, line, reason", [
    ('[sweep]\ntask = "ses"\nlength = 4\ndepht = [1, 2]\n', 4, "unknown key 'depht'"),
    ('[sweep]\ntask = "ses"\nlength = 4\n\n[probe]\nlenghts = [4]\n', 6, "unknown key 'lenghts'"),
    ('[sweep]\ntask = "ses"\nlength = 4\n[sweeep]\nx = 1\n', 4, "unknown top-level key or table 'sweeep'"),
    ('[sweep]\ntask = "ses"\nlength = 4\nhidden = 8\nbudget = 500\n', 5, "either 'hidden' or"),
    ('[sweep]\ntask = "ses"\nlength = 4\ndepth = []\n', 4, "empty list"),
    ('[sweep]\ntask = "ses"\nlength = 4\ndepth = [1, 1]\n', 4, "twice"),
    ('[sweep]\nlength = 4\n', 1, "needs a 'task'"),
    ('[sweep]\ntask = "ses"\nlength = 4\n[run]\nexecutor = "slurm"\n', 5, "local or ray"),
    ('[sweep]\ntask = "ses"\nlength = 4\n[probe]\nlengths = [4, 1]\n', 5, "integers >= 2"),
    ('[sweep]\ntask = "ses"\nlength = 4\n[report]\nthreshold = 1.5\n', 5, "threshold"),
])
def test_bad_configs_name_the_line_and_reason(text, line, reason):
    with pytest.raises(ConfigError) as error:
        load_config(text=text)
    assert f"<config>:{line}:" in str(error.value)
    assert reason in str(error.value)


def test_invalid_toml_and_missing_sweep_are_rejected(tmp_path):
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(text="[sweep\n")
    with pytest.raises(ConfigError, match="needs a \\[sweep\\] table"):
        load_config(text='name = "x"\n')
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


def test_impossible_training_points_are_rejected_before_running(tmp_path):
    # an odd Start-End length for one of the crossed points: rejected, naming the point
    with pytest.raises(ConfigError, match=r"<config>:\d+: \[sweep\] point \(length=5\)"):
        load_config(text='[sweep]\ntask = "ses"\nlength = [4, 5]\nsteps = 1\n')
    # probe lengths that the partition cannot split
    with pytest.raises(ConfigError, match="<config>:6: \\[probe\\] probe length 3"):
        load_config(text='[sweep]\ntask = "ses"\nlength = 4\nsteps = 1\n[probe]\nlengths = [2, 3]\n')
    with pytest.raises(ConfigError, match="outside the alphabet"):
        load_config(text='[sweep]\ntask = "ses"\nlength = 4\nsteps = 1\n[probe]\nlengths = [2]\n'
                         'symbols = [0, 99]\n')
    with pytest.raises(ConfigError, match="no symbol alphabet"):
        load_config(text='[sweep]\ntask = "adding"\nlength = 4\nsteps = 1\n[probe]\nlengths = [2]\n')
    db = tmp_path / "never.sqlite"
    with pytest.raises(ConfigError):
        run_sweep(tmp_path / "missing.toml", db)
    assert not db.exists()


def test_budget_resolves_hidden_width_per_depth():
    from tnrnn.nn import make_task, width_for_budget

    task = make_task("ses", 4)
    config = load_config(text='[sweep]\ntask = "ses"\nlength = 4\ncell = "rac"\ndepth = [1, 2, 3]\n'
                              'budget = 3000\nsteps = 1\n')
    widths = [p.train["hidden"] for p in config.points]
    assert widths == [width_for_budget("rac", d, 3000, task.input_size, task.output_size) for d in (1, 2, 3)]
    assert widths[0] > widths[1] > widths[2]


# --- store ----------------------------------------------------------------------------------


def test_store_refuses_other_schema_versions_and_foreign_files(tmp_path):
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, created TEXT)")
        connection.execute("INSERT INTO schema_version VALUES (?, 'x')", (SCHEMA_VERSION + 1,))
    connection.close()
    before = other.read_bytes()
    with pytest.raises(ValueError, match=f"schema version {SCHEMA_VERSION + 1}.*not modified"):
        ResultsStore(other)
    assert other.read_bytes() == before
    foreign = tmp_path / "notes.sqlite"
    foreign.write_text("not a database, just text that happens to be here\n" * 10)
    before = foreign.read_bytes()
    with pytest.raises(ValueError, match="not a tnrnn results store"):
        ResultsStore(foreign)
    assert foreign.read_bytes() == before


def test_store_writes_each_point_in_one_transaction(tmp_path):
    db = tmp_path / "r.sqlite"
    with ResultsStore(db) as store:
        store.record("a", "s", {"depth": 1}, {"probes": [{"length": 4, "partition": "start-end",
                                                          "route": "model", "rank": 3}]}, 1.0)
        # a duplicate probe row makes the whole second point fail: nothing of it is stored
        bad = {"probes": [{"length": 4, "partition": "p", "route": "m"}] * 2}
        with pytest.raises(sqlite3.IntegrityError):
            store.record("b", "s", {"depth": 2}, bad, 1.0)
        assert store.finished_ids() == {"a"}
        assert [r["rank"] for r in store.probes()] == [3]
        # a point stored twice (two sweep processes on one store) is kept once
        assert not store.record("a", "s", {"depth": 5}, {}, 2.0)
        assert [r["depth"] for r in store.points()] == [1]
        # closed-form ranks beyond 64 bits are kept exactly
        huge = 33**40
        store.record("c", "s", {"depth": 3}, {"theory_task": {"lower": 1, "upper": huge}}, 1.0)
        assert [int(r["theory_upper"]) for r in store.points() if r["point_id"] == "c"] == [huge]
        csv_path = store.to_csv(tmp_path / "points.csv")
    assert csv_path.read_text().splitlines()[0].startswith("point_id,sweep,train_id,task,cell,depth")


# --- executors and resume -------------------------------------------------------------------


def test_rerun_skips_finished_points(fake):
    config = fake_config(fake)
    db = fake / "r.sqlite"
    first = run_sweep(config, db, progress=False)
    assert (first.total, first.skipped, first.ran) == (6, 0, 6)
    again = run_sweep(config, db, progress=False)
    assert (again.skipped, again.ran) == (6, 0)
    assert sum(line.startswith("step") for line in log_lines(fake)) == 6 * 2
    # widening the sweep runs only the new points
    wider = run_sweep(fake_config(fake, depths=(1, 2, 3, 4)), db, progress=False)
    assert (wider.skipped, wider.ran) == (6, 2)


def test_sweep_killed_mid_way_resumes_to_the_uninterrupted_table(fake):
    reference_dir = fake / "reference"
    reference_dir.mkdir()
    run_sweep(fake_config(reference_dir, steps=4), reference_dir / "r.sqlite", progress=False)
    os.remove(fake / "log.txt")

    config = fake_config(fake, steps=4)
    db = fake / "r.sqlite"
    process = subprocess.Popen([sys.executable, "-m", "tnrnn", "sweep", str(config), "--db", str(db),
                                "--no-progress"], cwd=fake, env={**os.environ, "FAKE_DELAY": "0.15"})
    deadline = time.time() + 60
    stored = 0
    while time.time() < deadline and process.poll() is None:
        if db.exists():
            with ResultsStore(db) as store:
                stored = len(store.finished_ids())
            if stored >= 1:
                break
        time.sleep(0.05)
    time.sleep(0.3)  # into the next point's training
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the sweep finished before it could be killed"
    with ResultsStore(db) as store:
        before = store.finished_ids()
    assert 1 <= len(before) < 6
    steps_before = log_lines(fake)

    summary = run_sweep(config, db, progress=False)
    assert summary.skipped == len(before) and summary.ran == 6 - len(before)
    assert table(db) == table(reference_dir / "r.sqlite")
    steps_after = log_lines(fake)[len(steps_before):]
    # finished points never ran again; the interrupted one resumed from its checkpoint
    assert not any(line.split()[1] in before for line in steps_after)
    for point in {line.split()[1] for line in steps_before + steps_after}:
        assert sorted({int(line.split()[2]) for line in steps_before + steps_after
                       if line.split()[1] == point}) == [0, 1, 2, 3]
    assert len(steps_before) + len(steps_after) <= 6 * 4 + 1


def test_process_pool_gives_the_same_table(fake):
    serial, pooled = fake / "serial.sqlite", fake / "pooled.sqlite"
    run_sweep(fake_config(fake), serial, progress=False)
    (fake / "other").mkdir()
    summary = run_sweep(fake_config(fake / "other"), pooled, workers=2, progress=False)
    assert summary.ran == 6
    assert table(serial) == table(pooled)


def test_ray_executor_runs_a_two_point_sweep(fake):
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'tnrnn[ray]')")
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        config = fake_config(fake, depths=(1, 2), lengths=(4,), extra="cpus = 1")
        summary = run_sweep(config, fake / "ray.sqlite", executor="ray", progress=False)
    finally:
        ray.shutdown()
    assert (summary.total, summary.ran) == (2, 2)
    (fake / "local").mkdir()
    run_sweep(fake_config(fake / "local", depths=(1, 2), lengths=(4,), extra="cpus = 1"),
              fake / "local.sqlite", progress=False)
    assert table(fake / "ray.sqlite") == table(fake / "local.sqlite")


def test_cli_sweep_check_and_csv(fake, capsys):
    from tnrnn.cli import main

    config = fake_config(fake)
    assert main(["sweep", str(config), "--db", str(fake / "r.sqlite"), "--check"]) == 0
    assert "6 points; config OK" in capsys.readouterr().out
    assert not (fake / "r.sqlite").exists()
    assert main(["sweep", str(config), "--db", str(fake / "r.sqlite"), "--csv", str(fake / "p.csv"),
                 "--no-progress"]) == 0
    assert len((fake / "p.csv").read_text().splitlines()) == 7
    bad = fake / "bad.toml"
    bad.write_text('[sweep]\ntask = "ses"\nlength = 4\nwidth = 3\n')
    assert main(["sweep", str(bad), "--db", str(fake / "x.sqlite")]) == 2
    assert "bad.toml:4: [sweep] unknown key 'width'" in capsys.readouterr().err
    json.dumps(load_config(config).probe)


# --- the real runner: train, probe, theory -------------------------------------------------

REAL = """\
name = "real"
[sweep]
task = "ses"
length = 4
cell = "rac"
depth = [1, 2]
budget = 300
steps = {steps}
eval_every = 5
batch_size = 8
val_size = 16
[probe]
lengths = [2, 4]
symbols = [1, 2]
output_index = 2
"""


def test_real_sweep_stores_training_probe_and_theory(tmp_path):
    config = tmp_path / "real.toml"
    config.write_text(REAL.format(steps=5))
    db = tmp_path / "real.sqlite"
    assert run_sweep(config, db, progress=False).ran == 2
    with ResultsStore(db) as store:
        points, probes = store.points(), store.probes()
    assert [p["depth"] for p in points] == [1, 2]
    assert all(p["steps"] == 5 and 0 <= p["accuracy"] <= 1 and p["parameters"] <= 300 for p in points)
    assert all(p["theory_lower"] <= p["theory_upper"] for p in points)
    assert len(probes) == 2 * 2 * 2  # points x probe lengths x routes (model, rac)
    for model_row, rac_row in zip(probes[::2], probes[1::2]):
        assert (model_row["route"], rac_row["route"]) == ("model", "rac")
        assert model_row["rank"] == rac_row["rank"]
        # a float rank of particular weights never exceeds the generic rank (here certified)
        assert model_row["theory_certified"] and model_row["rank"] <= model_row["theory_rank"]
    from tnrnn.cli import main

    assert main(["report", "--db", str(db), "--out", str(tmp_path / "figs"), "--prefix", "fig", "--markdown",
                 str(tmp_path / "r.md")]) == 0
    assert (tmp_path / "figs" / "fig_accuracy.png").stat().st_size > 1000
    assert (tmp_path / "figs" / "fig_ranks.png").stat().st_size > 1000
    assert "| ses | rac | 2 |" in (tmp_path / "r.md").read_text()


def test_real_sweep_killed_mid_training_resumes_to_the_same_table(tmp_path):
    reference = tmp_path / "reference"
    reference.mkdir()
    (reference / "real.toml").write_text(REAL.format(steps=100))
    run_sweep(reference / "real.toml", reference / "r.sqlite", progress=False)

    config, db = tmp_path / "real.toml", tmp_path / "r.sqlite"
    config.write_text(REAL.format(steps=100))
    process = subprocess.Popen([sys.executable, "-m", "tnrnn", "sweep", str(config), "--db", str(db),
                                "--no-progress"], cwd=tmp_path, stderr=subprocess.DEVNULL)
    second = None
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        runs = list((tmp_path / "r.sqlite.runs").glob("*/seed-*/checkpoint.pt"))
        if db.exists() and len(runs) == 2:  # first point stored, second one half-trained
            with ResultsStore(db) as store:
                if len(store.finished_ids()) == 1:
                    second = runs
                    break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert second is not None and process.returncode == -signal.SIGKILL, "could not kill mid-way"
    summary = run_sweep(config, db, progress=False)
    assert (summary.skipped, summary.ran) == (1, 1)
    assert table(db) == table(reference / "r.sqlite")


SEEDED = """\
name = "seeded"
[sweep]
task = "ses"
length = [4, 6]
word_length = 2
cell = "modrelu"
orthogonal = "scaled_cayley"
depth = 1
hidden = 4
seed = [0, 1, 2]
steps = 4
eval_every = 2
batch_size = 8
val_size = 16
test_size = 16
[probe]
task_pairs = 6
output_index = 2
[report]
threshold = 0.34
"""


def test_points_differing_by_seed_train_as_one_ensemble(tmp_path):
    from tnrnn.nn import TrainConfig, member_dir, train

    config = tmp_path / "seeded.toml"
    config.write_text(SEEDED)
    db = tmp_path / "s.sqlite"
    assert run_sweep(config, db, progress=False).ran == 6
    ensembles = sorted((tmp_path / "s.sqlite.runs").iterdir())
    assert len(ensembles) == 2  # one per length
    with ResultsStore(db) as store:
        points = store.points(full=True)
    assert sorted((p["length"], p["seed"]) for p in points) == [(t, s) for t in (4, 6) for s in (0, 1, 2)]
    for point in points:  # each row is its seed's own run, the same as that seed trained alone
        result = json.loads(point["result"])
        assert result["task_probe"]["pairs"] == 6 and len(result["curve"]) == 2
        options = {k: v for k, v in json.loads(point["params"]).items() if k != "budget"}
        alone = train(TrainConfig.from_dict(options), tmp_path / f"alone-{point['point_id']}", progress=False)
        assert alone["final_loss"] == pytest.approx(point["final_loss"], rel=1e-5)
        assert point["test_accuracy"] == pytest.approx(alone["test_accuracy"], abs=1e-6)
    ensemble_dir = next(d for d in ensembles if json.loads((d / "ensemble.json").read_text())["config"]["length"] == 4)
    assert all(member_dir(ensemble_dir, s).is_dir() for s in (0, 1, 2))


def test_report_honours_the_config_threshold(tmp_path, capsys):
    from tnrnn.cli import main

    config = tmp_path / "seeded.toml"
    config.write_text(SEEDED)
    db = tmp_path / "s.sqlite"
    run_sweep(config, db, progress=False)
    assert main(["report", "--db", str(db), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "accuracy >= 0.34" in out and "more than half of its seeds" in out
    assert main(["report", "--db", str(db), "--config", str(config), "--threshold", "0.99", "--rule", "all"]) == 0
    assert "accuracy >= 0.99" in capsys.readouterr().out


@pytest.mark.parametrize("solved, expected", [
    ({8: False, 16: False, 24: True}, None),   # a long length solved alone does not count
    ({24: True, 48: True, 96: False, 144: True}, 48),
    ({24: True, 48: True}, 48),
    ({}, None),
])
def test_longest_solved_needs_every_shorter_length(solved, expected):
    from tnrnn.experiments.report import longest_solved

    assert longest_solved(solved) == expected


def test_solved_rule_counts_seeds(tmp_path):
    from tnrnn.experiments.report import length_rows, summary_rows

    with ResultsStore(tmp_path / "r.sqlite") as store:
        accuracies = {8: [0.9, 0.9, 0.2], 16: [0.9, 0.1, 0.1], 24: [0.95, 0.95, 0.95]}
        for length, values in accuracies.items():
            for seed, acc in enumerate(values):
                store.record(f"{length}-{seed}", "s", {"task": "ses", "cell": "rac", "depth": 2, "length": length,
                                                       "hidden": 8, "seed": seed},
                             {"summary": {"test_accuracy": acc, "accuracy": 0.0}}, 0.0)
        rows = {r["length"]: r for r in length_rows(store, 0.85)}
        assert [rows[t]["reached"] for t in (8, 16, 24)] == [2, 1, 3]
        assert [rows[t]["solved"] for t in (8, 16, 24)] == [True, False, True]
        assert rows[8]["scored_on"] == "test" and rows[8]["low"] <= rows[8]["mean"] <= rows[8]["high"]
        assert summary_rows(store, 0.85)[0]["longest_solved"] == 8
        assert summary_rows(store, 0.85, rule="any")[0]["longest_solved"] == 24
        assert summary_rows(store, 0.85, rule="all")[0]["longest_solved"] is None


def test_shipped_configs_validate():
    """Every config shipped with the package loads and resolves its points (the GPU one included)."""
    configs = sorted((REPO / "tnrnn" / "experiments" / "configs").glob("*.toml"))
    assert {p.name for p in configs} >= {"ses_depth.toml", "copying_depth.toml", "ses_depth_paper.toml"}
    for path in configs:
        config = load_config(path)
        assert config.points, path
        seeds = {p.train["seed"] for p in config.points}
        assert len(seeds) >= 5, f"{path.name}: a claim about depth needs at least 5 seeds per point"
    paper = load_config(REPO / "tnrnn" / "experiments" / "configs" / "ses_depth_paper.toml")
    assert {p.train["device"] for p in paper.points} == {"cuda"}
    assert {(p.train["word_length"], p.train["hidden"], p.train["batch_size"], p.train["steps"])
            for p in paper.points} == {(30, 64, 128, 50000)}


EXTENDED = """\
name = "extended"
[sweep]
task = "ses"
length = 6
word_length = 2
cell = "modrelu"
orthogonal = "scaled_cayley"
depth = [1, 2]
hidden = 4
seed = [0, 1]
steps = {steps}
eval_every = 3
batch_size = 8
val_size = 16
test_size = 16
"""


@pytest.fixture
def extend_sweep(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "tools"))
    import extend_sweep

    return extend_sweep


def test_a_sweep_continued_to_a_larger_cap_equals_one_run_to_it_from_the_start(tmp_path, extend_sweep):

    for name, steps in (("short", 6), ("long", 12), ("reference", 12)):
        (tmp_path / f"{name}.toml").write_text(EXTENDED.format(steps=steps))
    run_sweep(tmp_path / "short.toml", tmp_path / "short.sqlite", progress=False)
    run_sweep(tmp_path / "reference.toml", tmp_path / "reference.sqlite", progress=False)
    paths = [str(tmp_path / name) for name in ("short.toml", "short.sqlite", "long.toml", "long.sqlite")]
    assert extend_sweep.main(paths) == 0
    copied = sorted((tmp_path / "long.sqlite.runs").iterdir())
    assert len(copied) == 2 and all((d / "ensemble.pt").exists() for d in copied)
    assert extend_sweep.main(paths) == 0  # run again: the copies are kept, not replaced
    assert sorted((tmp_path / "long.sqlite.runs").iterdir()) == copied

    run_sweep(tmp_path / "long.toml", tmp_path / "long.sqlite", progress=False)
    assert table(tmp_path / "long.sqlite") == table(tmp_path / "reference.sqlite")
    for directory in copied:  # every member resumed at step 6, and its history is the uninterrupted one
        for member in sorted(directory.glob("seed-*")):
            reference = tmp_path / "reference.sqlite.runs" / directory.name / member.name
            lines, clean = read_metrics(member / "metrics.jsonl")
            assert clean and [line["step"] for line in lines] == [3, 6, 9, 12]
            assert [line["val_loss"] for line in lines] == \
                [line["val_loss"] for line in read_metrics(reference / "metrics.jsonl")[0]]


@pytest.mark.parametrize("old_steps, change, expect", [
    (6, ("hidden = 4", "hidden = 5"), "matches 0 ensembles"),  # other networks
    (6, ("eval_every = 3", "eval_every = 2"), "matches 0 ensembles"),  # would evaluate at other steps
    (5, None, "multiple of eval_every"),  # the old run evaluated at its cap, 5; a 12-step run would not have
    (15, None, "at least the old one"),
])
def test_extending_a_sweep_refuses_what_would_change_the_runs(tmp_path, capsys, extend_sweep, old_steps, change,
                                                                 expect):
    new = EXTENDED.format(steps=12)
    (tmp_path / "old.toml").write_text(EXTENDED.format(steps=old_steps))
    (tmp_path / "new.toml").write_text(new.replace(*change) if change else new)
    paths = [str(tmp_path / name) for name in ("old.toml", "old.sqlite", "new.toml", "new.sqlite")]
    with pytest.raises(ValueError, match=expect):
        extend_sweep.plan_copies(*paths)
    assert extend_sweep.main(paths) == 2 and expect in capsys.readouterr().err
    assert not (tmp_path / "new.sqlite.runs").exists()
