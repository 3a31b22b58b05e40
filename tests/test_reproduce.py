"""`tnrnn reproduce --quick` regenerates every registered figure (what CI runs)."""

import json
from fnmatch import fnmatch
from pathlib import Path

from tnrnn.cli import main
from tnrnn.cli.figure_jobs import JOBS, OUTPUTS

FIGURES = Path(__file__).resolve().parents[1] / "figures"


def _owners(name: str) -> list[str]:
    return [job for job, patterns in OUTPUTS.items() if any(fnmatch(name, p) for p in patterns)]


def test_every_committed_figure_has_exactly_one_job():
    committed = sorted(p.name for p in FIGURES.glob("*.png"))
    assert committed
    assert {name: _owners(name) for name in committed if len(_owners(name)) != 1} == {}
    assert set(OUTPUTS) == set(JOBS)


def test_reproduce_quick_writes_every_job(tmp_path, capsys):
    out = tmp_path / "figures"
    assert main(["reproduce", "--quick", "--out", str(out), "--runs", str(tmp_path / "runs")]) == 0
    written = sorted(p.name for p in out.glob("*.png"))
    for job in JOBS:
        assert any(_owners(name) == [job] for name in written), f"job {job} wrote no figure"
    for path in out.glob("*.png"):
        assert path.stat().st_size > 5_000, path
    assert "wrote" in capsys.readouterr().out


def test_reproduce_rejects_unknown_job(tmp_path, capsys):
    assert main(["reproduce", "--only", "nope", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "tnrnn reproduce: error: --only nope: unknown figure job(s); choose from demo, compare" in err


def test_reproduce_never_replaces_figures_it_did_not_make(tmp_path, capsys):
    out = tmp_path / "figures"
    out.mkdir()
    (out / "network_depth1.png").write_bytes(b"a committed figure")
    assert main(["reproduce", "--only", "networks", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "network_depth1.png" in err and "--force" in err
    assert (out / "network_depth1.png").read_bytes() == b"a committed figure"
    assert not (out / "network_depth2.png").exists() and not (out / "runs").exists()
    assert main(["reproduce", "--only", "networks", "--out", str(out), "--force"]) == 0
    assert (out / "network_depth1.png").stat().st_size > 5_000


def test_reproduce_without_out_writes_a_fresh_directory(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["reproduce", "--only", "networks"]) == 0
    out = capsys.readouterr().out
    made = [p for p in tmp_path.iterdir()]
    assert len(made) == 1 and made[0].name.startswith("tnrnn-reproduce-"), made
    assert f"writing to {made[0].name}/" in out
    assert {p.name for p in made[0].glob("*.png")} == {"network_depth1.png", "network_depth2.png"}
    # its own directory: a second run replaces its files without --force
    assert main(["reproduce", "--only", "networks", "--out", str(made[0])]) == 0


def test_a_job_named_twice_runs_once_and_json_draws_no_progress_bar(tmp_path, capsys):
    import tnrnn.cli.figure_jobs as reproduce_module

    calls = []
    real = reproduce_module.JOBS["networks"]

    def counted(out, runs, quick):
        calls.append(1)
        return real(out, runs, quick)

    reproduce_module.JOBS["networks"] = counted
    try:
        assert main(["reproduce", "--only", "networks", "networks", "--out", str(tmp_path / "f"), "--json"]) == 0
    finally:
        reproduce_module.JOBS["networks"] = real
    captured = capsys.readouterr()
    assert calls == [1] and list(json.loads(captured.out)["figures"]) == ["networks"]
    assert "figures:" not in captured.err and "it/s" not in captured.err
