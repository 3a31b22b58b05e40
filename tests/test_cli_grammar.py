"""One grammar for every subcommand: flags, defaults and JSON that mean the same everywhere."""

from __future__ import annotations

import argparse
import inspect
import json

import pytest

from tnrnn.cli import COMMANDS, build_parser, main


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _visible(sub: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {option: action for action in sub._actions if action.help != argparse.SUPPRESS
            for option in action.option_strings}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_json_and_help(command):
    options = _visible(_subparsers()[command])
    assert "--json" in options, command
    assert "--quiet" not in options and "--figures" not in options  # old spellings are hidden


def test_architecture_letters_mean_the_same_everywhere():
    meaning = {"-M": "templates", "-R": "hidden", "-L": "depth", "-T": "length"}
    seen = 0
    for command, sub in _subparsers().items():
        for letter, dest in meaning.items():
            action = _visible(sub).get(letter)
            if action is not None:
                seen += 1
                # a list-valued option takes the plural (compare: -L/--depths, -T/--lengths)
                assert action.dest in (dest, dest + "s"), (command, letter, action.dest)
                assert action.dest == dest or action.nargs == "+", (command, letter)
                assert f"--{action.dest}" in action.option_strings, (command, letter)
    assert seen >= 20


def test_out_is_always_a_directory_and_plot_a_file():
    for command, sub in _subparsers().items():
        options = _visible(sub)
        if "--out" in options:
            assert "director" in options["--out"].help, (command, options["--out"].help)
        if "--plot" in options:
            assert ".png" in options["--plot"].help, (command, options["--plot"].help)


def test_progress_flag_is_one_and_the_same():
    for command, sub in _subparsers().items():
        options = _visible(sub)
        assert not {"--quiet", "--progress", "--no-progress-bar"} & set(options), command


def test_cli_defaults_equal_library_defaults():
    from tnrnn.depthtable import iter_depth_table
    from tnrnn.nn import TrainConfig
    from tnrnn.rank import generic_rank

    subs = _subparsers()
    rank = subs["rank"].parse_args(["-M", "2", "-R", "2", "-L", "1", "-T", "2"])
    library = inspect.signature(generic_rank).parameters
    for name in ("method", "draws", "prime", "seed"):
        assert getattr(rank, name) == library[name].default, name
    table = subs["depth-table"].parse_args([])
    library = inspect.signature(iter_depth_table).parameters
    for name in ("method", "draws", "seed", "max_block"):
        assert getattr(table, name) == library[name].default, name
    from tnrnn.cli.train import config_from

    train = subs["train"].parse_args(["--task", "ses", "-T", "4", "--cell", "rac", "-L", "1", "--out", "x"])
    # options not given take the library's defaults (or a preset's, with --preset)
    assert config_from(train) == TrainConfig(task="ses", length=4, cell="rac", depth=1)
    paper = subs["train"].parse_args(["--preset", "paper", "--task", "ses", "-T", "4", "--out", "x"])
    assert config_from(paper) == TrainConfig.preset("paper", task="ses", length=4)


def test_bounds_json_carries_its_inputs(capsys):
    assert main(["bounds", "-M", "3", "-R", "2", "-L", "2", "-T", "6", "--partition", "cut:2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["templates"], out["hidden"], out["depth"], out["length"], out["partition"]) == (3, 2, 2, 6, "cut:2")
    assert out["shallow"] is None  # the depth-1 value: not applicable at depth 2


def test_old_spellings_still_work(tmp_path, capsys):
    assert main(["draw", "-M", "2", "-R", "2", "-L", "1", "-T", "2", "--out", str(tmp_path / "a.png")]) == 0
    assert (tmp_path / "a.png").is_file()
    assert main(["draw", "-M", "2", "-R", "2", "-L", "1", "-T", "2", "--out", str(tmp_path / "a.png"),
                 "--plot", str(tmp_path / "b.png")]) == 2
    assert "--plot FILE" in capsys.readouterr().err


def test_library_wording_is_translated_for_cli_users(capsys):
    assert main(["rank", "-M", "4", "-R", "3", "-L", "2", "-T", "12", "--partition", "interleaved",
                 "--max-bytes", "1M"]) == 2
    err = capsys.readouterr().err
    assert "--max-bytes" in err and "max_bytes /" not in err and "--method scalable" in err


@pytest.mark.parametrize("command", ["demo", "depth-table", "compare"])
def test_lists_of_depths_and_lengths_take_the_same_letters(command):
    sub = _subparsers()[command]
    short = sub.parse_args(["-L", "1", "2", "-T", "8", "12"])
    long = sub.parse_args(["--depths", "1", "2", "--lengths", "8", "12"])
    assert (short.depths, short.lengths) == (long.depths, long.lengths) == ([1, 2], [8, 12])


@pytest.mark.parametrize("command", ["compare", "demo", "depth-table", "rank", "train"])
def test_commands_with_progress_bars_take_no_progress(command):
    assert "--no-progress" in _visible(_subparsers()[command])


def test_unknown_arguments_name_the_subcommand_and_its_help(capsys):
    assert main(["bounds", "-M", "2", "-R", "2", "-L", "1", "-T", "4", "--frobnicate", "3"]) == 2
    err = capsys.readouterr().err
    assert "tnrnn bounds: error: unrecognized arguments: --frobnicate 3 (see tnrnn bounds --help)" in err


def test_draw_does_not_suggest_a_flag_it_lacks(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["draw", "-M", "3", "-R", "3", "-L", "3", "-T", "40"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tnrnn draw: error:")
    assert "--method scalable" not in err.replace("`tnrnn rank --method scalable`", "")
    assert list(tmp_path.iterdir()) == []  # no empty fresh directory left behind
