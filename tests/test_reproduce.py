"""`tnrnn reproduce --quick` regenerates every registered figure (what CI runs)."""

from tnrnn.cli import main
from tnrnn.reproduce import JOBS


def test_reproduce_quick_writes_every_figure(tmp_path, capsys):
    assert main(["reproduce", "--quick", "--out", str(tmp_path)]) == 0
    written = sorted(p.name for p in tmp_path.glob("*.png"))
    assert len(written) >= len(JOBS)
    for path in tmp_path.glob("*.png"):
        assert path.stat().st_size > 5_000, path
    assert "wrote" in capsys.readouterr().out


def test_reproduce_rejects_unknown_job(tmp_path, capsys):
    assert main(["reproduce", "--only", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown figure job(s) ['nope']" in capsys.readouterr().err
