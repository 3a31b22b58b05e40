"""`tnrnn reproduce --quick` regenerates every registered figure (what CI runs)."""

from fnmatch import fnmatch
from pathlib import Path

from tnrnn.cli import main
from tnrnn.reproduce import JOBS, OUTPUTS

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
    assert "unknown figure job(s) ['nope']" in capsys.readouterr().err
