"""One way to set limits: ``tnrnn.limits(...)`` blocks, one error class, the same words in Python and on the CLI."""

from __future__ import annotations

import pytest

import tnrnn
from tnrnn import guards
from tnrnn.guards import SizeLimitError, active_limits, memory_limit, time_limit


def test_blocks_nest_and_restore():
    assert active_limits() == guards.Limits()
    with tnrnn.limits(max_bytes="2G", max_seconds=10) as outer:
        assert (outer.max_bytes, memory_limit(), time_limit()) == (2 * 2**30, 2 * 2**30, 10.0)
        with tnrnn.limits(max_bytes=2**20):
            assert memory_limit() == 2**20 and time_limit() == 10.0  # the time limit is inherited
            assert memory_limit(123) == 123  # an explicit argument wins over the block
        assert memory_limit() == 2 * 2**30
    assert active_limits() == guards.Limits() and time_limit() == guards.DEFAULT_MAX_SECONDS


def test_a_block_is_restored_after_an_error():
    with pytest.raises(RuntimeError), tnrnn.limits(max_bytes=1000):
        raise RuntimeError("inside")
    assert active_limits().max_bytes is None


@pytest.mark.parametrize("kwargs, match", [
    ({"max_bytes": "lots"}, "max_bytes='lots'"),
    ({"max_bytes": 0}, "max_bytes must be a positive byte count"),
    ({"max_bytes": True}, "max_bytes must be a positive byte count"),
    ({"max_seconds": -1.0}, "max_seconds must be a positive finite number"),
    ({"max_seconds": float("nan")}, "max_seconds must be a positive finite number"),
])
def test_bad_limits_are_refused_before_the_block_runs(kwargs, match):
    ran = []
    with pytest.raises(ValueError, match=match):
        with tnrnn.limits(**kwargs):
            ran.append(True)
    assert ran == [] and active_limits() == guards.Limits()


def test_a_block_limits_every_guard_of_the_library():
    spec = tnrnn.RACSpec(2, 2, 2)
    with tnrnn.limits(max_bytes=2**20):
        with pytest.raises(SizeLimitError, match=r"max_bytes=, --max-bytes or TNRNN_MAX_BYTES"):
            tnrnn.grid_tensor(tnrnn.RACWeights.gaussian(spec, seed=0), 20)
        with pytest.raises(SizeLimitError):
            tnrnn.RACWeights.gaussian(tnrnn.RACSpec(10**6, 2, 1), seed=0)  # weights beyond 1 MiB
    assert tnrnn.grid_tensor(tnrnn.RACWeights.gaussian(spec, seed=0), 12).shape == (2,) * 12


def test_a_time_limit_refuses_a_rank_before_any_work():
    spec = tnrnn.RACSpec(2, 2, 2)
    with tnrnn.limits(max_seconds=0.01), pytest.raises(SizeLimitError, match="max_seconds=, --max-seconds"):
        tnrnn.generic_rank(spec, 4, draws=100)  # predicted at least 0.2 s
    found = tnrnn.generic_rank(spec, 4, draws=100)  # no block: the library sets no time limit
    assert found.certified and found.rank == found.upper


def test_threads_inside_a_block():
    with tnrnn.limits(threads=1):
        assert tnrnn._threads.get_threads() == 1


def test_one_error_class():
    from tnrnn.rac.grid import GridTooLargeError
    from tnrnn.tn.network import NetworkTooLargeError

    assert GridTooLargeError is NetworkTooLargeError is SizeLimitError is tnrnn.SizeLimitError
    assert issubclass(SizeLimitError, ValueError)


def test_training_from_python_checks_memory_before_writing(tmp_path):
    from tnrnn.nn import TrainConfig, train, train_ensemble

    config = TrainConfig(task="copying", length=5, depth=1, hidden=64, steps=1)
    with tnrnn.limits(max_bytes=10_000):
        with pytest.raises(SizeLimitError, match="network"):
            train(config, tmp_path / "one")
        with pytest.raises(SizeLimitError, match="network"):
            train_ensemble(config, [0, 1], tmp_path / "many")
    assert list(tmp_path.iterdir()) == []


def test_the_cli_opens_the_same_block(capsys):
    from tnrnn.cli import main

    assert main(["rank", "-M", "2", "-R", "2", "-L", "2", "-T", "20", "--method", "dense", "--max-bytes", "1M"]) == 2
    err = capsys.readouterr().err
    with tnrnn.limits(max_bytes="1M"), pytest.raises(SizeLimitError) as library:
        tnrnn.generic_rank(tnrnn.RACSpec(2, 2, 2), 20, method="dense")
    assert str(library.value) in err
    assert active_limits() == guards.Limits()  # the command's block is closed again


def test_no_module_sets_a_limit_of_its_own():
    from pathlib import Path

    root = Path(tnrnn.__file__).parent
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py") if p.name != "guards.py"
                 and ("DEFAULT_MAX_BYTES =" in p.read_text() or "if max_bytes is None else" in p.read_text())]
    assert offenders == []


def test_a_sweep_point_trains_under_the_configs_memory_limit(tmp_path, monkeypatch):
    from tnrnn.experiments.config import load_config
    from tnrnn.experiments.executors import work_units

    config_file = tmp_path / "sweep.toml"
    config_file.write_text('name = "limit"\n[sweep]\ntask = "copying"\nlength = 5\ndepth = [1]\nhidden = 4\n'
                           'steps = 1\nseed = [0]\n[run]\nmax_bytes = "16G"\n')
    config = load_config(config_file)
    payloads = work_units(config, tmp_path / "db.sqlite")
    assert {p["max_bytes"] for p in payloads} == {16 * 2**30}
    seen = []
    monkeypatch.setattr("tnrnn.nn.train_ensemble", lambda *a, **k: seen.append(memory_limit()) or 1 / 0)
    from tnrnn.experiments.runner import train_and_probe

    with pytest.raises(ZeroDivisionError):
        train_and_probe(payloads[0])
    assert seen == [16 * 2**30] and active_limits().max_bytes is None
