"""Orthogonal deep RNNs, memory tasks and their training (PyTorch).

Importing this package imports torch; ``import tnrnn`` does not import it.

Examples
--------
>>> from tnrnn.nn import TrainConfig, build_model
>>> config = TrainConfig(task="copying", length=5, cell="modrelu", depth=2, hidden=8, orthogonal="cayley")
>>> task = config.make_task()
>>> build_model(config, task)(task.sample(2, torch.Generator().manual_seed(0))[0]).shape
torch.Size([2, 25, 9])
"""

from __future__ import annotations

import torch  # noqa: F401  (used by the example above)

from tnrnn.nn.budget import parameter_count, width_for_budget
from tnrnn.nn.cells import ModReLULayer, RACLayer, TanhLayer
from tnrnn.nn.config import CELLS, PRESETS, TrainConfig
from tnrnn.nn.ensemble import stacked_forward
from tnrnn.nn.orthogonal import ORTHOGONAL_MAPS, orthogonal_parameters, orthogonality_error, orthogonalize
from tnrnn.nn.stack import DeepRNN, build_model, count_free_parameters, count_parameters
from tnrnn.nn.tasks import TASKS, AddingTask, CopyingTask, StartEndSimilarityTask, Task, make_task
from tnrnn.nn.training import evaluate_model, load_run, member_dir, train, train_ensemble

__all__ = [
    "CELLS",
    "ORTHOGONAL_MAPS",
    "PRESETS",
    "TASKS",
    "AddingTask",
    "CopyingTask",
    "DeepRNN",
    "ModReLULayer",
    "RACLayer",
    "StartEndSimilarityTask",
    "TanhLayer",
    "Task",
    "TrainConfig",
    "build_model",
    "count_free_parameters",
    "count_parameters",
    "evaluate_model",
    "load_run",
    "make_task",
    "orthogonal_parameters",
    "orthogonality_error",
    "orthogonalize",
    "parameter_count",
    "member_dir",
    "stacked_forward",
    "train",
    "train_ensemble",
    "width_for_budget",
]


def __getattr__(name: str):
    from tnrnn._moved import moved_name

    return moved_name(__name__, name)  # GatedRNN and init_forget_gate moved to tnrnn.lenses.timescale
