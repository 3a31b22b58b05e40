"""Depth x length sweeps: declarative TOML configs, a resumable SQLite store, local or Ray execution.

A sweep config is a TOML file::

    name = "depth-sweep"

    [sweep]                 # tnrnn train options; a list is crossed with the others
    task = "ses"
    cell = "rac"
    depth = [1, 2, 3]
    length = [8, 12]
    budget = 2000           # parameters: hidden width per depth from the budget (or give hidden)
    steps = 300
    seed = 0

    [probe]                 # how every trained network is probed (tnrnn.probe)
    lengths = [2, 4, 6]     # probe lengths T (default: none)
    partition = "start-end"
    symbols = 4             # template symbols: a count or a list

    [theory]
    generic_rank = true     # exact generic rank of the matching RAC where cheap

    [run]
    workers = 2             # local process pool
    cpus = 1                # resources of one point (Ray)
    gpus = 0

Every point (one combination of the ``[sweep]`` lists) is trained in its own directory
(``<db>.runs/<train-id>/``, which keeps the training checkpoint), probed, compared with
the theory for the RAC of the same width and depth, and written to the SQLite store in
one transaction as soon as it finishes. Rerunning the same command skips finished
points, so a sweep killed at any moment resumes with nothing lost (finished points are
in the store, a half-trained point resumes from its checkpoint) and nothing done twice.
"""

from __future__ import annotations

from tnrnn.experiments.config import DEFAULT_RUNNER, ConfigError, Point, SweepConfig, config_path, load_config
from tnrnn.experiments.executors import SweepSummary, run_sweep, work_units
from tnrnn.experiments.report import markdown_table, plot_report, relative_rank, summary_rows
from tnrnn.experiments.runner import execute_point, train_and_probe
from tnrnn.experiments.store import SCHEMA_VERSION, ResultsStore

__all__ = [
    "SCHEMA_VERSION",
    "DEFAULT_RUNNER",
    "ConfigError",
    "SweepConfig",
    "Point",
    "config_path",
    "load_config",
    "ResultsStore",
    "run_sweep",
    "work_units",
    "execute_point",
    "train_and_probe",
    "SweepSummary",
    "summary_rows",
    "markdown_table",
    "relative_rank",
    "plot_report",
]
