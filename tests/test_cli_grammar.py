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
    from tnrnn.nn import TrainConfig
    from tnrnn.ranks.router import generic_rank
    from tnrnn.tables.depth import iter_depth_table

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


def test_library_errors_name_the_flags_and_reach_cli_users_unchanged(capsys):
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


# --- one table of every option, and the rules, command by command ---------------------------

from pathlib import Path  # noqa: E402

from tnrnn.cli import THREAD_KINDS  # noqa: E402
from tnrnn.cli._grammar import END, SHARED, START, option_table, visible_actions  # noqa: E402

CLI_MD = Path(__file__).resolve().parents[1] / "docs" / "cli.md"

#: Commands without --threads, and why: none of them computes.
NO_THREADS = {"draw": "draws a diagram", "bounds": "evaluates closed forms", "report": "reads a store"}
#: Options whose range of values differs between commands (one meaning), and why.
RANGES = {"--steps": "train: at least one step; timescale: 0 diagnoses the network at initialisation"}
#: Options that take several values without a plural name, and why.
LIST_NAMES = {"only": "figure job names: `--only demo compare`"}


def _committed_table() -> str:
    text = CLI_MD.read_text()
    assert text.count(START) == 1 and text.count(END) == 1
    return text.split(START, 1)[1].split(END, 1)[0].strip()


def test_the_option_table_in_cli_md_is_the_parsers():
    assert _committed_table() == option_table(), (
        "docs/cli.md's option table disagrees with the parser: run python -m tnrnn.cli._grammar docs/cli.md")


def test_the_option_table_lists_every_option_of_every_command_with_its_value():
    # read back from the committed Markdown, independently of the generator
    listed = set()
    for line in _committed_table().splitlines()[2:]:
        option, value, _, commands = [cell.strip() for cell in line.strip("|").split(" | ")]
        for command in commands.split(", "):
            for flag in option.replace(" (positional)", "").split(", "):
                listed.add((command.strip("`"), flag.strip("`"), value))
    parsed = set()
    for command, sub in _subparsers().items():
        for action in visible_actions(sub):
            from tnrnn.cli._grammar import value_form

            for flag in action.option_strings or [action.metavar or action.dest]:
                parsed.add((command, flag, value_form(action)))
    assert listed == parsed


def test_one_spelling_one_meaning():
    signatures: dict[str, set] = {}
    commands: dict[str, set] = {}
    for command, sub in _subparsers().items():
        for action in visible_actions(sub):
            for flag in (f for f in action.option_strings if f.startswith("--")):  # -L: tested above
                # the valid values may differ (a cell list, a method list); nothing else may
                signatures.setdefault(flag, set()).add(
                    (tuple(sorted(action.option_strings)), action.dest, type(action).__name__, action.nargs,
                     RANGES.get(flag, getattr(action.type, "__name__", None)), action.metavar))
                commands.setdefault(flag, set()).add(command)
    assert {flag: sigs for flag, sigs in signatures.items() if len(sigs) > 1} == {}
    shared = {flag for flag, where in commands.items() if flag.startswith("--") and len(where) > 1}
    assert shared - set(SHARED) == set(), "options of several commands need their one meaning in SHARED"
    assert set(SHARED) - shared == set(), "SHARED describes options no longer shared"


def _uses_progress(command: str) -> bool:
    """Whether the command's module passes a progress switch on (it then shows progress bars)."""
    import ast

    import tnrnn.cli

    source = Path(tnrnn.cli.__file__).with_name(f"{COMMANDS[command]}.py").read_text()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            if any(k.arg == "progress" for k in node.keywords):
                return True
            if isinstance(node.func, ast.Name) and node.func.id == "progress":
                return True
    return False


@pytest.mark.parametrize("command", list(COMMANDS))
def test_the_grammar_rules_hold_for_every_command(command):
    sub = _subparsers()[command]
    options = _visible(sub)
    assert "--json" in options
    # --threads on every command that computes, and nowhere else
    assert ("--threads" in options) == (command in THREAD_KINDS) == (command not in NO_THREADS)
    # --no-progress on every command with a progress bar (and only there)
    assert ("--no-progress" in options) == _uses_progress(command), command
    if "--out" in options:
        assert options["--out"].metavar == "DIR" and "director" in options["--out"].help
    if "--plot" in options:
        assert options["--plot"].metavar == "FILE" and ".png" in options["--plot"].help
    for action in visible_actions(sub):
        if action.nargs in ("+", "*"):  # several values: a list, under a plural name
            assert action.dest.endswith("s") or action.dest in LIST_NAMES, (command, action.dest)
        if action.dest + "s" in {a.dest for s in _subparsers().values() for a in s._actions if a.nargs == "+"}:
            assert action.nargs is None, (command, action.dest)  # --depth, --length, --seed: one value


def test_no_threads_and_list_names_are_current():
    assert set(NO_THREADS) | set(THREAD_KINDS) == set(COMMANDS) and not set(NO_THREADS) & set(THREAD_KINDS)
    assert all(any(a.dest == name and a.nargs == "+" for s in _subparsers().values() for a in s._actions)
               for name in LIST_NAMES)


#: One failure per command found while running (not by argparse), each cheap.
RUNTIME_ERRORS = {
    "draw": ["-M", "2", "-R", "2", "-L", "1", "-T", "2", "--plot", "{file}/x.png"],
    "rank": ["-M", "2", "-R", "2", "-L", "1", "-T", "4", "--profile", "--plot", "{file}/x.png"],
    "bounds": ["-M", "2", "-R", "2", "-L", "1", "-T", "4", "--partition", "cut:9"],
    "demo": ["--plot", "{file}/x.png"],
    "compare": ["-T", "4", "--plot", "{file}/x.png"],
    "depth-table": ["--plot", "{file}/x.png"],
    "train": ["--task", "ses", "-T", "4", "--cell", "rac", "-L", "1", "--out", "{file}/run"],
    "sweep": ["{missing}.toml", "--db", "{missing}.sqlite"],
    "probe": ["{missing}"],
    "report": ["--db", "{missing}.sqlite"],
    "reproduce": ["--only", "nope", "--out", "{missing}"],
    "timescale": ["--length", "20", "--layer", "3"],
    "linear-kernel": ["--sigma-w", "1", "--width", "8", "--lags", "4", "--device", "nope"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_error_names_its_subcommand_and_its_help(command, tmp_path, capsys):
    assert set(RUNTIME_ERRORS) == set(COMMANDS)
    (tmp_path / "file").write_text("x")
    fill = {"file": str(tmp_path / "file"), "missing": str(tmp_path / "missing")}
    usage = [[command, "--frobnicate"], [command, "--json", "--threads" if command in THREAD_KINDS else "--json",
                                         *(["0"] if command in THREAD_KINDS else ["extra"])]]
    runtime = [command, *[part.format(**fill) for part in RUNTIME_ERRORS[command]]]
    for argv in [*usage, runtime]:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"tnrnn {command}: error: ") and err.endswith(f"(see tnrnn {command} --help)"), err
        assert "Traceback" not in err and len(err.splitlines()) == 1, err
