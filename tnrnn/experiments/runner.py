"""Running one sweep point: the directory lock and the default train-probe-theory runner."""

from __future__ import annotations

import importlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from tnrnn import _threads
from tnrnn._numbers import bounded
from tnrnn._runfiles import read_metrics
from tnrnn.guards import limits

__all__ = ["execute_point", "train_and_probe"]

def _load_runner(path: str) -> Callable[[dict], dict]:
    module_name, function_name = path.split(":")
    return getattr(importlib.import_module(module_name), function_name)


def execute_point(payload: dict) -> tuple[list[tuple[str, dict]], float]:
    """Run one unit of work (in whatever process): lock its directory, call the runner, time it.

    A unit is one point, or for the default runner the points of one ensemble (a payload
    with ``points``).

    The lock (``fcntl.flock`` on ``run_dir/.lock``) makes a second sweep process that
    reaches the same point wait instead of training it twice at the same time; the
    operating system releases it when the holder dies, even by ``kill -9``.

    Returns
    -------
    (results, seconds)
        ``results``: ``(point_id, result)`` for every point of the unit.
    """
    import fcntl

    run_dir = Path(payload["run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(run_dir / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lock.truncate(0)  # who holds it: a sweep whose worker died asks whether this unit had started
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        try:
            result = _load_runner(payload["runner"])(payload)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    results = list(result.items()) if "points" in payload else [(payload["point_id"], result)]
    return results, time.perf_counter() - start


def train_and_probe(payload: dict) -> dict:
    """The default runner: train the points of one ensemble (resuming), probe each, compare with the theory.

    ``payload`` holds ``points`` (each with ``point_id`` and ``train``, the training
    options, which differ only by ``seed``), ``seeds``, ``run_dir``, ``probe``, ``theory``
    and ``cpus``. The members are trained together by :func:`tnrnn.nn.train_ensemble`
    (seed ``s`` in ``run_dir/seed-<s>``). Returns ``{point_id: result}``; a result is a
    JSON-ready dict with ``summary`` (the member's training summary, test accuracy
    included), ``task_probe`` (the task-data probe, where ``[probe] task_pairs`` > 0),
    ``curve`` (the validation curve), ``probes`` (one row per probe length and route: ``model`` for the torch forward pass,
    ``rac`` for the exported RAC weights of RAC models, each with the theory interval of
    the RAC with the same width and depth over the probe symbols, and its exact generic
    rank where the dense route fits ``theory.max_bytes``) and ``theory_task`` (the
    closed-form interval at the task's own sequence length, with M = the task alphabet).
    """
    import dataclasses

    import torch

    from tnrnn.nn import TrainConfig, load_run, member_dir, train_ensemble

    # the point's CPUs, never more than this process may use (a million threads is a segmentation fault)
    torch.set_num_threads(max(1, min(int(payload.get("cpus", 1)), _threads.available_cpus())))
    configs = [TrainConfig.from_dict(point["train"]) for point in payload["points"]]
    shared = dataclasses.replace(configs[0], seed=0)
    if any(dataclasses.replace(c, seed=0) != shared for c in configs):
        raise ValueError("the points of one ensemble must differ only by seed")
    with limits(max_bytes=payload.get("max_bytes")):  # the sweep's [run] max_bytes, as its config check used
        ensemble = train_ensemble(configs[0], payload["seeds"], payload["run_dir"], progress=False,
                                  threads=max(1, int(payload.get("cpus", 1))))
    results = {}
    for point, summary in zip(payload["points"], ensemble["members"]):
        directory = member_dir(payload["run_dir"], summary["seed"])
        model, config, task = load_run(directory)
        results[point["point_id"]] = _probe_member(model, config, task, summary, payload)
        results[point["point_id"]]["curve"] = _curve(directory)
    return results


def _curve(directory: Path) -> list[dict]:
    """The validation curve of a run: step, validation loss and accuracy at every evaluation."""
    from tnrnn.nn.training import METRICS_FILE

    lines, _ = read_metrics(directory / METRICS_FILE)  # structure checked, named if wrong
    return [{"step": m["step"], "val_loss": m.get("val_loss"), "accuracy": m.get("accuracy")} for m in lines]


def _probe_member(model, config, task, summary: dict, payload: dict) -> dict:
    model.eval()
    result = {"summary": _jsonable(summary), "sequence_length": task.sequence_length, "probes": [],
              "theory_task": {}, "task_probe": {}}
    probe_cfg, theory_cfg = payload["probe"], payload["theory"]
    if task.alphabet_size is not None and task.sequence_length % 2 == 0:
        result["theory_task"] = _theory(task.alphabet_size, config.hidden, config.depth,
                                        task.sequence_length, "start-end", compute=False)
    if probe_cfg.get("task_pairs"):
        from tnrnn.probe import NonFiniteOutputError, task_probe

        try:
            found = task_probe(model, task, pairs=probe_cfg["task_pairs"], seed=probe_cfg["seed"],
                               output_index=probe_cfg["output_index"])
        except NonFiniteOutputError:  # a diverged network is a result too: recorded, the sweep goes on
            result["task_probe"] = {"method": "diverged", "pairs": probe_cfg["task_pairs"]}
            result["diverged"] = True
        else:
            result["task_probe"] = _jsonable(found.to_dict())
    for length in probe_cfg["lengths"]:
        result["probes"].extend(_probe_rows(model, task, config, length, probe_cfg, theory_cfg))
    return result


def _theory(templates: int, hidden: int, depth: int, length: int, partition: str, *, compute: bool,
            max_bytes: int = 2**28) -> dict:
    from tnrnn.rac.bounds import bounds
    from tnrnn.rac.circuits import RACSpec
    from tnrnn.rac.grid import check_grid_size
    from tnrnn.rac.partitions import parse_partition

    spec = RACSpec(templates, hidden, depth)
    closed = bounds(spec, length, parse_partition(partition, length)).to_dict()
    certified = closed["lower"] == closed["upper"]
    closed = bounded(closed)  # JSON and SQLite write integers as decimal text, limited to 4300 digits
    out = {"templates": templates, "lower": closed["lower"], "upper": closed["upper"], "rank": None,
           "certified": certified, "bounds": closed}
    if compute and not out["certified"]:
        try:
            check_grid_size(templates, hidden, depth, length, max_bytes)
        except ValueError:
            return out
        from tnrnn.ranks.router import generic_rank

        exact = generic_rank(spec, length, partition, method="dense", max_bytes=max_bytes)
        out.update(rank=exact.rank, lower=exact.lower, upper=exact.upper, certified=exact.certified)
    elif out["certified"]:
        out["rank"] = out["lower"]
    return out


def _probe_rows(model, task, config, length: int, probe_cfg: dict, theory_cfg: dict) -> list[dict]:
    from tnrnn.probe import NonFiniteOutputError, probe_model, rac_probe

    common = {k: probe_cfg[k] for k in ("output_index", "symbols", "tolerance")}
    try:
        found = probe_model(model, task, length, probe_cfg["partition"], step=probe_cfg["step"],
                            method=probe_cfg["method"], rows=probe_cfg["rows"], cols=probe_cfg["cols"],
                            seed=probe_cfg["seed"], **common)
    except NonFiniteOutputError:  # a diverged network is a result too: no rank, method "diverged"
        return [{"length": length, "partition": probe_cfg["partition"], "route": "model",
                 "method": "diverged", "rank": None, "kind": "float"}]
    results = [("model", found)]
    if probe_cfg["exact"] and config.cell == "rac" and probe_cfg["step"] == -1 \
            and found.method == "dense":
        results.append(("rac", rac_probe(model, length, probe_cfg["partition"], **common)))
    theory = _theory(len(found.symbols), config.hidden, config.depth, length, probe_cfg["partition"],
                     compute=theory_cfg["generic_rank"], max_bytes=theory_cfg["max_bytes"])
    rows = []
    for route, r in results:
        rows.append({"length": length, "partition": r.partition, "route": route, "method": r.method,
                     "rank": r.rank, "kind": "float", "tolerance": r.tolerance, "effective_rank": r.effective_rank,
                     "entropy": r.entropy, "log_gap_index": r.log_gap_index, "rows": r.shape[0],
                     "cols": r.shape[1], "lower_bound_only": int(r.lower_bound_only),
                     "templates": len(r.symbols), "theory_lower": theory["lower"],
                     "theory_upper": theory["upper"], "theory_rank": theory["rank"],
                     "theory_certified": int(theory["certified"]), "spectrum": r.spectrum})
    return rows


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=lambda v: v.item() if hasattr(v, "item") else str(v)))
