"""Every option of every command that names a path, and the no-overwrite rule for each one that writes.

The walk over the parsers finds every option whose value is free text (a path or a name):
each must be listed in :data:`ROLES`, so a new path option cannot be added without saying
what it is; every option that writes a file a user may already have is run here against an
existing file: refused without ``--force`` (naming the command, the flag, the path and
``--force``, before any work: nothing else is written and the old file is byte-identical),
and replaced with ``--force``.
"""

from __future__ import annotations

import argparse
import json
import os
import textwrap
from pathlib import Path

import pytest

from tnrnn.cli import COMMANDS, build_parser, main

REPO = Path(__file__).resolve().parents[1]

#: What every free-text option is: ``replaced`` (writes a file that may exist: the rule of
#: :mod:`tnrnn._outputs`, run below), ``resumed`` (a run directory or store that is continued,
#: never replaced), ``read`` (an input) or ``name`` (a value that is not a path).
ROLES: dict[tuple[str, str], str] = {
    ("draw", "--plot"): "replaced", ("draw", "--out"): "replaced",
    ("rank", "--plot"): "replaced",
    ("demo", "--plot"): "replaced", ("demo", "--out"): "replaced",
    ("compare", "--plot"): "replaced",
    ("depth-table", "--plot"): "replaced", ("depth-table", "--out"): "replaced",
    ("report", "--out"): "replaced", ("report", "--markdown"): "replaced", ("report", "--csv"): "replaced",
    ("sweep", "--csv"): "replaced",
    ("reproduce", "--out"): "replaced",
    ("timescale", "--out"): "replaced",
    ("train", "--out"): "resumed", ("sweep", "--db"): "resumed",
    ("reproduce", "--runs"): "resumed", ("timescale", "--runs"): "resumed",
    ("sweep", "config"): "read", ("probe", "run_dir"): "read",
    ("report", "--db"): "read", ("report", "--config"): "read",
    ("draw", "--partition"): "name", ("rank", "--partition"): "name", ("bounds", "--partition"): "name",
    ("probe", "--partition"): "name", ("probe", "--symbols"): "name", ("report", "--prefix"): "name",
    ("reproduce", "--only"): "name", ("sweep", "--ray-address"): "name",
    ("train", "--device"): "name", ("linear-kernel", "--device"): "name",
}

USERS = b"the user's own file, not to be replaced"


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _free_text_options() -> set[tuple[str, str]]:
    """(command, first long flag or positional name) of every visible option taking free text."""
    found = set()
    for command, sub in _subparsers().items():
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction) or action.nargs == 0 or action.help == argparse.SUPPRESS:
                continue
            if action.choices is None and (action.type in (None, str, Path) or action.metavar in ("DIR", "FILE")):
                longs = [flag for flag in action.option_strings if flag.startswith("--")]
                found.add((command, longs[0] if longs else action.dest))
    return found


def test_every_free_text_option_has_a_role():
    found = _free_text_options()
    assert found - set(ROLES) == set(), "options not classified in ROLES (add them, and a case if they write)"
    assert set(ROLES) - found == set(), "ROLES names options the parsers no longer have"
    assert {command for command, _ in ROLES} <= set(COMMANDS)


def test_every_writing_option_is_run_below_and_its_command_takes_force():
    replaced = {key for key, role in ROLES.items() if role == "replaced"}
    assert replaced == set(CASES)
    subs = _subparsers()
    for command, _ in replaced:
        options = {flag for a in subs[command]._actions for flag in a.option_strings}
        assert "--force" in options, command


# --- one case per writing option: (arguments, the file it would replace) --------------------

ARCH = ["-M", "2", "-R", "2", "-L", "1", "-T", "2"]
TABLE = ["--lengths", "2", "4", "--depths", "1", "2"]


@pytest.fixture
def small_store(tmp_path) -> Path:
    from tnrnn.experiments import ResultsStore

    db = tmp_path / "store" / "r.sqlite"
    db.parent.mkdir()
    with ResultsStore(db) as store:
        for depth in (1, 2):
            store.record(f"p{depth}", "demo", {"task": "ses", "cell": "rac", "depth": depth, "length": 4,
                                               "hidden": 3, "seed": 0, "steps": 4},
                         {"summary": {"accuracy": 0.6, "test_accuracy": 0.5},
                          "probes": [{"length": 4, "partition": "start-end", "route": "model", "method": "dense",
                                      "rank": depth + 1, "spectrum": [1.0, 0.3, 0.01]}]}, 0.1)
    return db


RUNNER = '''
def run(payload):
    depth = payload["train"]["depth"]
    return {"summary": {"accuracy": 0.5, "test_accuracy": 0.5, "parameters": 7},
            "probes": [{"length": 4, "partition": "start-end", "route": "model", "method": "dense",
                        "rank": depth, "spectrum": [0.5, 0.5]}]}
'''


@pytest.fixture
def sweep_config(tmp_path, monkeypatch) -> Path:
    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "exports_runner.py").write_text(RUNNER)
    monkeypatch.syspath_prepend(str(directory))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(directory), str(REPO), os.environ.get("PYTHONPATH", "")]))
    path = directory / "sweep.toml"
    path.write_text(textwrap.dedent("""\
        name = "exports"
        [sweep]
        depth = [1, 2]
        length = [4]
        [run]
        runner = "exports_runner:run"
        workers = 1
        """))
    return path


def _tiny_timescale(monkeypatch):
    import tnrnn.lenses.timescale as ts

    monkeypatch.setitem(ts.EXPERIMENT, True, {"tasks": ({"name": "copying", "length": 2},),
                                              "steps": {"copying": 1}, "hidden": 3})


# (command, flag) -> (arguments with {target} / {dir} / {db} / {config}, target relative to the work dir)
CASES: dict[tuple[str, str], tuple[list[str], str]] = {
    ("draw", "--plot"): (["draw", *ARCH, "--plot", "{target}"], "mine.png"),
    ("draw", "--out"): (["draw", *ARCH, "--out", "{dir}"], "figs/network.png"),
    ("rank", "--plot"): (["rank", "-M", "2", "-R", "2", "-L", "1", "-T", "4", "--profile", "--plot", "{target}"],
                         "mine.png"),
    ("demo", "--plot"): (["demo", *TABLE, "--plot", "{target}"], "mine.png"),
    ("demo", "--out"): (["demo", *TABLE, "--out", "{dir}"], "figs/demo_rank_vs_length.png"),
    ("compare", "--plot"): (["compare", "-M", "2", "-R", "2", "-T", "4", "--depths", "1", "--plot", "{target}"],
                            "mine.png"),
    ("depth-table", "--plot"): (["depth-table", *TABLE, "--draws", "1", "--plot", "{target}"], "mine.png"),
    ("depth-table", "--out"): (["depth-table", *TABLE, "--draws", "1", "--out", "{dir}"], "figs/depth_table.png"),
    ("report", "--out"): (["report", "--db", "{db}", "--out", "{dir}"], "figs/sweep_accuracy.png"),
    ("report", "--markdown"): (["report", "--db", "{db}", "--markdown", "{target}"], "tables.md"),
    ("report", "--csv"): (["report", "--db", "{db}", "--csv", "{target}"], "points.csv"),
    ("sweep", "--csv"): (["sweep", "{config}", "--db", "{work}/new.sqlite", "--csv", "{target}", "--no-progress"],
                         "points.csv"),
    ("reproduce", "--out"): (["reproduce", "--only", "networks", "--out", "{dir}"], "figs/network_depth1.png"),
    ("timescale", "--out"): (["timescale", "--experiment", "--quick", "--out", "{dir}", "--runs", "{work}/runs"],
                             "figs/timescale_copying_2_loss.png"),
}


def _listing(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", sorted(CASES), ids=lambda case: " ".join(case))
def test_an_existing_file_is_refused_before_any_work_and_replaced_with_force(case, tmp_path, capsys, monkeypatch,
                                                                            request):
    command, flag = case
    arguments, relative = CASES[case]
    work = tmp_path / "work"
    target = work / relative
    target.parent.mkdir(parents=True)
    target.write_bytes(USERS)  # in a directory of the user's, not one tnrnn made
    fill = {"target": str(target), "dir": str(target.parent), "work": str(work)}
    if command == "report":
        fill["db"] = str(request.getfixturevalue("small_store"))
    if command == "sweep":
        fill["config"] = str(request.getfixturevalue("sweep_config"))
    if command == "timescale":
        _tiny_timescale(monkeypatch)
    argv = [part.format(**fill) for part in arguments]
    before = _listing(work)

    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"tnrnn {command}: error: {flag}"), captured.err
    assert str(target) in captured.err and "pass --force" in captured.err, captured.err
    assert captured.out == ""  # refused before any work: nothing computed, nothing printed
    assert _listing(work) == before  # the old file byte-identical, nothing else written

    assert main([*argv, "--force"]) == 0, capsys.readouterr().err
    assert target.read_bytes() != USERS and target.stat().st_size > 100


def test_report_replaces_its_own_earlier_output_in_a_directory_it_made(small_store, tmp_path, capsys):
    out = tmp_path / "made"
    assert main(["report", "--db", str(small_store), "--out", str(out), "--markdown", str(out / "t.md")]) == 0
    first = (out / "t.md").read_text()
    # a directory report made itself: its figures and exports are replaced without --force
    assert main(["report", "--db", str(small_store), "--out", str(out), "--markdown", str(out / "t.md"),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["figures"] == [
        str(out / "sweep_accuracy.png"), str(out / "sweep_ranks.png")]
    assert (out / "t.md").read_text() == first


def test_sweep_resumes_its_store_and_refuses_only_the_export(sweep_config, tmp_path, capsys):
    db = tmp_path / "r.sqlite"
    assert main(["sweep", str(sweep_config), "--db", str(db), "--no-progress"]) == 0
    assert main(["sweep", str(sweep_config), "--db", str(db), "--no-progress"]) == 0  # resumed, not refused
    assert "2 already stored" in capsys.readouterr().out
