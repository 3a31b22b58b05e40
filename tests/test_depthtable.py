"""Depth tables: values, skipped cells, plot, CLI."""

from __future__ import annotations

import json

import pytest

from tnrnn.cli import main
from tnrnn.rac.bounds import bounds
from tnrnn.rac.circuits import RACSpec
from tnrnn.tables.depth import depth_table, format_depth_table, iter_depth_table, plot_depth_table


def test_depth_table_matches_science_section_5():
    rows = depth_table(2, 2, [1, 2, 3], [2, 4, 6, 8], progress=False)
    got = {(r["depth"], r["length"]): r["rank"] for r in rows}
    expected = {1: [2, 2, 2, 2], 2: [2, 4, 8, 10], 3: [2, 4, 8, 16]}
    for depth, ranks in expected.items():
        assert [got[(depth, t)] for t in (2, 4, 6, 8)] == ranks
    assert all(r["certified"] for r in rows)


def test_long_lengths_use_the_scalable_method_and_certify():
    rows = depth_table(2, 2, [2], [24, 40], progress=False)
    assert [(r["rank"], r["certified"], r["method"]) for r in rows] == [(26, True, "scalable"),
                                                                         (42, True, "scalable")]


def test_cells_over_max_block_get_a_computed_lower_end():
    # (3, 3, 3, 16) would need a 6561-row block: not ranked, but a 100 x 100 block's rank is a
    # proven lower end (the closed forms alone give only [1, 6561])
    rows = depth_table(3, 3, [3], [8, 16], max_block=100, progress=False)
    computed, capped = rows
    assert computed["rank"] == 81 and computed["kind"] == "certified"
    closed = bounds(RACSpec(3, 3, 3), 16)
    assert (closed.lower, closed.upper) == (1, 6561)
    assert capped["method"] == "capped block" and capped["kind"] == "lower bound"
    assert capped["lower"] == capped["rank"] == 100 and capped["upper"] == 6561
    assert capped["failure_bound"] is None and "max_block=100" in capped["note"]
    text = format_depth_table(rows)
    assert "capped block" in text and "lower bound" in text


def test_plot_with_skipped_and_uncertified_cells(tmp_path):
    rows = depth_table(2, 3, [1, 2, 3], [4, 20], max_block=200, draws=1, progress=False)
    assert any(r["kind"] == "lower bound" for r in rows) and any(r["kind"] == "interval" for r in rows)
    out = tmp_path / "table.png"
    plot_depth_table(rows, out)
    assert out.stat().st_size > 5000


@pytest.mark.parametrize("depths,lengths,match", [
    ([1], [5], "even lengths, got \\[5\\]"),
    ([0], [4], "depths must be positive integers, got \\[0\\]"),
    ([], [4], "non-empty"),
])
def test_bad_input(depths, lengths, match):
    with pytest.raises(ValueError, match=match):
        next(iter_depth_table(2, 2, depths, lengths, progress=False))


def test_cli_depth_table_json_and_plot(capsys, tmp_path):
    out = tmp_path / "depth.png"
    assert main(["depth-table", "-M", "2", "-R", "2", "--depths", "1", "2", "--lengths", "2", "4", "6",
                 "--json", "--plot", str(out)]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [(r["depth"], r["length"], r["rank"]) for r in rows] == [
        (1, 2, 2), (1, 4, 2), (1, 6, 2), (2, 2, 2), (2, 4, 4), (2, 6, 8)]
    assert out.stat().st_size > 5000


def test_cli_depth_table_bad_input_exits_2(capsys):
    assert main(["depth-table", "--lengths", "3", "--no-plot"]) == 2
    assert "even lengths" in capsys.readouterr().err
    assert main(["depth-table", "--max-block", "0", "--no-plot"]) == 2


def test_table_formats_bounds_beyond_float_range():
    from tnrnn.tables.depth import depth_table, format_depth_table

    rows = depth_table(3, 3, [4], [32], max_block=10, progress=False)
    assert rows[0]["mincut_upper"] > 10**400
    text = format_depth_table(rows)
    assert "capped block" in text and "e+" in text
