"""Orthogonal deep RNNs, memory tasks and their training (PyTorch).

Importing this package imports torch; ``import tnrnn`` does not import it.
"""

from __future__ import annotations

from tnrnn.nn.tasks import TASKS, AddingTask, CopyingTask, StartEndSimilarityTask, Task, make_task

__all__ = [
    "TASKS",
    "AddingTask",
    "CopyingTask",
    "StartEndSimilarityTask",
    "Task",
    "make_task",
]
