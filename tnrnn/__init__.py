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

from tnrnn import _moved
from tnrnn._lazy import lazy_exports

_moved.install()  # the old flat module paths, which warn (see tnrnn._moved)

__version__ = "0.1.0"

_EXPORTS = {
    "bounds": "tnrnn.rac.bounds",
    "tensor_network": "tnrnn.tn.network",
    "draw_network": "tnrnn.tn.draw",
    "RACSpec": "tnrnn.rac.circuits",
    "RACWeights": "tnrnn.rac.circuits",
    "evaluate": "tnrnn.rac.circuits",
    "evaluate_features": "tnrnn.rac.circuits",
    "grid_tensor": "tnrnn.rac.grid",
    "Partition": "tnrnn.rac.partitions",
    "start_end": "tnrnn.rac.partitions",
    "cut": "tnrnn.rac.partitions",
    "interleaved": "tnrnn.rac.partitions",
    "RankResult": "tnrnn.ranks.router",
    "spectrum": "tnrnn.ranks.router",
    "separation_rank": "tnrnn.ranks.router",
    "generic_rank": "tnrnn.ranks.router",
    "depth_table": "tnrnn.tables.depth",
    "compare": "tnrnn.tables.compare",
    "rank_profile": "tnrnn.ranks.cuts",
    "TrainConfig": "tnrnn.nn",
    "make_task": "tnrnn.nn",
    "load_run": "tnrnn.nn",
    "gate_timescales": "tnrnn.lenses.timescale",
    "gradient_profile": "tnrnn.lenses.timescale",
    "LinearRNN": "tnrnn.lenses.linear.model",
    "ScaledConvolution": "tnrnn.lenses.linear.model",
    "lag_weights": "tnrnn.lenses.linear.theory",
    "probe_model": "tnrnn.probe",
    "ProbeCallback": "tnrnn.probe",
    "load_config": "tnrnn.experiments",
    "run_sweep": "tnrnn.experiments",
    "ResultsStore": "tnrnn.experiments",
    "set_threads": "tnrnn._threads",
    "limits": "tnrnn.guards",
    "SizeLimitError": "tnrnn.guards",
    "threads": "tnrnn._threads",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)  # old paths: import tnrnn.circuits; tnrnn.circuits.X
