"""Measure the timings and counts the README and the docs quote, into ``docs/measurements.json``.

Every timing or count a newcomer reads in ``README.md`` or ``docs/`` (outside the rank-engine
pages, which carry their own benchmark tables) is one entry of ``docs/measurements.json``,
written here with the machine, the load average before and after, the thread count, the date
and the exact command. The docs quote an entry as ``1.1 s (measurement `rank-depth2-t40`)``,
and ``docs/performance.md`` shows them all in a table generated from the file between the
markers ``<!-- measurements:start -->`` and ``<!-- measurements:end -->``;
``tests/test_measurements.py`` fails when a quote or the table disagrees with the file.

Run::

    python benchmarks/bench_docs.py                 # the quick entries (about 2 minutes on 2 cores)
    python benchmarks/bench_docs.py --only compare  # one entry (merged into the file)
    python benchmarks/bench_docs.py --tests         # also the whole test suite (minutes; counts)
    python benchmarks/bench_docs.py --only test-suite  # only the whole test suite (the other rows kept)
    python benchmarks/bench_docs.py --table         # only regenerate the table in performance.md

Each command runs as its own process, with the thread policy's default (no ``--threads``,
no ``TNRNN_THREADS``); the thread count it chose is recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _sibling(name: str):
    """Another benchmark script of this folder, imported by path (benchmarks are not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parent / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

ROOT = Path(__file__).resolve().parents[1]
MEASUREMENTS = ROOT / "docs" / "measurements.json"
PERFORMANCE = ROOT / "docs" / "performance.md"
START, END = "<!-- measurements:start -->", "<!-- measurements:end -->"

#: key -> (what, argv of tnrnn, how to read the value from --json output or None).
ENTRIES: dict[str, tuple[str, list[str], str | None]] = {
    "compare": ("the shallow-vs-deep table of `make demo` (depth 3 at T = 16 certified)",
                ["compare", "-M", "3", "-R", "3", "-T", "8", "16", "40", "--depths", "1", "2", "3"], None),
    "rank-depth2-t40": ("one depth-2 rank, certified", ["rank", "-M", "3", "-R", "3", "-L", "2", "-T", "40", "--json"],
                        "rank"),
    "rank-depth3-t16": ("one depth-3 rank, certified (a 6561-row exact block)",
                        ["rank", "-M", "3", "-R", "3", "-L", "3", "-T", "16", "--json"], "rank"),
    "reproduce-quick": ("every figure job at small size, into a fresh directory", ["reproduce", "--quick"], None),
}

#: The key of the whole test suite's entry (``--tests``, or ``--only test-suite`` alone).
TEST_SUITE = "test-suite"

#: The child program that runs a command and reports the thread count the policy chose (shared
#: with the threads benchmark, which defines it).
_CHILD = _sibling("bench_threads")._CHILD


def format_seconds(seconds: float) -> str:
    """How the docs write a duration: ``0.42 s``, ``3.1 s``, ``41 s``, ``5.2 min``.

    Examples
    --------
    >>> format_seconds(0.4249), format_seconds(3.14), format_seconds(40.6), format_seconds(312)
    ('0.42 s', '3.1 s', '41 s', '5.2 min')
    """
    if seconds < 1:
        return f"{seconds:.2f} s"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


def _environment() -> dict:
    import numpy
    import torch

    sys.path.insert(0, str(ROOT))
    from tnrnn._threads import available_cpus

    return {"machine": platform.node(), "processor": platform.processor() or platform.machine(),
            "available_cpus": available_cpus(), "python": platform.python_version(),
            "numpy": numpy.__version__, "torch": torch.__version__}


def _env() -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("TNRNN_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def measure_command(key: str) -> dict:
    what, argv, field = ENTRIES[key]
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:  # commands that write get a fresh directory here
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _CHILD, *argv], env=_env(), cwd=tmp, capture_output=True,
                              text=True)
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"`tnrnn {' '.join(argv)}` failed:\n{done.stderr[-2000:]}")
    entry = {"what": what, "command": "tnrnn " + " ".join(argv), "seconds": round(seconds, 2),
             "threads": int(done.stderr.strip().splitlines()[-1].split()[1]),
             "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2),
             "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    if field is not None:
        entry["value"] = json.loads(done.stdout)[field]
    return entry


def measure_tests() -> dict:
    load = os.getloadavg()[0]
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=ROOT, env=_env(),
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    tail = done.stdout.strip().splitlines()[-1]
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (passed|skipped|failed|errors?)", tail)}
    return {"what": "the whole test suite (tests, doctests, docs examples, notebooks at small size)",
            "command": "python -m pytest -q", "seconds": round(seconds, 2), "threads": 1,
            "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "value": counts}


def table(data: dict) -> str:
    env = data["environment"]
    lines = [START,
             f"Machine `{env['machine']}` ({env['processor']}, {env['available_cpus']} CPUs available), Python "
             f"{env['python']}, numpy {env['numpy']}, torch {env['torch']}; written by "
             "`benchmarks/bench_docs.py` into `docs/measurements.json`. Wall time of the whole process; the "
             "load average (1 minute) before and after; the threads the policy chose.",
             "",
             "| measurement | command | wall time | result | threads | load before / after | date |",
             "|---|---|---|---|---|---|---|"]
    for key, e in data["entries"].items():
        value = e.get("value", "")
        if isinstance(value, dict):
            value = ", ".join(f"{n} {w}" for w, n in value.items())
        lines.append(f"| `{key}`: {e['what']} | `{e['command']}` | {format_seconds(e['seconds'])} | {value} | "
                     f"{e['threads']} | {e['load_before']:.1f} / {e['load_after']:.1f} | {e['date']} |")
    lines.append(END)
    return "\n".join(lines)


def write_table(data: dict) -> None:
    text = PERFORMANCE.read_text()
    begin, end = text.index(START), text.index(END) + len(END)
    PERFORMANCE.write_text(text[:begin] + table(data) + text[end:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=[*sorted(ENTRIES), TEST_SUITE], default=None,
                        help=f"measure these entries ({TEST_SUITE}: the whole test suite, several minutes)")
    parser.add_argument("--tests", action="store_true", help="also time the whole test suite (several minutes)")
    parser.add_argument("--table", action="store_true", help="only regenerate the table in docs/performance.md")
    args = parser.parse_args(argv)
    data = json.loads(MEASUREMENTS.read_text()) if MEASUREMENTS.exists() else {"entries": {}}
    if not args.table:
        data["environment"] = _environment()
        for key in args.only or list(ENTRIES):
            if key == TEST_SUITE:
                data["entries"][key] = measure_tests()
                print(f"{key}: {format_seconds(data['entries'][key]['seconds'])} {data['entries'][key]['value']}")
                continue
            data["entries"][key] = measure_command(key)
            print(f"{key}: {format_seconds(data['entries'][key]['seconds'])} "
                  f"(threads {data['entries'][key]['threads']}, load {data['entries'][key]['load_before']})")
        if args.tests and TEST_SUITE not in (args.only or ()):
            data["entries"][TEST_SUITE] = measure_tests()
        MEASUREMENTS.write_text(json.dumps(data, indent=1) + "\n")
    write_table(data)
    print(table(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
