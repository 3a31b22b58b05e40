"""Commands write where --out/--plot say or to a fresh printed directory, and replace files only with --force."""

from __future__ import annotations

import json

import pytest

from tnrnn._outputs import MARKER, check_replace, fresh_dir, is_owned, prepare_dir
from tnrnn.cli import main

SMALL = {
    "demo": ["demo", "--lengths", "2", "4", "--depths", "1", "2"],
    "depth-table": ["depth-table", "--lengths", "2", "4", "--depths", "1", "2", "--draws", "1"],
    "draw": ["draw", "-M", "2", "-R", "2", "-L", "1", "-T", "2"],
}
NAMES = {"demo": "demo_rank_vs_length.png", "depth-table": "depth_table.png", "draw": "network.png"}


@pytest.mark.parametrize("command", sorted(SMALL))
def test_without_out_a_fresh_directory_is_made_and_printed(command, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(SMALL[command]) == 0
    made = list(tmp_path.iterdir())
    assert len(made) == 1 and made[0].name.startswith(f"tnrnn-{command}-"), made
    assert (made[0] / NAMES[command]).stat().st_size > 5_000
    assert f"writing to {made[0].name}/" in capsys.readouterr().out
    assert main(SMALL[command]) == 0  # a second run: a second directory, nothing replaced
    assert len(list(tmp_path.iterdir())) == 2


@pytest.mark.parametrize("command", sorted(SMALL))
def test_an_existing_file_is_replaced_only_with_force(command, tmp_path, capsys):
    plot = tmp_path / "mine.png"
    plot.write_bytes(b"the user's own figure")
    assert main([*SMALL[command], "--plot", str(plot)]) == 2
    err = capsys.readouterr().err
    assert f"tnrnn {command}: error: --plot '{plot}' exists: pass --force to replace it" in err
    assert plot.read_bytes() == b"the user's own figure"
    assert main([*SMALL[command], "--plot", str(plot), "--force"]) == 0
    assert plot.stat().st_size > 5_000


def test_out_directory_of_the_users_is_protected_and_tnrnns_own_is_not(tmp_path, capsys):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "depth_table.png").write_bytes(b"x")
    assert main([*SMALL["depth-table"], "--out", str(theirs)]) == 2
    assert "pass --force" in capsys.readouterr().err
    ours = tmp_path / "ours"
    assert main([*SMALL["depth-table"], "--out", str(ours)]) == 0
    assert is_owned(ours) and (ours / MARKER).is_file()
    assert main([*SMALL["depth-table"], "--out", str(ours), "--json"]) == 0  # its own earlier output
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["plot"] == str(ours / "depth_table.png")


def test_compare_and_profile_plots_refuse_existing_files(tmp_path, capsys):
    plot = tmp_path / "p.png"
    plot.write_bytes(b"x")
    assert main(["compare", "-M", "2", "-R", "2", "-T", "4", "--depths", "1", "--plot", str(plot)]) == 2
    assert "tnrnn compare: error: --plot" in capsys.readouterr().err
    assert main(["rank", "-M", "2", "-R", "2", "-L", "1", "-T", "4", "--profile", "--plot", str(plot)]) == 2
    assert "tnrnn rank: error: --plot" in capsys.readouterr().err
    assert plot.read_bytes() == b"x"
    assert main(["compare", "-M", "2", "-R", "2", "-T", "4", "--depths", "1", "--plot", str(plot), "--force"]) == 0
    assert plot.stat().st_size > 5_000


def test_plot_and_out_together_are_refused(tmp_path, capsys):
    assert main([*SMALL["draw"], "--plot", str(tmp_path / "a.png"), "--out", str(tmp_path / "d")]) == 2
    assert "give one" in capsys.readouterr().err


def test_helpers(tmp_path):
    first, second = fresh_dir("x", tmp_path), fresh_dir("x", tmp_path)
    assert first != second and is_owned(first) and is_owned(second)
    existing = tmp_path / "e"
    existing.mkdir()
    assert not is_owned(prepare_dir(existing)) and is_owned(prepare_dir(tmp_path / "new"))
    (existing / "f.png").write_text("x")
    with pytest.raises(ValueError, match="exists: pass --force"):
        check_replace(existing / "f.png", "--plot")
    assert check_replace(existing / "f.png", "--plot", force=True).name == "f.png"
