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


# --- the table's plan --------------------------------------------------------------------------


def test_every_cell_does_what_the_table_plan_says():
    from tnrnn.tables.depth import plan_depth_table

    depths, lengths = [1, 2, 3], [4, 8, 24, 40]
    table = plan_depth_table(2, 3, depths, lengths, max_block=64)
    rows = depth_table(2, 3, depths, lengths, max_block=64, progress=False)
    assert [(c.spec.depth, c.length) for c in table.cells] == [(r["depth"], r["length"]) for r in rows]
    actions = {c.action for c in table.cells}
    assert actions == {"rank", "capped block"}  # both kinds are exercised
    for cell, row in zip(table.cells, rows):
        if cell.action == "rank":
            assert row["method"] == cell.plan.method and cell.block_rows is None
        else:
            assert row["method"] == cell.action and f"block of {cell.block_rows} rows" in row["note"]


def test_a_table_over_its_time_limit_is_refused_before_any_cell(monkeypatch):
    import tnrnn.tables.depth as module
    from tnrnn.guards import SizeLimitError
    from tnrnn.tables.depth import plan_depth_table

    def no_rank(*args, **kwargs):
        raise AssertionError("a cell was ranked")

    monkeypatch.setattr(module, "generic_rank", no_rank)
    table = plan_depth_table(2, 2, [1, 2], [4, 8], draws=10**5)
    assert table.max_seconds is None and table.check() is table  # the library sets no time limit
    assert table.seconds == pytest.approx(sum(c.plan.seconds for c in table.cells))
    with pytest.raises(SizeLimitError, match="the table's 4 ranked cells"):
        plan_depth_table(2, 2, [1, 2], [4, 8], draws=10**5, max_seconds=10.0).check()
    import tnrnn

    with tnrnn.limits(max_seconds=10.0), pytest.raises(SizeLimitError, match="--max-seconds"):
        list(iter_depth_table(2, 2, [1, 2], [4, 8], draws=10**5, progress=False))


def test_a_table_cell_over_the_memory_limit_is_named(capsys):
    import tnrnn
    from tnrnn.guards import SizeLimitError
    from tnrnn.tables.depth import plan_depth_table

    with tnrnn.limits(max_bytes=20_000):
        table = plan_depth_table(2, 2, [1, 2], [4, 12], method="dense")
        assert [c.plan.refusal is None for c in table.cells] == [True, False, True, False]
        with pytest.raises(SizeLimitError, match=r"cell L=1, T=12: a dense grid tensor"):
            table.check()
        assert main(["depth-table", "-M", "2", "-R", "2", "--depths", "1", "2", "--lengths", "4", "12",
                     "--method", "dense", "--no-plot"]) == 2
    captured = capsys.readouterr()
    assert "cell L=1, T=12" in captured.err and captured.out == ""  # refused before the first row
