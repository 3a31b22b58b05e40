"""The thread policy against every thread count, on a quiet machine and with one busy process per core.

A fixed set of ``tnrnn`` commands (a compare table, a depth-3 rank, a 5-seed training
ensemble, a rank profile) is run as separate processes with the default thread count (no
``--threads``, no ``TNRNN_THREADS``, no ``OMP_NUM_THREADS``) and with ``--threads N`` for
every N from 1 to the CPUs this process may use. Each configuration is timed (wall clock)
in two conditions: *quiet* (whatever else runs on the machine, reported as its load) and
*loaded* (plus one ``while True: pass`` process per available CPU). The verdict: the
default is within 1.3x of the best count in both conditions, for every command.

Run::

    python benchmarks/bench_threads.py            # small sizes, about 5-10 minutes on 2 cores
    python benchmarks/bench_threads.py --full     # the sizes of issue 21 (compare's defaults, T=16)
    python benchmarks/bench_threads.py --json out.json
    python benchmarks/bench_threads.py --record   # into docs/measurements.json and docs/performance.md
    python benchmarks/bench_threads.py --record --from out.json   # record an earlier run

Prints one row per command and condition: the load average before it, the threads the
default chose, the seconds of each configuration, and default / best. Configurations run
in a rotating order so that a drift in load does not favour one of them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tnrnn._threads import available_cpus  # noqa: E402

#: name -> (small sizes, full sizes): arguments of ``tnrnn``; ``{out}`` is a fresh directory.
COMMANDS: dict[str, tuple[list[str], list[str]]] = {
    "compare": (["compare", "-T", "8", "16", "32", "--json"], ["compare", "--json"]),
    "depth-3 rank": (["rank", "-M", "3", "-R", "3", "-L", "3", "-T", "14", "--json"],
                     ["rank", "-M", "3", "-R", "3", "-L", "3", "-T", "16", "--json"]),
    "5-seed ensemble": (["train", "--task", "ses", "--length", "48", "--depth", "2", "--hidden", "36",
                         "--steps", "60", "--eval-every", "60", "--seeds", "0", "1", "2", "3", "4",
                         "--no-progress", "--out", "{out}"],
                        ["train", "--task", "ses", "--length", "96", "--depth", "2", "--hidden", "36",
                         "--steps", "150", "--eval-every", "150", "--seeds", "0", "1", "2", "3", "4",
                         "--no-progress", "--out", "{out}"]),
    "profile": (["rank", "-M", "3", "-R", "3", "-L", "2", "-T", "24", "--profile", "--json"],
                ["rank", "-M", "3", "-R", "3", "-L", "2", "-T", "32", "--profile", "--json"]),
}

#: Runs the command and reports (on the last stderr line) the thread count the policy chose.
_CHILD = """
import sys
from tnrnn import _threads
chosen = []
_real = _threads.set_threads
def _spy(n=None, kind="compute"):
    value = _real(n, kind)
    chosen.append(value)
    return value
_threads.set_threads = _spy
from tnrnn.cli import main
status = main(sys.argv[1:])
print("THREADS", chosen[0] if chosen else 0, file=sys.stderr)
sys.exit(status)
"""

_CLEAN_ENV = ("TNRNN_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def run_once(argv: list[str], threads: int | None) -> tuple[float, int]:
    """Seconds of one ``tnrnn`` run and the thread count it used."""
    env = {k: v for k, v in os.environ.items() if k not in _CLEAN_ENV}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryDirectory() as tmp:
        args = [a.replace("{out}", str(Path(tmp) / "run")) for a in argv]
        if threads is not None:
            args += ["--threads", str(threads)]
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _CHILD, *args], env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"`tnrnn {' '.join(args)}` failed ({done.returncode}):\n{done.stderr[-2000:]}")
    used = int(done.stderr.strip().splitlines()[-1].split()[1])
    return seconds, used


class Busy:
    """One busy-looping process per CPU while the block runs."""

    def __init__(self, count: int):
        self.count = count
        self.procs: list[subprocess.Popen] = []

    def __enter__(self):
        self.procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(self.count)]
        time.sleep(2.0)
        return self

    def __exit__(self, *exc):
        for proc in self.procs:
            proc.kill()
        for proc in self.procs:
            proc.wait()


def measure(full: bool, repeats: int) -> dict:
    cpus = available_cpus()
    counts = list(range(1, cpus + 1))
    rows = []
    rotation = 0
    for condition in ("quiet", "loaded"):
        for name, (small, big) in COMMANDS.items():
            argv = big if full else small
            configs: list[int | None] = [None, *counts]
            times: dict[str, list[float]] = {str(c): [] for c in configs}
            chosen = []
            load = os.getloadavg()[0]
            with Busy(cpus if condition == "loaded" else 0):
                for _ in range(repeats):
                    order = configs[rotation % len(configs):] + configs[:rotation % len(configs)]
                    rotation += 1
                    for threads in order:
                        seconds, used = run_once(argv, threads)
                        times[str(threads)].append(seconds)
                        if threads is None:
                            chosen.append(used)
                        print(f"  {condition:6s} {name:16s} threads={threads or 'default'}: {seconds:.2f} s",
                              file=sys.stderr, flush=True)
            best = {k: min(v) for k, v in times.items()}
            best_count = min(counts, key=lambda c: best[str(c)])
            rows.append({"command": name, "argv": ["tnrnn", *argv], "condition": condition,
                         "load_before": round(load, 2), "default_threads": chosen,
                         "seconds": best, "best_threads": best_count,
                         "ratio": best["None"] / best[str(best_count)]})
    return {"machine": platform.node(), "processor": platform.processor() or platform.machine(),
            "available_cpus": cpus, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "repeats": repeats, "full": full, "rows": rows}


def table(result: dict) -> str:
    counts = range(1, result["available_cpus"] + 1)
    header = ["command", "condition", "load", "default (threads)", *[f"{c} thread(s)" for c in counts],
              "default / best", "within 1.3x"]
    lines = [" | ".join(header), " | ".join("---" for _ in header)]
    for row in result["rows"]:
        s = row["seconds"]
        lines.append(" | ".join([
            row["command"], row["condition"], f"{row['load_before']:.1f}",
            f"{s['None']:.1f} s ({'/'.join(map(str, sorted(set(row['default_threads']))))})",
            *[f"{s[str(c)]:.1f} s" for c in counts], f"{row['ratio']:.2f}", "yes" if row["ratio"] <= 1.3 else "NO"]))
    return "\n".join(f"| {line} |" for line in lines)


START, END = "<!-- threads:start -->", "<!-- threads:end -->"


def record(result: dict) -> None:
    """Store ``result`` as ``threads`` in docs/measurements.json and its table in docs/performance.md."""
    measurements = ROOT / "docs" / "measurements.json"
    data = json.loads(measurements.read_text()) if measurements.exists() else {"entries": {}}
    data["threads"] = result
    measurements.write_text(json.dumps(data, indent=1) + "\n")
    performance = ROOT / "docs" / "performance.md"
    text = performance.read_text()
    begin, end = text.index(START), text.index(END) + len(END)
    performance.write_text(text[:begin] + threads_section(result) + text[end:])


def threads_section(result: dict) -> str:
    """The generated part of the Threads section of docs/performance.md."""
    commands = "; ".join(f"{row['command']}: `{' '.join(row['argv'])}`" for row in result["rows"]
                         if row["condition"] == "quiet")
    return "\n".join([START, f"Measured {result['date']} on `{result['machine']}` ({result['available_cpus']} CPUs "
                       f"available), wall seconds of the whole process, best of {result['repeats']}; load: the "
                       f"1-minute load average before the row (other users of the machine included). Commands: "
                       f"{commands}.", "", table(result), END])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the sizes of issue 21 (several times longer)")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each configuration (best kept)")
    parser.add_argument("--json", default=None, help="also write the measurements to this JSON file")
    parser.add_argument("--record", action="store_true",
                        help="store the result in docs/measurements.json and its table in docs/performance.md")
    parser.add_argument("--from", dest="source", default=None, help="with --record: a --json file of an earlier run")
    args = parser.parse_args(argv)
    result = json.loads(Path(args.source).read_text()) if args.source else measure(args.full, args.repeats)
    if args.record:
        record(result)
    print(f"{result['date']}, {result['machine']}, {result['available_cpus']} CPUs available; "
          f"wall seconds, best of {args.repeats}")
    print(table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    ok = all(row["ratio"] <= 1.3 for row in result["rows"])
    print("default within 1.3x of the best everywhere" if ok else "default NOT within 1.3x everywhere")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
