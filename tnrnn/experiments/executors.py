"""Running a sweep: skip stored points, run the rest in this process, a process pool or on Ray."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tnrnn.experiments.config import DEFAULT_RUNNER, Point, SweepConfig, _digest, load_config
from tnrnn.experiments.runner import execute_point
from tnrnn.experiments.store import ResultsStore

__all__ = ["SweepSummary", "SweepTerminated", "run_sweep", "work_units"]

#: Times a unit of work is started when its worker process dies (kill -9, the OOM killer): once more.
ATTEMPTS = 2


class SweepTerminated(KeyboardInterrupt):
    """The sweep stopped on SIGTERM, handled as Ctrl-C: workers stopped, finished points kept."""

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
    failed : list of (point_id, reason)
        Points that could not be run: their runner raised, or their worker process died
        twice (see :func:`run_sweep`). They are not stored, so the next run tries them again.
    stored_elsewhere : int
        Points this call ran that another sweep on the same store had stored first.
    """

    total: int
    skipped: int
    ran: int
    seconds: float
    failed: list[tuple[str, str]] = field(default_factory=list)
    stored_elsewhere: int = 0


@contextlib.contextmanager
def _sigterm_as_sigint():
    """While the sweep runs, SIGTERM goes to the SIGINT handler of the moment (Ctrl-C's path).

    In-process training defers it to the next step and checkpoints first; otherwise it
    raises :class:`SweepTerminated` (a ``KeyboardInterrupt``), which stops the worker pool.
    Main thread only (signal handlers can be set nowhere else).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []

    def handle(signum, frame):
        received.append(signum)
        current = signal.getsignal(signal.SIGINT)
        if callable(current) and current is not signal.default_int_handler:
            current(signal.SIGINT, frame)  # e.g. training's deferred interrupt: checkpoint, then stop
        else:
            raise SweepTerminated()

    previous = signal.signal(signal.SIGTERM, handle)
    try:
        yield
    except KeyboardInterrupt as error:
        if received and not isinstance(error, SweepTerminated):
            raise SweepTerminated() from error
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


def _failure_text(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def work_units(config: SweepConfig, db: str | os.PathLike, points: Iterable[Point] | None = None) -> list[dict]:
    """The units of work of a sweep, as :func:`~tnrnn.experiments.runner.execute_point` takes them.

    A unit is one point, or (default runner) the points that differ only by seed: the
    default runner trains such a group as one ensemble (:func:`tnrnn.nn.train_ensemble`)
    in ``<runs>/<group-id>/``, the group id a hash of the shared training options and the
    seeds, so an interrupted group resumes where it stopped.

    Parameters
    ----------
    config : SweepConfig
    db : path
        The results store; the run directories lie beside it (``<db>.runs/``) unless the
        config's ``[run] runs_dir`` says otherwise.
    points : iterable of Point, optional
        The points to group (default: all of the config's).

    Returns
    -------
    list of dict
        One payload per unit: ``group_id``, ``points``, ``seeds`` and ``run_dir`` for an
        ensemble of the default runner (``point_id`` and ``run_dir`` for a point of another
        runner), with the config's probe, theory and run options.

    Examples
    --------
    >>> config = load_config(text='name = "x"\\n[sweep]\\ntask = "copying"\\nlength = 5\\nhidden = 4\\n'
    ...                           'depth = [1, 2]\\nseed = [0, 1]\\nsteps = 1\\n')
    >>> units = work_units(config, "results.sqlite")
    >>> [(len(u["points"]), u["seeds"]) for u in units]
    [(2, [0, 1]), (2, [0, 1])]
    >>> Path(units[0]["run_dir"]).parent.name
    'results.sqlite.runs'
    """
    db = Path(db)
    points = config.points if points is None else points
    runs_dir = Path(config.run["runs_dir"]) if config.run["runs_dir"] else db.with_name(db.name + ".runs")
    if config.run["runs_dir"] and not runs_dir.is_absolute() and config.path is not None:
        runs_dir = config.path.parent / runs_dir
    common = {"probe": config.probe, "theory": config.theory, "runner": config.run["runner"],
              "cpus": config.run["cpus"], "gpus": config.run["gpus"], "max_bytes": config.run["max_bytes"]}

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

    Interrupting (Ctrl-C, SIGTERM, ``kill -9``) loses nothing: finished points are committed
    one transaction each; a half-trained ensemble resumes from its training checkpoint.
    SIGTERM is handled as Ctrl-C (raising :class:`SweepTerminated`, a ``KeyboardInterrupt``):
    the pool's workers are terminated and waited for.

    A point whose runner raises, or whose worker process dies twice (``kill -9``, the
    out-of-memory killer; the first death is retried alone), is listed in
    ``SweepSummary.failed`` and the sweep goes on with the others. A network whose outputs
    are not finite is not a failure: the default runner stores it with its probes marked
    ``diverged``.
    """
    from tqdm import tqdm

    start = time.perf_counter()
    if not isinstance(config, SweepConfig):
        config = load_config(config)
    executor = executor or config.run["executor"]
    if executor not in ("local", "ray"):
        raise ValueError(f"executor must be 'local' or 'ray', got {executor!r}")
    from tnrnn._validation import check_device, check_threads

    workers = check_threads(workers if workers is not None else config.run["workers"],
                            "--workers" if workers is not None else "[run] workers")
    if executor == "local":  # the points run here: as many threads as this process may use, at most
        check_threads(config.run["cpus"], "[run] cpus")
    if executor == "local" and config.run["runner"] == DEFAULT_RUNNER:
        for device in sorted({str(p.train.get("device", "cpu")) for p in config.points}):
            check_device(device, "[sweep] device")  # as tnrnn train --device, before any point starts
    db = Path(db)
    with ResultsStore(db) as store:
        done = store.finished_ids()
        pending = [p for p in config.points if p.point_id not in done]
        payloads = work_units(config, db, pending)
        bar = tqdm(total=len(config.points), initial=len(config.points) - len(pending), desc=config.name,
                   unit="point", disable=not progress)
        ran = elsewhere = 0
        failed: list[tuple[str, str]] = []

        def store_one(results, seconds):
            nonlocal ran, elsewhere
            for point_id, result in results:  # one transaction per point: a kill loses no stored row
                point = next(p for p in pending if p.point_id == point_id)
                if store.record(point_id, config.name, point.train | {"budget": point.params.get("budget")},
                                result, seconds, train_id=point.train_id):
                    ran += 1
                else:  # a second sweep on the same store stored it first
                    elsewhere += 1
                bar.update(1)

        def fail_one(payload, reason):
            for member in payload.get("points", [payload]):
                failed.append((member["point_id"], reason))

        try:
            with _sigterm_as_sigint():
                if not payloads:
                    pass
                elif executor == "ray":
                    _run_ray(payloads, store_one, fail_one, ray_address)
                elif workers == 1:
                    for payload in payloads:
                        try:
                            outcome = execute_point(payload)
                        except Exception as error:  # this point's failure; the sweep goes on
                            fail_one(payload, _failure_text(error))
                            continue
                        store_one(*outcome)
                else:
                    _run_pool(payloads, store_one, fail_one, workers)
        finally:
            bar.close()
    return SweepSummary(len(config.points), len(config.points) - len(pending), ran,
                        time.perf_counter() - start, failed, elsewhere)


def _ignore_sigint() -> None:
    """Pool workers leave Ctrl-C to the parent while idle (training defers it itself): no worker tracebacks."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_pool(payloads: list[dict], store_one, fail_one, workers: int) -> None:
    """Run the payloads in a spawn-context process pool; a pool broken by a dying worker is replaced.

    A worker that dies (``kill -9``, the out-of-memory killer) breaks the whole pool and
    interrupts every unit running beside it. The units that had started (their directory
    lock names a worker of the broken pool) are each run again alone, in a pool of their
    own: one that dies again is reported through ``fail_one`` (retried once, then
    recorded), one that finishes is stored. Units that had not started go back to the
    queue. An exception inside a unit is that unit's failure at once. Ctrl-C, SIGTERM or
    any error here stops every worker before it returns.
    """
    queue = list(payloads)
    idle_breaks = 0
    while queue:
        broken, pids = _pool_round(queue, store_one, fail_one, workers)
        queue = [p for p in broken if not _started(p, pids)]
        suspects = [p for p in broken if _started(p, pids)]
        idle_breaks = idle_breaks + 1 if broken and not suspects else 0
        if idle_breaks >= ATTEMPTS:  # workers die before taking any work: nothing to retry them with
            for payload in queue:
                fail_one(payload, "the worker processes died before starting it (killed at start-up?)")
            return
        for payload in suspects:  # alone: if it dies again, it is the one that kills its worker
            again, _ = _pool_round([payload], store_one, fail_one, 1)
            if again:
                fail_one(payload, f"its worker process died {ATTEMPTS} times (killed by a signal, e.g. kill -9 "
                                  f"or the out-of-memory killer)")


@contextlib.contextmanager
def _spawning_without_sigint():
    """Spawn workers with Ctrl-C ignored from their first instruction (a child inherits an ignored signal).

    A worker still importing when Ctrl-C reaches the process group would otherwise die
    with a ``KeyboardInterrupt`` traceback before :func:`_ignore_sigint` runs. The parent
    ignores SIGINT only while ``submit`` starts the processes (milliseconds).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _started(payload: dict, pids: set[int]) -> bool:
    """Whether a worker of the broken pool (``pids``) had taken this unit's directory lock."""
    try:
        text = (Path(payload["run_dir"]) / ".lock").read_text().strip()
    except (OSError, UnicodeDecodeError):
        return False
    return text.isdigit() and int(text) in pids


def _pool_round(payloads: list[dict], store_one, fail_one, workers: int) -> tuple[list[dict], set[int]]:
    """One process pool over ``payloads``: ``(units interrupted by a broken pool, the pool's worker pids)``."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")  # torch and fork do not mix
    pool = ProcessPoolExecutor(max_workers=min(workers, len(payloads)), mp_context=context,
                               initializer=_ignore_sigint)
    broken: list[dict] = []
    pids: set[int] = set()
    try:
        with _spawning_without_sigint():
            futures = {pool.submit(execute_point, payload): payload for payload in payloads}
        waiting = set(futures)
        while waiting:
            pids |= set(pool._processes or {})  # no public API for this
            finished, waiting = wait(waiting, return_when=FIRST_COMPLETED)
            for future in finished:
                try:
                    outcome = future.result()
                except BrokenProcessPool:
                    broken.append(futures[future])
                    continue
                except Exception as error:  # raised inside the unit: its failure, the others go on
                    fail_one(futures[future], _failure_text(error))
                    continue
                store_one(*outcome)
    except BaseException:
        # stop the workers now: their points resume from their checkpoints on the next run
        _stop(pool)
        raise
    if broken:
        _stop(pool)
    else:
        pool.shutdown()
    return broken, pids


def _stop(pool) -> None:
    """Terminate a pool's workers, wait for them (then kill), so that none is left behind."""
    processes = list((pool._processes or {}).values())  # no public API for this
    manager = pool._executor_manager_thread
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(Exception):
            process.terminate()
    deadline = time.monotonic() + 10
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(5)
    # Let the pool's manager thread finish its clean-up (it closes its wake-up pipe) before the
    # interpreter exits: on Python < 3.12 the exit hook of concurrent.futures can otherwise write
    # to that pipe while it closes, and prints an OSError traceback (seen once in CI, on SIGTERM).
    if manager is not None:
        manager.join(max(1.0, deadline - time.monotonic()))


def _run_ray(payloads: list[dict], store_one, fail_one, address: str | None) -> None:
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
        pending[ref] = payload
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                payload = pending.pop(ref)
                try:
                    outcome = ray.get(ref)
                except Exception as error:  # the task's failure (Ray retried a dead worker once)
                    fail_one(payload, _failure_text(error))
                    continue
                store_one(*outcome)
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
