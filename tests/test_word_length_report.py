"""The word-length report: per SES word length and depth, endings, tested step, prediction, figure."""

from __future__ import annotations

import pytest

from tnrnn.experiments import ResultsStore, load_config
from tnrnn.experiments.report import word_length_rows

CONFIG = """
[sweep]
task = "ses"
length = 8
word_length = [2, 3]
depth = [1, 2]
steps = 1
[report]
threshold = 0.8
[report.predictions]
"2" = "no depth effect"
"3" = "depth 1 below"
"""


def fill(db):
    scores = {(2, 1): [0.9, 0.95], (2, 2): [0.92, 0.9], (3, 1): [0.4, 0.5], (3, 2): [0.85, 0.6]}
    with ResultsStore(db) as store:
        for (m, depth), values in scores.items():
            for seed, value in enumerate(values):
                ended = "cap" if (m, depth, seed) == (3, 2, 1) else "plateau"
                store.record(f"{m}-{depth}-{seed}", "wl", {"task": "ses", "cell": "modrelu", "depth": depth,
                                                            "length": 8, "hidden": 4, "seed": seed, "word_length": m},
                             {"summary": {"test_accuracy": value, "ended": ended, "best_step": 1000 * (seed + 1)}},
                             0.0)


def test_rows_group_by_word_length_and_count_endings(tmp_path):
    fill(tmp_path / "r.sqlite")
    with ResultsStore(tmp_path / "r.sqlite") as store:
        rows = word_length_rows(store, 0.8, predictions={"3": "depth 1 below"})
    assert [(r["word_length"], r["depth"]) for r in rows] == [(2, 1), (2, 2), (3, 1), (3, 2)]
    last = rows[-1]
    assert last["reached"] == 1 and last["ended"] == "plateau 1, cap 1" and last["plateau_share"] == 0.5
    assert last["best_steps"] == [1000, 2000] and last["tested_on_best"]
    assert last["mean"] == pytest.approx(0.725) and last["low"] <= 0.725 <= last["high"]
    assert last["overlap_rank"] == 1 + 3 * 31 and last["prediction"] == "depth 1 below"
    assert rows[0]["prediction"] is None
    assert [r["scores"] for r in rows] == [[0.9, 0.95], [0.92, 0.9], [0.4, 0.5], [0.85, 0.6]]


def test_the_figure_draws_every_seeds_error_on_a_log_axis(tmp_path, monkeypatch):
    import tnrnn.style

    fill(tmp_path / "r.sqlite")
    with ResultsStore(tmp_path / "r.sqlite") as store:
        rows = word_length_rows(store, 0.8)
    rows[0]["scores"] = [1.0, 0.95]  # a seed with no test error
    saved = []
    monkeypatch.setattr(tnrnn.style, "save", lambda fig, path: saved.append(fig) or path)
    from tnrnn.experiments.report import plot_word_length

    plot_word_length(rows, tmp_path / "wl.png", threshold=0.8)
    accuracy, errors = saved[0].axes[:2]
    assert errors.get_yscale() == "log" and accuracy.get_yscale() == "linear"
    drawn = [y for line in errors.get_lines() if line.get_linestyle() == "None" for y in line.get_ydata()]
    assert sorted(drawn) == pytest.approx(sorted([0.025, 0.05, 0.08, 0.1, 0.6, 0.5, 0.15, 0.4]))  # 0 at 0.05 / 2


def test_cli_report_prints_the_prediction_beside_the_outcome(tmp_path, capsys):
    from tnrnn.cli import main

    fill(tmp_path / "r.sqlite")
    (tmp_path / "wl.toml").write_text(CONFIG)
    assert load_config(tmp_path / "wl.toml", check_points=False).report["predictions"]["3"] == "depth 1 below"
    assert main(["report", "--db", str(tmp_path / "r.sqlite"), "--config", str(tmp_path / "wl.toml"),
                 "--out", str(tmp_path / "figs"), "--prefix", "wl"]) == 0
    out = capsys.readouterr().out
    assert "Per word length" in out and "depth 1 below" in out and "plateau 1, cap 1" in out
    assert (tmp_path / "figs" / "wl_word_length.png").stat().st_size > 0


def test_predictions_must_be_strings(tmp_path):
    from tnrnn.experiments import ConfigError

    with pytest.raises(ConfigError, match="'predictions' must be a table of strings"):
        load_config(text='[sweep]\ntask = "ses"\nlength = 4\n[report]\npredictions = {"2" = 3}\n')
