"""tnrnn: long-term memory of recurrent networks, measured by Start-End separation ranks.

The public names load lazily, so ``import tnrnn`` stays fast (torch, quimb and
matplotlib are imported on first use only).

Examples
--------
>>> import tnrnn
>>> spec = tnrnn.RACSpec(templates=2, hidden=2, depth=2)
>>> tnrnn.generic_rank(spec, length=6).rank
8
"""

from __future__ import annotations

import importlib

# Eager on purpose: the submodule tnrnn.bounds would otherwise shadow the function
# tnrnn.bounds as a package attribute. It imports only numpy.
from tnrnn.bounds import bounds as bounds

__version__ = "0.1.0"

_EXPORTS = {
    "tensor_network": "tnrnn.tensornet",
    "draw_network": "tnrnn.draw",
    "RACSpec": "tnrnn.circuits",
    "RACWeights": "tnrnn.circuits",
    "evaluate": "tnrnn.circuits",
    "evaluate_features": "tnrnn.circuits",
    "grid_tensor": "tnrnn.grid",
    "Partition": "tnrnn.partitions",
    "start_end": "tnrnn.partitions",
    "cut": "tnrnn.partitions",
    "interleaved": "tnrnn.partitions",
    "RankResult": "tnrnn.rank",
    "spectrum": "tnrnn.rank",
    "separation_rank": "tnrnn.rank",
    "generic_rank": "tnrnn.rank",
    "depth_table": "tnrnn.depthtable",
    "compare": "tnrnn.comparison",
    "rank_profile": "tnrnn.profile",
    "TrainConfig": "tnrnn.nn",
    "make_task": "tnrnn.nn",
    "load_run": "tnrnn.nn",
    "gate_timescales": "tnrnn.timescale",
    "gradient_profile": "tnrnn.timescale",
    "LinearRNN": "tnrnn.linear.model",
    "ScaledConvolution": "tnrnn.linear.model",
    "lag_weights": "tnrnn.linear.theory",
    "probe_model": "tnrnn.probe",
    "ProbeCallback": "tnrnn.probe",
    "load_config": "tnrnn.experiments",
    "run_sweep": "tnrnn.experiments",
    "ResultsStore": "tnrnn.experiments",
    "set_threads": "tnrnn._threads",
    "threads": "tnrnn._threads",
}

__all__ = sorted([*_EXPORTS, "bounds"])


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tnrnn' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
