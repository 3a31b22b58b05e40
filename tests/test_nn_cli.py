"""``tnrnn train``: the CLI contract."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tnrnn.cli import main
from tnrnn.nn import TrainConfig, count_parameters, load_run

pytestmark = pytest.mark.usefixtures("one_thread")


ARGS = ["train", "--task", "copying", "--length", "4", "--cell", "modrelu", "--depth", "2", "--hidden", "8",
        "--orthogonal", "cayley", "--alphabet", "3", "--word-length", "2", "--steps", "6", "--seed", "3",
        "--batch-size", "8", "--eval-every", "3", "--val-size", "16", "--quiet"]


def test_train_cli_contract(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(ARGS + ["--out", str(out)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    summary = json.loads(last)
    for key in ("steps", "final_loss", "baseline_loss", "accuracy", "parameters"):
        assert key in summary
    assert summary["steps"] == 6
    assert {p.name for p in out.iterdir()} >= {"config.json", "metrics.jsonl", "checkpoint.pt"}
    config = TrainConfig.from_dict(json.loads((out / "config.json").read_text()))
    assert (config.length, config.alphabet, config.word_length, config.seed) == (4, 3, 2, 3)
    assert config.make_task().sequence_length == 8  # B + 2K
    model, _, _ = load_run(out)
    assert summary["parameters"] == count_parameters(model)
    # running again resumes: nothing to do, same summary
    assert main(ARGS + ["--out", str(out)]) == 0
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert again["steps"] == 6 and again["final_loss"] == summary["final_loss"]


def test_train_cli_budget(tmp_path, capsys):
    args = list(ARGS)
    args[args.index("--hidden"):args.index("--hidden") + 2] = ["--budget", "400"]
    assert main(args + ["--out", str(tmp_path)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # the budget counts free parameters: an orthogonal R x R matrix has R(R-1)/2
    assert summary["free_parameters"] <= 400 < summary["parameters"] and summary["hidden"] >= 1
    from tnrnn.nn import parameter_count

    over = parameter_count("modrelu", 2, summary["hidden"] + 1, 5, 4, orthogonal=True)
    assert over > 400  # and it is the widest such network


@pytest.mark.parametrize("change,message", [
    (["--task", "ses", "--length", "7"], "even length"),
    (["--length", "0"], "length"),
    (["--steps", "0"], "steps"),
    (["--cell", "gru"], "orthogonal='cayley' applies"),
    (["--lr", "-1"], "lr must be > 0"),
])
def test_train_cli_bad_input(tmp_path, capsys, change, message):
    args = list(ARGS)
    for flag, value in zip(change[::2], change[1::2]):
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    assert main(args + ["--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_train_cli_other_run_in_out_dir(tmp_path, capsys):
    assert main(ARGS + ["--out", str(tmp_path)]) == 0
    args = list(ARGS)
    args[args.index("--hidden") + 1] = "5"
    assert main(args + ["--out", str(tmp_path)]) == 2
    assert "hidden: 8 != 5" in capsys.readouterr().err


def test_unknown_cell_rejected_by_parser(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tnrnn", *ARGS[:5], "--cell", "elman", *ARGS[7:],
                             "--out", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 2 and "invalid choice: 'elman'" in result.stderr


def test_train_cli_seeds_trains_an_ensemble(tmp_path, capsys):
    args = ARGS[:ARGS.index("--seed")] + ARGS[ARGS.index("--seed") + 2:]
    assert main(args + ["--seeds", "4", "1", "--out", str(tmp_path)]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [m["seed"] for m in result["members"]] == [4, 1]
    for member in result["members"]:
        assert {"seed", "steps", "final_loss", "accuracy", "test_accuracy"} <= set(member)
        assert member["steps"] == 6
        assert (tmp_path / f"seed-{member['seed']}" / "checkpoint.pt").exists()


@pytest.mark.parametrize("seeds, message", [(["1", "1"], "repeated: [1]"), (["-2"], ">= 0")])
def test_train_cli_bad_seeds(tmp_path, capsys, seeds, message):
    args = ARGS[:ARGS.index("--seed")] + ARGS[ARGS.index("--seed") + 2:]
    assert main(args + ["--seeds", *seeds, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "seeds" in err and message in err
    assert not (tmp_path / "out").exists()


def test_train_cli_preset_paper_and_overrides(tmp_path, capsys):
    args = ["train", "--preset", "paper", "--task", "ses", "--length", "8", "--word-length", "2", "--depth", "2",
            "--hidden", "6", "--steps", "2", "--eval-every", "1", "--val-size", "8", "--test-size", "8",
            "--batch-size", "4", "--quiet", "--out", str(tmp_path)]
    assert main(args) == 0
    config = TrainConfig.from_dict(json.loads((tmp_path / "config.json").read_text()))
    assert config == TrainConfig.preset("paper", task="ses", length=8, word_length=2, depth=2, hidden=6, steps=2,
                                        eval_every=1, val_size=8, test_size=8, batch_size=4)
    assert (config.orthogonal, config.recurrent_clip, config.clip, config.initial_state) == (
        "scaled_cayley", 10.0, None, "uniform")


def test_the_train_command_offers_exactly_the_library_choices():
    # the command writes its choices out so that --help imports no torch: they must not drift
    import argparse

    from tnrnn.cli import train as command
    from tnrnn.nn.config import CELLS, PRESETS
    from tnrnn.nn.orthogonal import ORTHOGONAL_INITS, ORTHOGONAL_MAPS
    from tnrnn.nn.tasks import TASKS

    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    choices = {action.dest: set(action.choices) for action in parser._actions if action.choices}
    assert choices["preset"] == set(PRESETS) and choices["task"] == set(TASKS)
    assert choices["cell"] == set(CELLS) and choices["orthogonal"] == set(ORTHOGONAL_MAPS)
    assert choices["orthogonal_init"] == set(ORTHOGONAL_INITS)


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["timescale", "--help"],
                                  ["bounds", "-M", "2", "-R", "2", "-L", "2", "-T", "8"]])
def test_commands_that_need_no_torch_do_not_import_it(argv):
    code = ("import sys\nfrom tnrnn.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'matplotlib', 'quimb'})\n"
            "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout  # torch alone costs about 2 s of a command's start here
