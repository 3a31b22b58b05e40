"""Running a sweep: skip stored points, run the rest in this process, a process pool or on Ray."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tnrnn.experiments.config import DEFAULT_RUNNER, Point, SweepConfig, _digest, load_config
from tnrnn.experiments.runner import execute_point
from tnrnn.experiments.store import ResultsStore

__all__ = ["SweepSummary", "run_sweep"]

@dataclass
class SweepSummary:
    """What a call of :func:`run_sweep` did.

    Attributes
    ----------
    total : int
        Points in the config.
    skipped : int
        Points already in the store (not run again).
    ran : int
        Points run and stored by this call.
    seconds : float
        Wall-clock time of this call.
    """

    total: int
    skipped: int
    ran: int
    seconds: float


def _payloads(config: SweepConfig, db: Path, points: Iterable[Point]) -> list[dict]:
    """One payload per unit of work: a point, or (default runner) the points that differ only by seed.

    The default runner trains a group as one ensemble (:func:`tnrnn.nn.train_ensemble`) in
    ``<runs>/<group-id>/``, the group id a hash of the shared training options and the
    seeds, so an interrupted group resumes where it stopped.
    """
    runs_dir = Path(config.run["runs_dir"]) if config.run["runs_dir"] else db.with_name(db.name + ".runs")
    if config.run["runs_dir"] and not runs_dir.is_absolute() and config.path is not None:
        runs_dir = config.path.parent / runs_dir
    common = {"probe": config.probe, "theory": config.theory, "runner": config.run["runner"],
              "cpus": config.run["cpus"], "gpus": config.run["gpus"]}

    def member(p: Point) -> dict:
        return {"point_id": p.point_id, "train_id": p.train_id, "params": p.params, "train": p.train}

    if config.run["runner"] != DEFAULT_RUNNER:
        return [{**member(p), "run_dir": str(runs_dir / p.train_id), **common} for p in points]
    groups: dict[str, list[Point]] = {}
    for p in points:
        shared = {k: v for k, v in p.train.items() if k != "seed"}
        groups.setdefault(_digest(shared), []).append(p)
    payloads = []
    for members in groups.values():
        shared = {k: v for k, v in members[0].train.items() if k != "seed"}
        seeds = [p.train["seed"] for p in members]
        group_id = _digest({"train": shared, "seeds": seeds})
        payloads.append({"group_id": group_id, "points": [member(p) for p in members], "seeds": seeds,
                         "run_dir": str(runs_dir / group_id), **common})
    return payloads


def run_sweep(config: SweepConfig | str | os.PathLike, db: str | os.PathLike, *, executor: str | None = None,
              workers: int | None = None, progress: bool = True, ray_address: str | None = None) -> SweepSummary:
    """Run every point of a sweep that is not yet in the store; store each as it finishes.

    Parameters
    ----------
    config : SweepConfig or path
    db : path
        The SQLite results store (created if missing; refused if of another schema).
    executor : {"local", "ray"}, optional
        Default: the config's ``[run] executor`` (itself ``local`` by default). ``local``
        runs points in this process (1 worker) or a process pool; ``ray`` submits one
        task per point with ``num_cpus``/``num_gpus`` from ``[run] cpus``/``gpus`` to the
        cluster at ``ray_address`` (or a local Ray instance).
    workers : int, optional
        Parallel points for ``local`` (default ``[run] workers``).
    progress : bool
        Show a tqdm bar.
    ray_address : str, optional
        Address of an existing Ray cluster (default: ``RAY_ADDRESS`` or a new local one).

    Returns
    -------
    SweepSummary

    Raises
    ------
    ValueError
        For a bad config, executor or store, before any point runs.

    Notes
    -----
    Points that differ only by ``seed`` are trained together as one ensemble (default
    runner; see :func:`tnrnn.nn.train_ensemble`) and stored as one row per seed, with
    ``seconds`` the wall time of the ensemble that trained them.

    Interrupting (Ctrl-C, ``kill -9``) loses nothing: finished points are committed one
    transaction each; a half-trained ensemble resumes from its training checkpoint.
    """
    from tqdm import tqdm

    start = time.perf_counter()
    if not isinstance(config, SweepConfig):
        config = load_config(config)
    executor = executor or config.run["executor"]
    if executor not in ("local", "ray"):
        raise ValueError(f"executor must be 'local' or 'ray', got {executor!r}")
    workers = int(workers or config.run["workers"])
    if workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers}")
    db = Path(db)
    with ResultsStore(db) as store:
        done = store.finished_ids()
        pending = [p for p in config.points if p.point_id not in done]
        payloads = _payloads(config, db, pending)
        bar = tqdm(total=len(config.points), initial=len(config.points) - len(pending), desc=config.name,
                   unit="point", disable=not progress)
        ran = 0

        def store_one(results, seconds):
            nonlocal ran
            for point_id, result in results:  # one transaction per point: a kill loses no stored row
                point = next(p for p in pending if p.point_id == point_id)
                store.record(point_id, config.name, point.train | {"budget": point.params.get("budget")},
                             result, seconds, train_id=point.train_id)
                ran += 1
                bar.update(1)

        try:
            if not payloads:
                pass
            elif executor == "ray":
                _run_ray(payloads, store_one, ray_address)
            elif workers == 1:
                for payload in payloads:
                    store_one(*execute_point(payload))
            else:
                _run_pool(payloads, store_one, workers)
        finally:
            bar.close()
    return SweepSummary(len(config.points), len(config.points) - len(pending), ran,
                        time.perf_counter() - start)


def _run_pool(payloads: list[dict], store_one, workers: int) -> None:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    context = multiprocessing.get_context("spawn")  # torch and fork do not mix
    pool = ProcessPoolExecutor(max_workers=min(workers, len(payloads)), mp_context=context)
    try:
        futures = {pool.submit(execute_point, payload) for payload in payloads}
        while futures:
            finished, futures = wait(futures, return_when=FIRST_COMPLETED)
            for future in finished:
                store_one(*future.result())
    except BaseException:
        # stop the workers now: their points resume from their checkpoints on the next run
        processes = list((pool._processes or {}).values())  # no public API for this
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        raise
    pool.shutdown()


def _run_ray(payloads: list[dict], store_one, address: str | None) -> None:
    try:
        import ray
    except ImportError:
        raise ValueError("--executor ray needs Ray: pip install 'tnrnn[ray]'") from None
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS")
        try:
            if address:
                ray.init(address=address)
            else:
                ray.init(include_dashboard=False, log_to_driver=False)
        except Exception as error:  # Ray raises many kinds (ConnectionError, RuntimeError, ...)
            where = f"the cluster at {address!r}" if address else "a local Ray instance"
            raise ValueError(f"--executor ray: could not start {where} ({type(error).__name__}: "
                             f"{str(error).splitlines()[0] if str(error) else ''}); use --executor local, "
                             f"or --ray-address of a running cluster") from None
    remote = ray.remote(execute_point)
    pending = {}
    for payload in payloads:
        ref = remote.options(num_cpus=payload["cpus"], num_gpus=payload["gpus"], max_retries=1).remote(payload)
        pending[ref] = payload["point_id"]
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                pending.pop(ref)
                store_one(*ray.get(ref))
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
