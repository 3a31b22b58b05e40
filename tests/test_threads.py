"""The thread policy: one count for torch, BLAS and flint, chosen from the CPUs this process may use."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys

import pytest

from tnrnn import _threads
from tnrnn.cli import THREAD_KINDS, build_parser, main


def _openblas_threads() -> int | None:
    for path in sorted({line.split()[-1] for line in open("/proc/self/maps") if "openblas" in line.lower()}):
        lib = ctypes.CDLL(path)
        for name in ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads"):
            if hasattr(lib, name):
                return getattr(lib, name)()
    return None


def test_small_work_defaults_to_one_thread_and_env_overrides():
    assert _threads.default_threads("small", env={}) == 1
    assert _threads.default_threads("small", env={"TNRNN_THREADS": "3"}) == 3
    assert _threads.default_threads("compute", env={"TNRNN_THREADS": " 2 "}) == 2


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5"])
def test_bad_env_value_names_the_variable_and_what_is_valid(bad):
    with pytest.raises(ValueError, match=rf"TNRNN_THREADS={bad!r}: expected a positive integer"):
        _threads.default_threads("compute", env={"TNRNN_THREADS": bad})


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown kind of work 'huge'"):
        _threads.default_threads("huge", env={})


def test_compute_default_is_the_idle_cpus(monkeypatch):
    monkeypatch.setattr(_threads, "available_cpus", lambda: 8)
    for busy, expected in [(0.0, 8), (0.3, 8), (2.6, 5), (7.4, 1), (40.0, 1)]:
        monkeypatch.setattr(_threads, "busy_cpus", lambda busy=busy: busy)
        assert _threads.default_threads("compute", env={}) == expected, busy


def test_available_cpus_follows_the_affinity_mask():
    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("no affinity on this platform")
    code = ("import os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}); "
            "from tnrnn._threads import available_cpus, default_threads; "
            "print(available_cpus(), default_threads('compute', env={}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert out.stdout.split() == ["1", "1"]


def test_one_cpu_count_for_the_whole_package(monkeypatch):
    """Thread checks, sweep workers and the policy all count CPUs with ``_threads.available_cpus``."""
    import ast
    from pathlib import Path

    import tnrnn
    from tnrnn._validation import check_threads

    monkeypatch.setattr(_threads, "available_cpus", lambda: 3)  # e.g. a cgroup quota below the affinity mask
    notes = []
    assert check_threads(5, "--threads", note=notes.append) == 3
    assert notes == ["note: --threads 5 is more than the 3 CPU(s) this process may use; using 3"]
    with pytest.raises(ValueError, match=r"in \[1, 48\] \(this process may use 3 CPU\(s\)\)"):
        check_threads(49, "--threads")
    counting = set()
    root = Path(tnrnn.__file__).parent
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("sched_getaffinity", "cpu_count"):
                counting.add(str(path.relative_to(root)))
    assert counting == {"_threads.py"}, "count CPUs only in tnrnn._threads.available_cpus"


@pytest.mark.parametrize("files, expected", [
    ({"cpu.max": "150000 100000\n"}, 1.5),
    ({"cpu.max": "max 100000\n"}, None),
    ({"cpu/cpu.cfs_quota_us": "50000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 0.5),
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
    ({}, None),
])
def test_cgroup_quota_v1_and_v2(tmp_path, files, expected):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert _threads._cgroup_cpus(tmp_path) == expected


def test_set_threads_reaches_torch_blas_and_flint():
    import flint
    import torch

    with _threads.threads(2) as n:
        assert n == 2
        assert (torch.get_num_threads(), flint.ctx.threads, os.environ["OMP_NUM_THREADS"]) == (2, 2, "2")
        assert os.environ["TNRNN_THREADS"] == "2"
        if _openblas_threads() is not None:
            assert _openblas_threads() == 2
        with _threads.threads(1):
            assert (torch.get_num_threads(), flint.ctx.threads) == (1, 1)
            if _openblas_threads() is not None:
                assert _openblas_threads() == 1
        assert (torch.get_num_threads(), flint.ctx.threads) == (2, 2)


def test_every_computing_command_takes_threads():
    parser = build_parser()
    subs = next(a for a in parser._actions if a.dest == "command").choices
    assert {"rank", "compare", "demo", "depth-table", "train", "sweep", "probe", "reproduce"} <= set(THREAD_KINDS)
    for name, sub in subs.items():
        flags = {flag for action in sub._actions for flag in action.option_strings}
        assert ("--threads" in flags) == (name in THREAD_KINDS), name


def test_cli_threads_applies_for_the_command_and_is_restored(monkeypatch, capsys):
    import flint

    seen = []
    import tnrnn.ranks.router

    real = tnrnn.ranks.router.generic_rank

    def spy(*args, **kwargs):
        seen.append((flint.ctx.threads, os.environ.get("OMP_NUM_THREADS")))
        return real(*args, **kwargs)

    monkeypatch.setattr(tnrnn.ranks.router, "generic_rank", spy)
    before = flint.ctx.threads
    assert main(["rank", "-M", "2", "-R", "2", "-L", "2", "-T", "4", "--threads", "2", "--json"]) == 0
    assert seen == [(2, "2")]
    assert flint.ctx.threads == before


def test_cli_bad_threads_name_the_subcommand(monkeypatch, capsys):
    assert main(["rank", "-M", "2", "-R", "2", "-L", "1", "-T", "4", "--threads", "0"]) == 2
    err = capsys.readouterr().err
    assert "tnrnn rank: error: argument --threads" in err and "(see tnrnn rank --help)" in err
    monkeypatch.setenv("TNRNN_THREADS", "many")
    assert main(["rank", "-M", "2", "-R", "2", "-L", "1", "-T", "4"]) == 2
    assert "tnrnn rank: error: TNRNN_THREADS='many': expected a positive integer" in capsys.readouterr().err
