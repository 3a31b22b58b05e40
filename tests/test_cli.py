import json
import subprocess
import sys

import pytest

from tnrnn.cli import main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "tnrnn.cli", *args], capture_output=True, text=True)


def test_rank_json_contract(capsys):
    assert main(["rank", "--templates", "3", "--hidden", "3", "--depth", "2", "--length", "8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rank"] == 45 and out["lower"] == 45 and out["upper"] == 45
    assert out["certified"] is True and isinstance(out["method"], str) and out["seconds"] >= 0


def test_rank_table(capsys):
    assert main(["rank", "-M", "2", "-R", "2", "-L", "3", "-T", "6"]) == 0
    text = capsys.readouterr().out
    assert "certified" in text and "[8, 8]" in text


def test_bounds_json_contract(capsys):
    assert main(["bounds", "-M", "3", "-R", "3", "-L", "2", "-T", "8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("shallow", "depth2_lower", "trivial_upper", "lifted_upper", "mincut_upper"):
        assert key in out
    assert out["shallow"] is None and out["depth2_lower"] == 15 and out["lifted_upper"] == 45


@pytest.mark.parametrize("args, message", [
    (["rank", "-M", "2", "-R", "2", "-L", "2", "-T", "5"], "even length, got length=5; use cut(length, k) (--partition cut:K)"),
    (["rank", "-M", "0", "-R", "2", "-L", "2", "-T", "4"], "argument --templates/-M: must be a positive integer, got '0'"),
    (["rank", "-M", "2", "-R", "2", "-L", "2", "-T", "4", "--prime", "12"], "prime=12 is not prime"),
    (["rank", "-M", "2", "-R", "2", "-L", "2", "-T", "4", "--prime", "0"], "argument --prime: must be a prime"),
    (["rank", "-M", "2", "-R", "2", "-L", "2", "-T", "4", "--seed", "-1"], "argument --seed: a seed must be"),
    (["rank", "-M", "2", "-R", "2", "-L", "2", "-T", "4", "--partition", "S:0/E:1,2"], "missing [3]"),
    (["bounds", "-M", "2", "-R", "2", "-L", "-1", "-T", "4"], "argument --depth/-L: must be a positive integer"),
])
def test_bad_input_exits_nonzero_without_traceback(args, message):
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_demo_writes_plot(tmp_path, capsys):
    out = tmp_path / "demo.png"
    assert main(["demo", "--lengths", "2", "4", "--depths", "1", "2", "--out", str(out)]) == 0
    assert out.stat().st_size > 10_000
    text = capsys.readouterr().out
    assert "certified" in text and "lifted_upper" in text


def test_import_is_light():
    code = "import sys, tnrnn; print(sorted(m for m in ('torch', 'quimb', 'matplotlib') if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"
