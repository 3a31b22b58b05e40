"""Every command fails fast and cleanly: one row of tests per failure seen by a new user.

Each test drives ``tnrnn.cli.main`` in process and checks the exit status, that stderr is
one line naming the argument or the file, and (for refusals) that it came back quickly.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from pathlib import Path

import pytest
from conftest import tiny_sweep_toml

from tnrnn.cli import main

pytestmark = pytest.mark.usefixtures("one_thread")

#: A refusal must cost at most this many CPU seconds (it is decided by arithmetic, before any work;
#: typically well under a second). CPU time, not wall time: the bound holds on a loaded machine.
REFUSAL_SECONDS = 5.0


def run(capsys, *argv):
    """``(status, stdout, stderr, seconds)`` of one in-process command."""
    start = time.process_time()  # CPU time: robust on a loaded machine, unlike wall time
    status = main([str(a) for a in argv])
    seconds = time.process_time() - start
    captured = capsys.readouterr()
    return status, captured.out, captured.err, seconds


def refused(capsys, *argv, expect: str | tuple[str, ...]):
    """Run, and assert a clean refusal: status 2, one line on stderr containing ``expect``, fast."""
    status, out, err, seconds = run(capsys, *argv)
    assert status == 2, (argv, out, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for text in (expect,) if isinstance(expect, str) else expect:
        assert text in err, err
    assert seconds < REFUSAL_SECONDS, seconds
    return out, err


# --- row 1: astronomically large bounds print in bounded form, text and JSON -------------------


def test_rank_json_with_huge_bounds_is_complete_json(capsys):
    status, out, err, _ = run(capsys, "rank", "-M", 3, "-R", 3, "-L", 1, "-T", 20000, "--method", "tn", "--json")
    assert status == 0, err
    result = json.loads(out)  # complete, parseable: no int-to-str limit hit
    assert result["rank"] == 3 and result["certified"] is True
    assert result["bounds"]["trivial_upper"].startswith("~") and "e+4771" in result["bounds"]["trivial_upper"]
    assert result["length"] == 20000 and result["partition"] == "start-end"


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_bounds_at_huge_length_are_bounded_and_fast(capsys, json_flag):
    status, out, err, seconds = run(capsys, "bounds", "-M", 3, "-R", 3, "-L", 2, "-T", 1_000_000, *json_flag)
    assert status == 0, err
    assert seconds < REFUSAL_SECONDS
    assert len(out) < 5000  # bounded: the exact trivial bound alone has 238,561 digits
    if json_flag:
        values = json.loads(out)
        assert values["lower"] == 125000750001  # C(3 + 500000 - 1, 500000), exact
        assert values["mincut_upper"] == "~1.3e+238561"
        assert (values["templates"], values["hidden"], values["depth"], values["length"]) == (3, 3, 2, 1_000_000)
    else:
        assert "~1.3e+238561" in out and "125000750001" in out


# --- row 2: no more hangs in closed forms, min-cut or formatting ------------------------------


def test_huge_depth_and_lifted_bound_answer_or_refuse_fast(capsys):
    refused(capsys, "rank", "-M", 2, "-R", 2, "-L", 1_000_000, "-T", 4,
            expect=("4,000,000 layer-steps", "--max-seconds"))
    refused(capsys, "rank", "-M", 100, "-R", 100, "-L", 5, "-T", 1000, expect=("~1.0e+1000", "--max-bytes"))
    status, out, err, seconds = run(capsys, "bounds", "-M", 2, "-R", 2, "-L", 1_000_000, "-T", 4, "--json")
    assert status == 0 and seconds < REFUSAL_SECONDS and json.loads(out)["upper"] == 4


def test_depth_table_at_huge_length_prints_bounded_rows(capsys, tmp_path):
    status, out, err, seconds = run(capsys, "depth-table", "--lengths", 100000, "--depths", 3, "--no-plot")
    assert status == 0, err
    assert seconds < REFUSAL_SECONDS and "skipped" in out and "~1.4e+376310072" in out


# --- row 3: sizes refused before any allocation ------------------------------------------------


@pytest.mark.parametrize("argv, expect", [
    (["rank", "-M", 1_000_000_000, "-R", 3, "-L", 2, "-T", 4], ("M=1000000000", "22.4 GiB", "--max-bytes")),
    (["rank", "-M", 2, "-R", 1_000_000, "-L", 2, "-T", 4], ("R=1000000", "TiB", "--max-bytes")),
    (["bounds", "-M", 2, "-R", 2, "-L", 2, "-T", 1_000_000_000], ("T=1000000000", "--max-bytes")),
    (["rank", "-M", 2, "-R", 2, "-L", 2, "-T", 4, "--max-bytes", "1K"], ("over the limit of 9.54e-07 GiB", "--max-bytes")),
])
def test_sizes_refused_before_allocating(capsys, argv, expect):
    refused(capsys, *argv, expect=expect)


def test_train_huge_width_refused_before_building(capsys, tmp_path):
    refused(capsys, "train", "--task", "copying", "-T", 3, "--cell", "rac", "-L", 1, "--hidden", 1_000_000,
            "--out", tmp_path / "run", expect=("width 1000000", "TiB", "--max-bytes"))
    assert not (tmp_path / "run").exists()


# --- row 4: invalid numbers are refused, never silently replaced -------------------------------


@pytest.mark.parametrize("flag, value, expect", [
    ("--prime", "0", "argument --prime: must be a prime"),
    ("--prime", "12", "prime=12 is not prime"),
    ("--seed", "-1", "argument --seed: a seed must be an integer in [0, 2**63)"),
    ("--draws", "0", "argument --draws: must be a positive integer"),
    ("--method", "magic", "argument --method: invalid choice"),
    ("--max-bytes", "lots", "argument --max-bytes: expected a byte count"),
])
def test_rank_bad_numbers_name_the_argument(capsys, flag, value, expect):
    refused(capsys, "rank", "-M", 2, "-R", 2, "-L", 2, "-T", 4, flag, value, expect=expect)


def test_odd_length_error_names_the_flag_and_is_printed_as_the_library_wrote_it(capsys):
    from tnrnn.rac.partitions import start_end

    _, err = refused(capsys, "rank", "-M", 2, "-R", 2, "-L", 2, "-T", 5, expect="--partition cut:K")
    with pytest.raises(ValueError) as library:
        start_end(5)
    assert str(library.value) in err  # written once, in words both readers understand


SWEEP = tiny_sweep_toml("t")


# --- row 5: output locations: one rule, checked before work, results never lost ------------------


@pytest.fixture
def places(tmp_path):
    """A regular file, a path under it, and a read-only directory simulated by a failing mkstemp."""
    a_file = tmp_path / "a_file"
    a_file.write_text("not a directory")
    return {"file": a_file, "under_file": a_file / "sub"}


@pytest.mark.parametrize("argv, flag", [
    (["rank", "-M", 2, "-R", 2, "-L", 2, "-T", 4, "--profile", "--plot", "{under_file}/p.png"], "--plot"),
    (["demo", "--lengths", 2, "--depths", 1, "--plot", "{under_file}/d.png"], "--plot"),
    (["depth-table", "--lengths", 2, "--depths", 1, "--plot", "{under_file}/d.png"], "--plot"),
    (["draw", "-M", 2, "-R", 2, "-L", 1, "-T", 2, "--plot", "{under_file}/n.png"], "--plot"),
    (["reproduce", "--only", "networks", "--out", "{under_file}"], "--out"),
    (["report", "--db", "{db}", "--markdown", "{under_file}/r.md"], "--markdown"),
    (["report", "--db", "{db}", "--csv", "{under_file}/r.csv"], "--csv"),
    (["report", "--db", "{db}", "--out", "{file}"], "--out"),
    (["sweep", "{config}", "--db", "{under_file}/s.sqlite"], "--db"),
    (["timescale", "--experiment", "--quick", "--out", "{under_file}"], "--out"),
    (["train", "--task", "copying", "-T", 3, "--cell", "rac", "-L", 1, "-R", 2, "--out", "{file}"], "--out"),
])
def test_outputs_under_a_file_are_refused_before_work(capsys, tmp_path, places, argv, flag):
    config = tmp_path / "s.toml"
    config.write_text(SWEEP)
    db = tmp_path / "r.sqlite"
    from tnrnn.experiments import ResultsStore

    ResultsStore(db).close()
    names = {**places, "config": config, "db": db}
    out, err = refused(capsys, *[str(a).format(**names) for a in argv], expect=(flag, str(places["file"])))
    assert out == ""


def test_unwritable_directory_is_refused(capsys, tmp_path, monkeypatch):
    # root writes everywhere, so a read-only directory is simulated where the check writes
    import tempfile

    real = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and Path(dir).name == "readonly":
            raise PermissionError(13, "Permission denied", str(dir))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    (tmp_path / "readonly").mkdir()
    refused(capsys, "draw", "-M", 2, "-R", 2, "-L", 1, "-T", 2, "--plot", tmp_path / "readonly" / "n.png",
            expect=("--plot", "cannot create or write", "Permission denied"))


def test_missing_directories_are_created_for_every_output(capsys, tmp_path):
    status, out, err, _ = run(capsys, "draw", "-M", 2, "-R", 2, "-L", 1, "-T", 2, "--plot",
                              tmp_path / "new" / "dir" / "n.png")
    assert status == 0, err and (tmp_path / "new" / "dir" / "n.png").is_file()
    status, out, err, _ = run(capsys, "rank", "-M", 2, "-R", 2, "-L", 1, "-T", 4, "--profile", "--plot",
                              tmp_path / "other" / "p.png", "--json")
    assert status == 0, err and (tmp_path / "other" / "p.png").is_file()
    assert json.loads(out)["cuts"] == [1, 2, 3]


def test_results_printed_before_a_later_failure_are_kept(capsys, tmp_path, monkeypatch):
    import tnrnn.ranks.cuts

    def broken_plot(profile, path):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(tnrnn.ranks.cuts, "plot_rank_profile", broken_plot)
    status, out, err, _ = run(capsys, "rank", "-M", 2, "-R", 2, "-L", 2, "-T", 4, "--profile", "--plot",
                              tmp_path / "p.png")
    assert status == 2 and "No space left on device" in err and "Traceback" not in err
    assert "cut k" in out and "largest rank" in out  # the computed profile is on stdout


def test_store_that_is_not_sqlite_is_named(capsys, tmp_path):
    db = tmp_path / "junk.sqlite"
    db.write_bytes(os.urandom(4096))
    refused(capsys, "report", "--db", db, expect=str(db))


# --- row 6: corrupt checkpoints, configs and metrics are refused with the file's name ----------


TRAIN = ["train", "--task", "copying", "--length", "3", "--cell", "rac", "--depth", "1", "--hidden", "3",
         "--alphabet", "3", "--word-length", "2", "--steps", "4", "--batch-size", "4", "--eval-every", "2",
         "--val-size", "8", "--no-progress"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(TRAIN + ["--out", str(out)]) == 0
    return out


def _copy_run(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for name in ("config.json", "metrics.jsonl", "checkpoint.pt"):
        (dst / name).write_bytes((src / name).read_bytes())
    return dst


@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage"])
def test_corrupt_checkpoint_refused_by_probe_and_train(capsys, tmp_path, trained, damage):
    run_dir = _copy_run(trained, tmp_path / "run")
    checkpoint = run_dir / "checkpoint.pt"
    data = checkpoint.read_bytes()
    checkpoint.write_bytes({"empty": b"", "truncated": data[: len(data) // 2], "garbage": os.urandom(2000)}[damage])
    refused(capsys, "probe", run_dir, "--length", 2, expect=(str(checkpoint), "delete it"))
    refused(capsys, *TRAIN, "--steps", "6", "--out", run_dir, expect=(str(checkpoint), "delete it"))


def test_corrupt_config_refused_with_its_name(capsys, tmp_path, trained):
    run_dir = _copy_run(trained, tmp_path / "run")
    (run_dir / "config.json").write_text('{"task": "copying", "len')
    refused(capsys, "probe", run_dir, "--length", 2, expect=(str(run_dir / "config.json"), "not valid JSON"))


def test_stale_temp_files_removed_and_torn_metrics_line_dropped_on_resume(capsys, tmp_path, trained):
    run_dir = _copy_run(trained, tmp_path / "run")
    stale = run_dir / ".checkpoint.pt.k3j4h5.tmp"
    stale.write_bytes(b"half a checkpoint")
    metrics = run_dir / "metrics.jsonl"
    metrics.write_text(metrics.read_text() + '{"step": 5, "val_lo')
    status, out, err, _ = run(capsys, *TRAIN, "--steps", "6", "--out", run_dir)
    assert status == 0, err
    assert not stale.exists()
    assert "dropped the incomplete last line" in err and str(metrics) in err
    steps = [json.loads(line)["step"] for line in metrics.read_text().splitlines()]
    assert steps == sorted(steps) and steps[-1] == 6


def test_bad_metrics_line_in_the_middle_is_refused(capsys, tmp_path, trained):
    run_dir = _copy_run(trained, tmp_path / "run")
    metrics = run_dir / "metrics.jsonl"
    lines = metrics.read_text().splitlines()
    metrics.write_text("\n".join(["garbage"] + lines) + "\n")
    refused(capsys, *TRAIN, "--steps", "6", "--out", run_dir, expect=(str(metrics), "line 1"))


# --- row 7: probe numbers ---------------------------------------------------------------------


@pytest.mark.parametrize("flag, value, expect", [
    ("--tolerance", "-1", "argument --tolerance: must be a finite number in (0, inf]"),
    ("--tolerance", "nan", "argument --tolerance: must be a finite number"),
    ("--step", "99", "--step must be in [-2, 1] for --length 2, got 99"),
    ("--output-index", "50", "--output-index must be in [0,"),
    ("--symbols", "a,b", "--symbols must be a count or a comma-separated list"),
])
def test_probe_bad_numbers(capsys, trained, flag, value, expect):
    refused(capsys, "probe", trained, "--length", 2, flag, value, expect=expect)


# --- row 8: devices ---------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    TRAIN + ["--device", "{device}", "--out", "{out}"],
    ["linear-kernel", "--sigma-w", "0.9", "--width", "4", "--lags", "3", "--device", "{device}"],
])
@pytest.mark.parametrize("device, expect", [("foo", "not a torch device"), ("cuda:7", "cuda:7")])
def test_devices_checked_before_work(capsys, tmp_path, argv, device, expect):
    import torch

    if device.startswith("cuda") and torch.cuda.device_count() > 7:
        pytest.skip("this machine has 8 GPUs")
    refused(capsys, *[a.format(device=device, out=tmp_path / "r") for a in argv], expect=("--device", expect))


def test_cuda_without_cuda_is_a_clean_error(capsys, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    refused(capsys, *TRAIN, "--device", "cuda", "--out", tmp_path / "r", expect="CUDA is not available")
    refused(capsys, "linear-kernel", "--sigma-w", "0.9", "--width", "4", "--lags", "3", "--device", "cuda",
            expect="CUDA is not available")


# --- row 9: messages name the argument or the file ---------------------------------------------


def test_binary_sweep_config_is_named(capsys, tmp_path):
    config = tmp_path / "binary.toml"
    config.write_bytes(bytes(range(256)) * 4)
    refused(capsys, "sweep", config, "--db", tmp_path / "s.sqlite", expect=(str(config), "not a text file"))


# --- row 10: Ray that cannot start ---------------------------------------------------------------


def test_ray_that_cannot_start_is_one_line(capsys, tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")

    def fail(*args, **kwargs):
        raise ConnectionError("could not connect to the GCS")

    monkeypatch.setattr(ray, "init", fail)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    config = tmp_path / "s.toml"
    config.write_text(SWEEP)
    refused(capsys, "sweep", config, "--db", tmp_path / "s.sqlite", "--executor", "ray", "--no-progress",
            expect=("--executor ray", "ConnectionError", "--executor local"))


# --- row 11: probes are labelled float, in JSON and in the store ----------------------------------


def test_probe_exact_json_labels_every_float_rank(capsys, tmp_path, trained):
    status, out, err, _ = run(capsys, "probe", trained, "--length", 2, "--exact", "--json")
    assert status == 0, err
    result = json.loads(out)
    assert result["kind"] == "float" and result["rac_route"]["kind"] == "float"
    assert not any("exact" in key for key in result)


def test_results_store_probes_have_a_kind_column(tmp_path):
    from tnrnn.experiments import ResultsStore

    db = tmp_path / "r.sqlite"
    with ResultsStore(db) as store:
        store.record("p", "demo", {"depth": 1}, {"summary": {}, "probes": [
            {"length": 2, "partition": "start-end", "route": "model", "rank": 2}]}, 0.1)
        assert store.probes()[0]["kind"] == "float"
    with sqlite3.connect(db) as connection:  # the column is part of the schema itself
        columns = {row[1] for row in connection.execute("PRAGMA table_info(probes)")}
    assert "kind" in columns


def test_no_traceback_for_a_usage_error_in_a_subprocess(tmp_path):
    import subprocess

    proc = subprocess.run([sys.executable, "-m", "tnrnn", "rank", "-M", "2", "-R", "2", "-L", "2", "-T", "4",
                           "--prime", "0"], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--prime" in proc.stderr
