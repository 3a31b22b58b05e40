"""`tnrnn compare`: the length x depth pivot table of generic Start-End ranks."""

import json

from tnrnn.cli import main
from tnrnn.tables.compare import compare


def test_pivot_table_matches_known_ranks():
    # exact generic ranks, M=R=3, T=8: depth 1 -> 3, depth 2 -> 45, depth 3 -> 81 = M^(T/2)
    c = compare(3, 3, depths=[1, 2, 3], lengths=[8, 4], progress=False)
    assert c.lengths == (4, 8)  # rows sorted
    assert c.table() == [["4", "3", "9", "9"], ["8", "3", "45", "81"]]
    assert "higher rank at 2 of 2 lengths (depth 1 never above 3)" in c.summary()


def test_uncertified_cells_show_their_interval():
    c = compare(3, 3, depths=[3], lengths=[16], max_block=100, progress=False)
    row = c.cells[(3, 16)]
    assert row["method"] == "capped block" and not row["certified"] and row["kind"] == "lower bound"
    assert c.cell(3, 16) == f"[{row['lower']}, {row['upper']}]" == "[100, 6561]"
    assert "depth 3 in [" in c.summary()


def test_cli_json_is_one_object_with_the_pivot_table(capsys):
    assert main(["compare", "-M", "3", "-R", "3", "-T", "8", "16", "40", "--depths", "1", "2", "3", "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    data = json.loads(out)
    assert data["columns"] == ["T", "L=1", "L=2", "L=3"]
    assert [row[:3] for row in data["table"]] == [["8", "3", "45"], ["16", "3", "135"], ["40", "3", "693"]]
    assert len(data["cells"]) == 9 and data["summary"].startswith("M=3 R=3, T=40:")


def test_cli_text_and_plot(tmp_path, capsys):
    plot = tmp_path / "compare.png"
    assert main(["compare", "-M", "2", "-R", "2", "-T", "4", "6", "--depths", "1", "2", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["T", "L=1", "L=2"]
    assert out[2].split() == ["4", "2", "4"] and out[3].split() == ["6", "2", "8"]
    assert out[4].startswith("M=2 R=2, T=6:")
    assert plot.stat().st_size > 5_000


def test_cli_rejects_odd_length(capsys):
    assert main(["compare", "-T", "5"]) == 2
    assert "even lengths" in capsys.readouterr().err


def test_version(capsys):
    import tnrnn

    assert main(["--version"]) == 0  # the CLI returns argparse's exit status instead of raising
    assert capsys.readouterr().out.strip() == f"tnrnn {tnrnn.__version__}"
